//! W6 load generator: the connector service's action routes against the same operations
//! sent straight to the S3 endpoint, at several concurrencies, plus a streamed 1 GiB
//! pass-through with the service's peak RSS. Prints one JSON document on stdout and,
//! with `--markdown FILE`, the tables for RESULTS.md.
//!
//! Every response is checked (content, size, count); a cell with any error is reported
//! with its error count and fails the run.
//!
//! `s3flow-bench-w6 floor …` runs the no-work HTTP server of [`floor`] instead.

mod floor;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const BUCKET: &str = "w6bench";
const SMALL: usize = 4096;
const OPS: [&str; 5] = ["upload", "download", "head", "list", "presign"];

struct Args {
    api: String,
    token: String,
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
    requests: usize,
    /// Each cell's requests are split into this many rounds, direct and service alternating,
    /// so both paths see the same (shared, noisy) machine.
    rounds: usize,
    concurrency: Vec<usize>,
    serve_pid: Option<u32>,
    big_mib: u64,
    markdown: Option<String>,
    /// The operations to measure (default: all of OPS); `--ops head --big-mib 0` for a profile.
    ops: Vec<String>,
}

fn parse_args() -> Args {
    let mut a = Args {
        api: String::new(),
        token: String::new(),
        endpoint: String::new(),
        access_key: "s3flow-local".into(),
        secret_key: String::new(),
        region: "us-east-1".into(),
        requests: 2000,
        rounds: 5,
        concurrency: vec![1, 16, 64],
        serve_pid: None,
        big_mib: 1024,
        markdown: None,
        ops: OPS.iter().map(|op| op.to_string()).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{flag}: missing value"));
        match flag.as_str() {
            "--api" => a.api = v(),
            "--token" => a.token = v(),
            "--endpoint" => a.endpoint = v(),
            "--access-key" => a.access_key = v(),
            "--secret-key" => a.secret_key = v(),
            "--region" => a.region = v(),
            "--requests" => a.requests = v().parse().expect("--requests"),
            "--rounds" => a.rounds = v().parse::<usize>().expect("--rounds").max(1),
            "--concurrency" => {
                a.concurrency = v().split(',').map(|c| c.parse().expect("--concurrency")).collect()
            }
            "--serve-pid" => a.serve_pid = Some(v().parse().expect("--serve-pid")),
            "--big-mib" => a.big_mib = v().parse().expect("--big-mib"),
            "--markdown" => a.markdown = Some(v()),
            "--ops" => {
                a.ops = v().split(',').map(str::to_owned).collect();
                assert!(a.ops.iter().all(|op| OPS.contains(&op.as_str())), "--ops: one of {OPS:?}");
            }
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.api.is_empty() && !a.token.is_empty() && !a.endpoint.is_empty() && !a.secret_key.is_empty(),
        "need --api --token --endpoint --secret-key");
    a
}

struct Ctx {
    api: String,
    token: String,
    endpoint: String,
    /// For the 1 GiB pass-through; the measured requests go over [`ServiceConn`]s.
    http: reqwest::Client,
    s3: aws_sdk_s3::Client,
    payload: String,
    /// Each action's path and request bodies and the request headers, built once so the load
    /// generator spends as little of the shared cores per request as it can (the direct
    /// path's SDK builds its own).
    paths: Vec<(&'static str, http::Uri)>,
    bodies: Bodies,
    host: http::HeaderValue,
    authorization: http::HeaderValue,
    api_addr: String,
    /// Idle keep-alive connections to the service, taken by a worker for a whole round.
    idle: Mutex<Vec<ServiceConn>>,
}

/// One keep-alive HTTP/1 connection to the service, used by one worker at a time: a request
/// goes out without a pool lookup or a URL parse, and the response is read straight off it.
/// The load generator runs on the service's own two cores, so what it spends per request is
/// taken from the service (with reqwest's pooled client, the service's presign at 64 in flight
/// ran about a fifth slower on the same machine; bench/w6/RESULTS.md).
struct ServiceConn {
    send: SendRequest<Full<Bytes>>,
}

/// The JSON inputs of the service path, serialized once (upload: one per key it cycles through).
struct Bodies {
    upload: Vec<Bytes>,
    download: Bytes,
    head: Bytes,
    list: Bytes,
    presign: Bytes,
}

const UPLOAD_KEYS: usize = 256;
/// How many more requests a presign cell sends than the others.
const PRESIGN_FACTOR: usize = 10;

impl Bodies {
    fn new(payload: &str) -> Self {
        let body = |v: Value| Bytes::from(v.to_string());
        Bodies {
            upload: (0..UPLOAD_KEYS)
                .map(|i| body(json!({"bucket": BUCKET, "key": format!("up/{i}"), "text": payload})))
                .collect(),
            download: body(json!({"bucket": BUCKET, "key": "obj4k"})),
            head: body(json!({"bucket": BUCKET, "key": "obj4k"})),
            list: body(json!({"bucket": BUCKET, "prefix": "list/", "max": 100})),
            presign: body(json!({"bucket": BUCKET, "key": "obj4k", "expires_in": "15m"})),
        }
    }
}

/// The fields of each action's output that the checks read; serde skips the rest.
#[derive(Deserialize)]
struct Sized {
    size: u64,
}
#[derive(Deserialize)]
struct Downloaded<'a> {
    #[serde(borrow)]
    content: Content<'a>,
}
#[derive(Deserialize)]
struct Content<'a> {
    #[serde(borrow)]
    text: std::borrow::Cow<'a, str>,
}
#[derive(Deserialize)]
struct Listed {
    count: u64,
    objects: Vec<IgnoredAny>,
}
#[derive(Deserialize)]
struct Presigned<'a> {
    #[serde(borrow)]
    url: std::borrow::Cow<'a, str>,
}

impl Ctx {
    /// An idle connection to the service, or a new one.
    async fn take_conn(&self) -> ServiceConn {
        if let Some(conn) = self.idle.lock().unwrap().pop() {
            return conn;
        }
        let stream = tokio::net::TcpStream::connect(&self.api_addr).await.expect("connect to the service");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (send, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP/1 handshake with the service");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        ServiceConn { send }
    }

    fn give_back(&self, conn: ServiceConn) {
        if !conn.send.is_closed() {
            self.idle.lock().unwrap().push(conn);
        }
    }

    /// One action through the service; the raw response body, which the caller parses into
    /// the typed fields it checks.
    async fn action(&self, conn: &mut ServiceConn, action: &str, body: Bytes) -> Result<Bytes, String> {
        let path = &self.paths.iter().find(|(name, _)| *name == action).expect("known action").1;
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = path.clone();
        let headers = req.headers_mut();
        headers.insert(http::header::HOST, self.host.clone());
        headers.insert(http::header::AUTHORIZATION, self.authorization.clone());
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        conn.send.ready().await.map_err(|e| e.to_string())?;
        let resp = conn.send.send_request(req).await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        if !status.is_success() {
            return Err(format!("{action}: {status}: {}", String::from_utf8_lossy(&bytes)));
        }
        Ok(bytes)
    }

    /// One operation on one path (`conn` given: through the service); checks what came back.
    async fn one(&self, op: &str, conn: Option<&mut ServiceConn>, i: usize) -> Result<(), String> {
        fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
            serde_json::from_slice(bytes).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(bytes)))
        }
        let b = &self.bodies;
        match (op, conn) {
            ("upload", Some(conn)) => {
                let r = self.action(conn, "upload", b.upload[i % UPLOAD_KEYS].clone()).await?;
                check(parse::<Sized>(&r)?.size == SMALL as u64, "upload size")
            }
            ("upload", None) => {
                self.s3.put_object().bucket(BUCKET).key(format!("up/{}", i % UPLOAD_KEYS))
                    .body(ByteStream::from(Bytes::from(self.payload.clone())))
                    .send().await.map_err(|e| format!("{e:?}"))?;
                Ok(())
            }
            ("download", Some(conn)) => {
                let r = self.action(conn, "download", b.download.clone()).await?;
                check(parse::<Downloaded>(&r)?.content.text == self.payload.as_str(), "download content")
            }
            ("download", None) => {
                let o = self.s3.get_object().bucket(BUCKET).key("obj4k").send().await.map_err(|e| format!("{e:?}"))?;
                let b = o.body.collect().await.map_err(|e| e.to_string())?.into_bytes();
                check(b.as_ref() == self.payload.as_bytes(), "download content")
            }
            ("head", Some(conn)) => {
                let r = self.action(conn, "head", b.head.clone()).await?;
                check(parse::<Sized>(&r)?.size == SMALL as u64, "head size")
            }
            ("head", None) => {
                let o = self.s3.head_object().bucket(BUCKET).key("obj4k").send().await.map_err(|e| format!("{e:?}"))?;
                check(o.content_length() == Some(SMALL as i64), "head size")
            }
            ("list", Some(conn)) => {
                let r = parse::<Listed>(&self.action(conn, "list", b.list.clone()).await?)?;
                check(r.count == 100 && r.objects.len() == 100, "list count")
            }
            ("list", None) => {
                let o = self.s3.list_objects_v2().bucket(BUCKET).prefix("list/").max_keys(100).send().await.map_err(|e| format!("{e:?}"))?;
                check(o.contents().len() == 100, "list count")
            }
            ("presign", Some(conn)) => {
                let r = self.action(conn, "presign", b.presign.clone()).await?;
                let u = parse::<Presigned>(&r)?.url;
                check(u.starts_with(&self.endpoint) && u.contains("X-Amz-Signature="), "presign url")
            }
            ("presign", None) => {
                let p = self.s3.get_object().bucket(BUCKET).key("obj4k")
                    .presigned(PresigningConfig::expires_in(Duration::from_secs(900)).unwrap())
                    .await.map_err(|e| format!("{e:?}"))?;
                check(p.uri().starts_with(&self.endpoint) && p.uri().contains("X-Amz-Signature="), "presign url")
            }
            _ => unreachable!(),
        }
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("wrong result: {what}")) }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1] as f64 / 1000.0 // µs → ms
}

/// One cell: `n` operations with `conc` workers on each path, in `rounds` rounds that
/// alternate direct and service; latencies and time are pooled per path. Returns the direct
/// and the service figures.
async fn cell(ctx: &Arc<Ctx>, op: &'static str, conc: usize, n: usize, rounds: usize) -> (Value, Value) {
    let mut paths = [Path::default(), Path::default()];
    for service in [false, true] {
        warm_up(ctx, op, service, conc).await;
    }
    for r in 0..rounds {
        let share = n / rounds + usize::from(r < n % rounds);
        for (path, service) in paths.iter_mut().zip([false, true]) {
            run_round(ctx, op, service, conc, share, path).await;
        }
    }
    let [d, s] = paths.map(|path| path.summary(op, conc));
    eprintln!("{d}\n{s}");
    (d, s)
}

/// Opens the connections (not measured).
async fn warm_up(ctx: &Arc<Ctx>, op: &'static str, service: bool, conc: usize) {
    let warm = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (ctx, warm) = (ctx.clone(), warm.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = if service { Some(ctx.take_conn().await) } else { None };
            while warm.fetch_add(1, Ordering::Relaxed) < conc * 4 {
                let _ = ctx.one(op, conn.as_mut(), 0).await;
            }
            if let Some(conn) = conn {
                ctx.give_back(conn);
            }
        }));
    }
    for t in tasks { t.await.unwrap(); }
}

/// What one path measured over its rounds.
#[derive(Default)]
struct Path {
    service: bool,
    latencies_us: Vec<u64>,
    seconds: f64,
    errors: usize,
    first_error: Option<String>,
}

impl Path {
    fn summary(mut self, op: &str, conc: usize) -> Value {
        self.latencies_us.sort_unstable();
        let n = self.latencies_us.len();
        json!({
            "op": op, "concurrency": conc, "path": if self.service { "service" } else { "direct" },
            "requests": n, "errors": self.errors, "seconds": round(self.seconds, 3),
            "ops_per_s": round(n as f64 / self.seconds, 0),
            "p50_ms": round(pct(&self.latencies_us, 50.0), 3), "p99_ms": round(pct(&self.latencies_us, 99.0), 3),
            "first_error": self.first_error,
        })
    }
}

/// `n` operations with `conc` workers on one path, added to `path`.
async fn run_round(ctx: &Arc<Ctx>, op: &'static str, service: bool, conc: usize, n: usize, path: &mut Path) {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (ctx, next, errors, first_error) = (ctx.clone(), next.clone(), errors.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n / conc + 1);
            // Connected before the clock starts: the warm-up left one idle connection per worker.
            let mut conn = if service { Some(ctx.take_conn().await) } else { None };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n { break; }
                let t = Instant::now();
                let r = ctx.one(op, conn.as_mut(), i).await;
                lat.push(t.elapsed().as_micros() as u64);
                if let Err(e) = r {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_error.lock().unwrap().get_or_insert(e);
                }
            }
            if let Some(conn) = conn {
                ctx.give_back(conn);
            }
            lat
        }));
    }
    for t in tasks { path.latencies_us.extend(t.await.unwrap()); }
    path.seconds += start.elapsed().as_secs_f64();
    path.service = service;
    path.errors += errors.load(Ordering::Relaxed);
    if path.first_error.is_none() {
        path.first_error = first_error.lock().unwrap().take();
    }
}

fn round(x: f64, d: i32) -> f64 {
    let m = 10f64.powi(d);
    (x * m).round() / m
}

fn proc_kib(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with(field))?.split_whitespace().nth(1)?.parse().ok()
}

/// Deterministic, incompressible-looking 1 MiB chunks (xorshift64).
fn chunk(seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(1 << 20);
    for _ in 0..(1 << 17) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    Bytes::from(v)
}

async fn big(ctx: &Arc<Ctx>, mib: u64, pid: Option<u32>) -> Value {
    let url = format!("{}/v1/connections/local/objects/{BUCKET}/big/stream.bin", ctx.api);
    let hwm_before = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    // Sample VmRSS while the transfer runs.
    let max_rss = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = pid.map(|p| {
        let (max_rss, stop) = (max_rss.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(k) = proc_kib(p, "VmRSS:") { max_rss.fetch_max(k as usize, Ordering::Relaxed); }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    });

    // PUT: generated on the fly, hashed as it is sent, no Content-Length (chunked).
    let sent_hash = Arc::new(Mutex::new(None::<Vec<u8>>));
    let stream = futures::stream::unfold((0u64, Sha256::new(), sent_hash.clone()), move |(i, mut h, out)| async move {
        if i == mib {
            *out.lock().unwrap() = Some(h.finalize().to_vec());
            return None;
        }
        let c = chunk(i);
        h.update(&c);
        Some((Ok::<Bytes, std::io::Error>(c), (i + 1, h, out)))
    });
    let t = Instant::now();
    let resp = ctx.http.put(&url).bearer_auth(&ctx.token).header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(stream)).send().await.expect("big PUT");
    let put_status = resp.status();
    let put_body: Value = json_value(resp).await;
    let put_secs = t.elapsed().as_secs_f64();
    let hwm_after_put = pid.and_then(|p| proc_kib(p, "VmHWM:"));
    assert!(put_status.is_success(), "big PUT: {put_status} {put_body}");
    assert_eq!(put_body["size"].as_u64(), Some(mib << 20), "big PUT size");

    // GET through the service: hashed and discarded.
    let t = Instant::now();
    let resp = ctx.http.get(&url).bearer_auth(&ctx.token).send().await.expect("big GET");
    assert!(resp.status().is_success(), "big GET: {}", resp.status());
    let mut h = Sha256::new();
    let mut got = 0u64;
    let mut body = resp.bytes_stream();
    while let Some(c) = body.next().await {
        let c = c.expect("big GET body");
        got += c.len() as u64;
        h.update(&c);
    }
    let get_secs = t.elapsed().as_secs_f64();
    let get_hash = hex::encode(h.finalize());
    let hwm_after_get = pid.and_then(|p| proc_kib(p, "VmHWM:"));

    // The same GET straight from the endpoint, for comparison.
    let t = Instant::now();
    let o = ctx.s3.get_object().bucket(BUCKET).key("big/stream.bin").send().await.expect("direct big GET");
    let mut h2 = Sha256::new();
    let mut got2 = 0u64;
    let mut body = o.body;
    while let Some(c) = body.next().await {
        let c = c.expect("direct big GET body");
        got2 += c.len() as u64;
        h2.update(&c);
    }
    let direct_get_secs = t.elapsed().as_secs_f64();
    let direct_hash = hex::encode(h2.finalize());
    stop.store(true, Ordering::Relaxed);
    if let Some(s) = sampler { let _ = s.await; }

    let sent = hex::encode(sent_hash.lock().unwrap().clone().expect("stream finished"));
    let ok = got == mib << 20 && got2 == mib << 20 && sent == get_hash && sent == direct_hash;
    let mb = (mib << 20) as f64 / 1e6;
    let v = json!({
        "bytes": mib << 20, "sha256_sent": sent, "sha256_service_get": get_hash,
        "sha256_direct_get": direct_hash, "verified": ok,
        "service_put_mb_s": round(mb / put_secs, 1), "service_get_mb_s": round(mb / get_secs, 1),
        "direct_get_mb_s": round(mb / direct_get_secs, 1),
        "vm_hwm_kib_before": hwm_before, "vm_hwm_kib_after_put": hwm_after_put,
        "vm_hwm_kib_after_get": hwm_after_get, "max_vm_rss_kib_sampled": max_rss.load(Ordering::Relaxed),
    });
    eprintln!("{v}");
    assert!(ok, "1 GiB pass-through: data mismatch {v}");
    v
}

async fn json_value(resp: reqwest::Response) -> Value {
    let b = resp.bytes().await.unwrap_or_default();
    serde_json::from_slice(&b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned()))
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().map(String::as_str) == Some("floor") {
        return floor::main(&argv[1..]);
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime").block_on(load())
}

async fn load() {
    let args = parse_args();
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).tcp_nodelay(true).build().unwrap();
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(args.region.clone()))
        .endpoint_url(&args.endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new(&args.access_key, &args.secret_key, None, None, "w6"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(conf);
    let payload: String = (0..SMALL).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let api_uri: http::Uri = args.api.parse().expect("--api is a URL");
    let authority = api_uri.authority().expect("--api has a host and port").clone();
    assert_eq!(api_uri.scheme_str(), Some("http"), "--api: the load generator speaks plain HTTP/1.1");
    let paths = OPS
        .map(|op| (op, format!("/v1/connections/local/actions/{op}").parse().expect("a path")))
        .to_vec();
    let bodies = Bodies::new(&payload);
    let ctx = Arc::new(Ctx {
        api: args.api.clone(),
        token: args.token.clone(),
        endpoint: args.endpoint.clone(),
        http,
        s3,
        payload,
        paths,
        bodies,
        host: http::HeaderValue::from_str(authority.as_str()).expect("host header"),
        authorization: http::HeaderValue::from_str(&format!("Bearer {}", args.token)).expect("token header"),
        api_addr: format!("{}:{}", authority.host(), authority.port_u16().unwrap_or(80)),
        idle: Mutex::new(Vec::new()),
    });

    // Setup: the bucket, the 4 KiB object, 100 objects to list (through the SDK).
    let _ = ctx.s3.create_bucket().bucket(BUCKET).send().await;
    ctx.s3.put_object().bucket(BUCKET).key("obj4k").body(ByteStream::from(Bytes::from(ctx.payload.clone())))
        .send().await.expect("setup obj4k");
    for i in 0..100 {
        ctx.s3.put_object().bucket(BUCKET).key(format!("list/{i:03}")).body(ByteStream::from_static(b"x"))
            .send().await.expect("setup list");
    }

    let mut cells = Vec::new();
    let mut added = Vec::new();
    for op in OPS.into_iter().filter(|op| args.ops.iter().any(|o| o == op)) {
        for &conc in &args.concurrency {
            // Presign runs ten times faster than the others: at the same count its cells last
            // under 0.1 s, and their p99 is a few requests of each round's start.
            let requests = if op == "presign" { args.requests * PRESIGN_FACTOR } else { args.requests };
            let (d, s) = cell(&ctx, op, conc, requests, args.rounds).await;
            added.push(json!({
                "op": op, "concurrency": conc,
                "added_p50_ms": round(s["p50_ms"].as_f64().unwrap() - d["p50_ms"].as_f64().unwrap(), 3),
                "added_p99_ms": round(s["p99_ms"].as_f64().unwrap() - d["p99_ms"].as_f64().unwrap(), 3),
            }));
            cells.push(d);
            cells.push(s);
        }
    }
    // `--big-mib 0`: no stream (quick runs, and the floor server, which has no object routes).
    let stream = if args.big_mib > 0 { big(&ctx, args.big_mib, args.serve_pid).await } else { Value::Null };
    let errors: u64 = cells.iter().map(|c| c["errors"].as_u64().unwrap()).sum();
    let out = json!({
        "settings": {"requests_per_cell": args.requests, "presign_requests_per_cell": args.requests * PRESIGN_FACTOR, "rounds": args.rounds, "concurrency": args.concurrency, "payload_bytes": SMALL,
                     "list_objects": 100, "big_mib": args.big_mib},
        "cells": cells, "added": added, "stream": stream, "errors": errors,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
    if let Some(path) = &args.markdown {
        std::fs::write(path, markdown(&out)).expect("write markdown");
    }
    if errors > 0 {
        eprintln!("{errors} requests failed");
        std::process::exit(1);
    }
}

fn markdown(out: &Value) -> String {
    let mut s = String::from("| operation | conc | direct ops/s | direct p50 ms | direct p99 ms | service ops/s | service p50 ms | service p99 ms | added p50 ms | added p99 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let cells = out["cells"].as_array().unwrap();
    for (pair, add) in cells.chunks(2).zip(out["added"].as_array().unwrap()) {
        let (d, sv) = (&pair[0], &pair[1]);
        s += &format!("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            d["op"].as_str().unwrap(), d["concurrency"], d["ops_per_s"], d["p50_ms"], d["p99_ms"],
            sv["ops_per_s"], sv["p50_ms"], sv["p99_ms"], add["added_p50_ms"], add["added_p99_ms"],
            d["errors"].as_u64().unwrap() + sv["errors"].as_u64().unwrap());
    }
    let st = &out["stream"];
    if st.is_null() {
        return s;
    }
    let mib = |k: &str| st[k].as_u64().map(|v| format!("{:.1}", v as f64 / 1024.0)).unwrap_or("n/a".into());
    s += &format!("\n1 GiB streamed through `/v1/connections/local/objects/…` (SHA-256 of what was sent = what came back: **{}**):\n\n\
| service PUT MB/s | service GET MB/s | direct GET MB/s | VmHWM before MiB | VmHWM after PUT MiB | VmHWM after GET MiB | max VmRSS sampled MiB |\n|---:|---:|---:|---:|---:|---:|---:|\n\
| {} | {} | {} | {} | {} | {} | {} |\n",
        st["verified"], st["service_put_mb_s"], st["service_get_mb_s"], st["direct_get_mb_s"],
        mib("vm_hwm_kib_before"), mib("vm_hwm_kib_after_put"), mib("vm_hwm_kib_after_get"), mib("max_vm_rss_kib_sampled"));
    s
}

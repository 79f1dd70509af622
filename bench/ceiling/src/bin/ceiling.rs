//! The server's ceiling: the leanest raw client we could write. URLs are pre-signed once
//! before any timer starts (by s3flow's presign action, i.e. the SDK presigner), requests go
//! over one keep-alive hyper pool whose connections ACK at once (s3flow's plain-HTTP client: a
//! server that writes a response's head and body apart otherwise waits ~40 ms for a delayed ACK
//! on every request), PUT bodies are `Bytes` in memory, GET bodies are counted and dropped.
//! Concurrency is swept and every point is reported; bench/run keeps the best.
//!
//!   s3flow-ceiling --endpoint URL --access-key-id K --secret-access-key S [--region garage]
//!       --bucket B [--large-bytes 1073741824] [--part-size 16777216]
//!       [--small-count 10000] [--small-bytes 4096] [--small-dir DIR] [--concurrency 16,64,256]
//!       [--large-concurrency 1,2,4,8] [--delete-concurrency 1,2,4,10] [--server-pid PID]
//!
//! With `--server-pid`, every point starts once the server is idle, as every tool's
//! measurement does in bench/run.
//!
//! Large PUT at concurrency 1 is one PutObject; above 1 it is a multipart upload whose
//! UploadPart URLs are pre-signed after CreateMultipartUpload (outside the timer; Complete is
//! inside it). Large GET at concurrency 1 is one GetObject; above 1, ranged GETs of part-size.
//! Small objects each have their own bytes (Garage stores blocks by content hash: 10,000 copies
//! of one body are one block, which made its PUT, GET and DELETE cheaper than the tools' own
//! distinct files): the files of `--small-dir` (bench/run passes W3's), else pseudo-random.
//! Small DELETE: the small objects in DeleteObjects batches of 1,000, batches in flight swept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::{stream, StreamExt, TryFutureExt, TryStreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use s3flow::actions::presign::{self, PresignInput, PresignMethod, PresignOutput};
use s3flow::plain_http::QuickAckConnector;
use s3flow::Client;
use s3flow_bench::{connect, die, Args};
use serde_json::{json, Value};

type Failure = String;

fn list(text: &str) -> Vec<usize> {
    text.split(',')
        .map(|v| {
            v.trim()
                .parse()
                .unwrap_or_else(|_| die(&format!("bad number {v:?}")))
        })
        .collect()
}

async fn presigned(
    client: &Client,
    bucket: &str,
    key: &str,
    method: PresignMethod,
) -> PresignOutput {
    let input = PresignInput {
        bucket: Some(bucket.to_owned()),
        key: key.to_owned(),
        method: Some(method),
        ..PresignInput::default()
    };
    presign::run(client, input)
        .await
        .unwrap_or_else(|e| die(&format!("presign {key}: {e}")))
}

type Http = HyperClient<QuickAckConnector, Full<Bytes>>;

/// Requests answered 500 or 503 (or stalled) and sent again since the last [`start_timer`],
/// so untimed work (putting objects back before a delete point) does not count: Garage
/// answers 503 when its sqlite metadata is busy ("database is locked") under many writes at
/// once, and every real client retries that.
static RETRIED: AtomicU64 = AtomicU64::new(0);

/// The server's process, when known (`--server-pid`): every point waits for it to go idle.
static SERVER_PID: OnceLock<u32> = OnceLock::new();

/// Milliseconds spent waiting for the server to go idle, over the whole run.
static SETTLED_MS: AtomicU64 = AtomicU64::new(0);

/// Starts timing a point once the server is idle (as bench/run does before every tool's
/// measurement: Garage keeps working after big writes, overwrites and deletes, and a point
/// that starts meanwhile shares the cores with it); its retries count from here.
async fn start_timer() -> Instant {
    if let Some(&pid) = SERVER_PID.get() {
        let waited = settle(pid).await;
        SETTLED_MS.fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
    }
    RETRIED.store(0, Ordering::Relaxed);
    Instant::now()
}

/// Waits until the server used under 3 % of a core over half a second (bench/run's rule), at
/// most 60 s; returns the time waited.
async fn settle(pid: u32) -> Duration {
    const WINDOW: Duration = Duration::from_millis(500);
    // Linux's USER_HZ is 100 on every platform it supports today.
    const TICKS_PER_S: f64 = 100.0;
    let cpu = || -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    };
    let started = Instant::now();
    let Some(mut before) = cpu() else { return Duration::ZERO };
    while started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(WINDOW).await;
        let Some(after) = cpu() else { break };
        if ((after - before) as f64) < 0.03 * WINDOW.as_secs_f64() * TICKS_PER_S {
            break;
        }
        before = after;
    }
    started.elapsed()
}

/// Attempts per request before a 500/503 or a stall counts as a failure.
const ATTEMPTS: u32 = 10;

/// A request whose response has not begun after this long is sent again: once (2026-12-05)
/// Garage stopped reading an UploadPart body mid-way and never answered, which hung the run.
const STALLED_AFTER: Duration = Duration::from_secs(60);

/// Why a request failed, and whether sending it again may help.
enum SendError {
    /// A 500 or 503, or no answer within [`STALLED_AFTER`].
    Retryable(Failure),
    Fatal(Failure),
}

/// Sends `body` to a pre-signed URL (with the headers it was signed with, and `range`),
/// again after a short pause when the server answers 500 or 503 or does not answer.
async fn send(
    http: &Http,
    method: http::Method,
    url: &PresignOutput,
    range: Option<(u64, u64)>,
    body: Bytes,
) -> Result<http::Response<Incoming>, Failure> {
    let mut attempt = 1;
    loop {
        match send_once(http, &method, url, range, body.clone()).await {
            Err(SendError::Retryable(_)) if attempt < ATTEMPTS => {
                RETRIED.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5 << attempt.min(6))).await;
                attempt += 1;
            }
            Ok(response) => return Ok(response),
            Err(SendError::Retryable(message) | SendError::Fatal(message)) => return Err(message),
        }
    }
}

/// One request.
async fn send_once(
    http: &Http,
    method: &http::Method,
    url: &PresignOutput,
    range: Option<(u64, u64)>,
    body: Bytes,
) -> Result<http::Response<Incoming>, SendError> {
    let mut builder = http::Request::builder().method(method).uri(&url.url);
    for (name, value) in &url.headers {
        builder = builder.header(name, value);
    }
    if let Some((first, last)) = range {
        builder = builder.header("range", format!("bytes={first}-{last}"));
    }
    let request = builder.body(Full::new(body)).map_err(|e| SendError::Fatal(e.to_string()))?;
    let response = tokio::time::timeout(STALLED_AFTER, http.request(request))
        .await
        .map_err(|_| SendError::Retryable(format!("{method}: no answer in {STALLED_AFTER:?}")))?
        .map_err(|e| SendError::Fatal(e.to_string()))?;
    if !response.status().is_success() {
        let status = response.status();
        let text = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let message = format!("{method} {status}: {}", String::from_utf8_lossy(&text));
        return Err(if matches!(status.as_u16(), 500 | 503) { SendError::Retryable(message) } else { SendError::Fatal(message) });
    }
    Ok(response)
}

/// PUT; returns the response's ETag.
async fn put(http: &Http, url: &PresignOutput, body: Bytes) -> Result<String, Failure> {
    let response = send(http, http::Method::PUT, url, None, body).await?;
    let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    response.into_body().collect().await.map_err(|e| e.to_string())?;
    Ok(etag)
}

/// GET, count the body's bytes, drop them.
async fn get(http: &Http, url: &PresignOutput, range: Option<(u64, u64)>) -> Result<u64, Failure> {
    let mut body = send(http, http::Method::GET, url, range, Bytes::new()).await?.into_body();
    let mut bytes = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(chunk) = frame.map_err(|e| e.to_string())?.data_ref() {
            bytes += chunk.len() as u64;
        }
    }
    Ok(bytes)
}

fn point(concurrency: usize, elapsed: Duration, bytes: u64, objects: u64) -> Value {
    let s = elapsed.as_secs_f64();
    let retried = RETRIED.load(Ordering::Relaxed);
    json!({"concurrency": concurrency, "seconds": s, "mb_per_s": bytes as f64 / 1e6 / s, "objects_per_s": objects as f64 / s, "retried": retried})
}

async fn large_put_multipart(
    client: &Client,
    http: &Http,
    bucket: &str,
    key: &str,
    body: &Bytes,
    part_size: u64,
    concurrency: usize,
) -> Result<Duration, Failure> {
    let s3 = client.s3();
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let parts = (body.len() as u64).div_ceil(part_size);
    let mut urls = Vec::new();
    for number in 1..=parts {
        let config =
            aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(3600))
                .unwrap();
        let signed = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number as i32)
            .presigned(config)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let headers = signed
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        urls.push(PresignOutput {
            url: signed.uri().to_owned(),
            method: PresignMethod::Put,
            expires_at: String::new(),
            headers,
        });
    }
    let started = start_timer().await;
    let etags: Vec<(i32, String)> = stream::iter(urls.iter().enumerate())
        .map(|(i, url)| {
            let first = i as u64 * part_size;
            let last = (first + part_size).min(body.len() as u64);
            let chunk = body.slice(first as usize..last as usize);
            async move { Ok::<_, Failure>((i as i32 + 1, put(http, url, chunk).await?)) }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    let mut etags = etags;
    etags.sort();
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            etags
                .into_iter()
                .map(|(n, e)| CompletedPart::builder().part_number(n).e_tag(e).build())
                .collect(),
        ))
        .build();
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(completed)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(started.elapsed())
}

async fn large_get_ranged(
    http: &Http,
    url: &PresignOutput,
    size: u64,
    part_size: u64,
    concurrency: usize,
) -> Result<(Duration, u64), Failure> {
    let started = start_timer().await;
    let ranges: Vec<(u64, u64)> = (0..size.div_ceil(part_size))
        .map(|i| (i * part_size, ((i + 1) * part_size).min(size) - 1))
        .collect();
    let total: Vec<u64> = stream::iter(ranges)
        .map(|r| get(http, url, Some(r)))
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok((started.elapsed(), total.iter().sum()))
}

async fn run_large(
    client: &Client,
    http: &Http,
    bucket: &str,
    body: Bytes,
    part_size: u64,
    large_sweep: &[usize],
    report: &mut Value,
) -> Result<(), Failure> {
    let large_bytes = body.len() as u64;
    report["large_bytes"] = json!(large_bytes);
    let key = "ceiling/large.bin";
    let put_url = presigned(client, bucket, key, PresignMethod::Put).await;
    let get_url = presigned(client, bucket, key, PresignMethod::Get).await;
    let mut puts = Vec::new();
    let mut gets = Vec::new();
    for &c in large_sweep {
        let elapsed = if c <= 1 {
            let started = start_timer().await;
            put(http, &put_url, body.clone()).await?;
            started.elapsed()
        } else {
            large_put_multipart(client, http, bucket, key, &body, part_size, c).await?
        };
        puts.push(point(c, elapsed, large_bytes, 1));
        let (elapsed, got) = if c <= 1 {
            let started = start_timer().await;
            let got = get(http, &get_url, None).await?;
            (started.elapsed(), got)
        } else {
            large_get_ranged(http, &get_url, large_bytes, part_size, c).await?
        };
        if got != large_bytes {
            return Err(format!(
                "large GET at concurrency {c}: {got} bytes, expected {large_bytes}"
            ));
        }
        gets.push(point(c, elapsed, large_bytes, 1));
    }
    report["large_put"] = Value::Array(puts);
    report["large_get"] = Value::Array(gets);
    Ok(())
}

async fn run(args: Args) -> Result<Value, Failure> {
    let client = connect(&args).await;
    let bucket = args.get("bucket");
    let large_bytes = args.number("large-bytes", 1 << 30);
    let part_size = args.number("part-size", 16 << 20);
    let small_count = args.number("small-count", 10_000) as usize;
    let small_bytes = args.number("small-bytes", 4096) as usize;
    let sweep = list(&args.get_or("concurrency", "16,64,256"));
    let large_sweep = list(&args.get_or("large-concurrency", "1,2,4,8"));
    let server_pid = args.number("server-pid", 0);
    if server_pid > 0 {
        let _ = SERVER_PID.set(server_pid as u32);
    }
    let http: Http = s3flow::plain_http::hyper_client(None);

    let mut report = json!({"large_bytes": large_bytes, "part_size": part_size, "small_count": small_count, "small_bytes": small_bytes});

    let large_file = args.get_or("large-file", "");
    if !large_file.is_empty() {
        // The same bytes as the peers' W1 file (Garage deduplicates blocks by content, so the
        // ceiling must send what the tools send), read into memory before any timer.
        let data = std::fs::read(&large_file).map_err(|e| format!("{large_file}: {e}"))?;
        run_large(
            &client,
            &http,
            &bucket,
            Bytes::from(data),
            part_size,
            &large_sweep,
            &mut report,
        )
        .await?;
    } else if large_bytes > 0 {
        // Bodies from memory: the same pseudo-random bytes every run.
        run_large(
            &client,
            &http,
            &bucket,
            Bytes::from(pseudo_random(large_bytes as usize, 0)),
            part_size,
            &large_sweep,
            &mut report,
        )
        .await?;
    }

    let small_dir = args.get_or("small-dir", "");
    let bodies = if small_dir.is_empty() {
        (0..small_count).map(|i| Bytes::from(pseudo_random(small_bytes, i as u64))).collect()
    } else {
        read_dir_files(&small_dir)?
    };
    if !bodies.is_empty() {
        let small_count = bodies.len();
        let total: u64 = bodies.iter().map(|b| b.len() as u64).sum();
        report["small_count"] = json!(small_count);
        report["small_bytes"] = json!(total / small_count as u64);
        report["small_bodies"] = json!("distinct");
        let keys: Vec<String> = (0..small_count).map(|i| format!("ceiling/small/{i:06}.bin")).collect();
        let mut put_urls = Vec::with_capacity(small_count);
        let mut get_urls = Vec::with_capacity(small_count);
        for key in &keys {
            put_urls.push(presigned(&client, &bucket, key, PresignMethod::Put).await);
            get_urls.push(presigned(&client, &bucket, key, PresignMethod::Get).await);
        }
        let mut puts = Vec::new();
        let mut gets = Vec::new();
        for &c in &sweep {
            let started = start_timer().await;
            let _: Vec<_> = stream::iter(put_urls.iter().zip(&bodies))
                .map(|(u, body)| put(&http, u, body.clone()))
                .buffer_unordered(c)
                .try_collect()
                .await?;
            puts.push(point(c, started.elapsed(), total, small_count as u64));
            let started = start_timer().await;
            let sizes: Vec<(usize, u64)> = stream::iter(get_urls.iter().enumerate())
                .map(|(i, u)| get(&http, u, None).map_ok(move |n| (i, n)))
                .buffer_unordered(c)
                .try_collect()
                .await?;
            let elapsed = started.elapsed();
            if let Some(&(i, got)) = sizes.iter().find(|&&(i, n)| n != bodies[i].len() as u64) {
                return Err(format!("small GET returned {got} bytes, expected {}", bodies[i].len()));
            }
            gets.push(point(c, elapsed, total, small_count as u64));
        }
        report["small_put"] = Value::Array(puts);
        report["small_get"] = Value::Array(gets);

        let mut deletes = Vec::new();
        for &c in &list(&args.get_or("delete-concurrency", "1,2,4,10")) {
            // Every point deletes objects that exist: put them back first (untimed).
            let _: Vec<_> = stream::iter(put_urls.iter().zip(&bodies))
                .map(|(u, body)| put(&http, u, body.clone()))
                .buffer_unordered(64)
                .try_collect()
                .await?;
            let started = start_timer().await;
            let deleted: Vec<usize> = stream::iter(keys.chunks(1000))
                .map(|batch| delete_batch(&client, &bucket, batch))
                .buffer_unordered(c)
                .try_collect()
                .await?;
            deletes.push(point(c, started.elapsed(), 0, deleted.iter().sum::<usize>() as u64));
        }
        report["small_delete"] = Value::Array(deletes);
    }
    report["settled_s"] = json!(SETTLED_MS.load(Ordering::Relaxed) as f64 / 1000.0);
    Ok(report)
}

/// `len` bytes of xorshift output from a seed of its own: distinct, incompressible bodies.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = 0x9E3779B97F4A7C15u64 ^ seed.wrapping_mul(0xD1B54A32D192ED03);
    let mut data = Vec::with_capacity(len + 8);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(len);
    data
}

/// The regular files of `dir` in name order, read into memory before any timer.
fn read_dir_files(dir: &str) -> Result<Vec<Bytes>, Failure> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{dir}: {e}"))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).map(Bytes::from).map_err(|e| format!("{}: {e}", p.display())))
        .collect()
}

/// One DeleteObjects of up to 1,000 keys through the SDK client (a pre-signed URL cannot carry the
/// body's checksum the call requires); per batch the client's share is one small XML body, the
/// server's is a thousand deletes. Returns how many keys the server reported deleted.
async fn delete_batch(client: &Client, bucket: &str, keys: &[String]) -> Result<usize, Failure> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    let objects = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(k).build().map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let delete = Delete::builder().set_objects(Some(objects)).quiet(false).build().map_err(|e| e.to_string())?;
    let out = client.s3().delete_objects().bucket(bucket).delete(delete).send().await.map_err(|e| format!("{e:?}"))?;
    if !out.errors().is_empty() {
        return Err(format!("DeleteObjects: {} keys failed", out.errors().len()));
    }
    if out.deleted().len() != keys.len() {
        return Err(format!("DeleteObjects: {} of {} keys reported deleted", out.deleted().len(), keys.len()));
    }
    Ok(keys.len())
}

#[tokio::main]
async fn main() {
    match run(Args::parse()).await {
        Ok(report) => println!("{report}"),
        Err(e) => die(&e),
    }
}

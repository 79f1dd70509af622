//! Retries and integrity under injected faults: the embedded endpoint behind a seeded
//! fault-injecting proxy ([`proxy`]). Every check reads back through a client that does not
//! go through the proxy.
//!
//! `S3FLOW_FAULT_UPLOADS` sets how many uploads the mixed-fault test makes (default 1,000,
//! the count) and
//! `S3FLOW_FAULT_SEED` the seed (default 42).

mod proxy;

use std::sync::OnceLock;

use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use proxy::{Counters, Faults};
use s3flow::actions::upload::{self, UploadInput};
use s3flow::transfer::download::{self, Request};
use s3flow::{Client, Connection, ErrorCode};
use sha2::{Digest, Sha256};

#[derive(Clone)]
struct Endpoint {
    url: String,
    access_key: String,
    secret_key: String,
    region: String,
}

static LOCAL: OnceLock<Endpoint> = OnceLock::new();

/// The embedded endpoint, on its own runtime (each test has its own).
fn local() -> Endpoint {
    LOCAL
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
                runtime.block_on(async move {
                    let dir = tempfile::tempdir().unwrap();
                    let mut config = s3flow_local::LocalConfig::new(dir.path());
                    config.listen = "127.0.0.1:0".parse().unwrap();
                    let server = s3flow_local::LocalServer::start(config).await.expect("local endpoint");
                    tx.send(Endpoint {
                        url: server.endpoint(),
                        access_key: server.access_key().to_owned(),
                        secret_key: server.secret_key().to_owned(),
                        region: server.region().to_owned(),
                    })
                    .unwrap();
                    std::future::pending::<()>().await;
                    drop((server, dir));
                });
            });
            rx.recv().unwrap()
        })
        .clone()
}

fn seed() -> u64 {
    std::env::var("S3FLOW_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(42)
}

/// An s3flow client through the proxy.
async fn client_via(proxy_url: &str, edit: impl FnOnce(&mut Connection)) -> Client {
    let ep = local();
    let mut conn = Connection::with_access_key(proxy_url, &ep.access_key, &ep.secret_key, &ep.region);
    edit(&mut conn);
    Client::connect(conn).await.expect("connect")
}

/// Plain SDK straight to the endpoint: the referee.
fn direct() -> aws_sdk_s3::Client {
    let ep = local();
    let config = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .endpoint_url(&ep.url)
        .region(Region::new(ep.region.clone()))
        .credentials_provider(Credentials::new(&ep.access_key, &ep.secret_key, None, None, "test"))
        .force_path_style(true)
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn fresh_bucket(raw: &aws_sdk_s3::Client) -> String {
    let bucket = format!("faults-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    raw.create_bucket().bucket(&bucket).send().await.expect("create bucket");
    bucket
}

async fn sha_of(raw: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let out = raw.get_object().bucket(bucket).key(key).send().await.expect("direct get");
    hex::encode(Sha256::digest(out.body.collect().await.unwrap().into_bytes()))
}

fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn input(bucket: &str, key: &str, body: Vec<u8>) -> UploadInput {
    UploadInput { bucket: Some(bucket.into()), key: Some(key.into()), bytes: Some(body.into()), ..Default::default() }
}

/// 10% 503 SlowDown, 5% resets, 2% 500: every upload succeeds and none is corrupt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_survive_mixed_faults() {
    let raw = direct();
    let bucket = fresh_bucket(&raw).await;
    let faults = Faults { slow_down: 0.10, reset: 0.05, internal_error: 0.02, ..Faults::default() };
    let proxy = proxy::start(&local().url, seed(), faults).await;
    // Generous attempts: at these rates a part fails 5 times in a row about once in 10^5.
    let client = client_via(&proxy.url, |c| {
        c.max_attempts = Some(8);
        c.part_size = Some(5 * 1024 * 1024);
    })
    .await;
    let count: u64 = std::env::var("S3FLOW_FAULT_UPLOADS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let mut sizes = bytes(count as usize * 8, seed()).into_iter();
    let mut expected = Vec::new();
    let uploads = futures::stream::iter(0..count).map(|i| {
        // 1 KiB … 8 MiB, log-spread.
        let shift = 10 + u32::from(sizes.next().unwrap()) % 14;
        let len = (1usize << shift) + usize::from(sizes.next().unwrap()) * 31;
        let body = bytes(len.min(8 * 1024 * 1024), i + 1);
        expected.push((format!("k/{i}"), hex::encode(Sha256::digest(&body))));
        let (client, bucket) = (client.clone(), bucket.clone());
        async move { upload::run(&client, input(&bucket, &format!("k/{i}"), body)).await }
    });
    use futures::StreamExt;
    let results: Vec<_> = uploads.buffer_unordered(4).collect().await;
    let failures: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failures.is_empty(), "{} of {count} failed: {failures:?}", failures.len());
    let mut corrupt = 0;
    for (key, sha) in &expected {
        if &sha_of(&raw, &bucket, key).await != sha {
            corrupt += 1;
        }
    }
    assert_eq!(corrupt, 0, "corrupt objects");

    // Multipart both ways under the same faults.
    let big = bytes(18 * 1024 * 1024 + 3, 77);
    upload::run(&client, input(&bucket, "big.bin", big.clone())).await.expect("multipart upload");
    assert_eq!(sha_of(&raw, &bucket, "big.bin").await, hex::encode(Sha256::digest(&big)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let request = Request { bucket: bucket.clone(), key: "big.bin".into(), version_id: None };
    let done = download::to_file(&client, &request, &path).await.expect("ranged download");
    assert_eq!(done.ranges, 4);
    assert!(std::fs::read(&path).unwrap() == big, "intact download");

    let c = &proxy.counters;
    eprintln!(
        "requests {}, 503 {}, 500 {}, resets {}",
        Counters::get(&c.requests),
        Counters::get(&c.slow_down),
        Counters::get(&c.internal_error),
        Counters::get(&c.reset)
    );
    assert!(Counters::get(&c.slow_down) > 0 && Counters::get(&c.reset) > 0, "faults were injected");
    let uploads = raw.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "no multipart upload left behind");
}

/// Flipped bits in GET bodies are caught by the CRC32 check and fetched again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bit_flips_are_detected_and_retried() {
    let raw = direct();
    let bucket = fresh_bucket(&raw).await;
    let proxy = proxy::start(&local().url, seed(), Faults::default()).await;
    let client = client_via(&proxy.url, |_| {}).await;
    let body = bytes(3 * 1024 * 1024 + 17, 9);
    upload::run(&client, input(&bucket, "flip.bin", body.clone())).await.expect("upload");

    proxy.set_faults(Faults { bit_flip: 0.5, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    let request = Request { bucket: bucket.clone(), key: "flip.bin".into(), version_id: None };
    // `other` turns the SDK's default response checksums off (it still checks what it is
    // asked for with x-amz-checksum-mode, as our whole-object GETs do), besides our CRC32.
    let ours = client_via(&proxy.url, |c| c.provider = s3flow::Provider::Other).await;
    for round in 0..8 {
        let client = if round % 2 == 0 { &client } else { &ours };
        let path = dir.path().join(format!("flip-{round}.bin"));
        let done = download::to_file(client, &request, &path).await.expect("download despite flips");
        assert!(done.checksum.is_some(), "the checksum was checked");
        assert!(std::fs::read(&path).unwrap() == body, "round {round}: intact bytes");
        let mut sink = Vec::new();
        download::to_writer(client, &request, &mut sink).await.expect("stream despite flips");
        assert!(sink == body, "round {round}: intact stream");
    }
    assert!(Counters::get(&proxy.counters.bit_flip) > 0, "flips were injected");

    // Every GET flipped: the download fails, and no file appears.
    proxy.set_faults(Faults { bit_flip: 1.0, ..Faults::default() });
    let path = dir.path().join("never.bin");
    // (Our CRC32 check, or the SDK's own response validation on AWS-preset connections.)
    let err = download::to_file(&client, &request, &path).await.expect_err("always corrupt");
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{err}");
    let err = download::to_file(&ours, &request, &path).await.expect_err("always corrupt");
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{err}");
    assert!(!path.exists());
}

/// A multipart object comes back in ranged GETs that carry no checksum of their own; the
/// whole-object CRC32 it was uploaded with (`FULL_OBJECT`) catches a flip in any range, so a
/// download is intact or an error, never a corrupt file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bit_flips_in_ranges_are_detected() {
    let raw = direct();
    let bucket = fresh_bucket(&raw).await;
    let proxy = proxy::start(&local().url, seed(), Faults::default()).await;
    let client = client_via(&proxy.url, |c| {
        c.part_size = Some(5 * 1024 * 1024);
        c.download_threads = Some(2);
    })
    .await;
    let body = bytes(17 * 1024 * 1024 + 5, 21);
    let up = upload::run(&client, input(&bucket, "ranges.bin", body.clone())).await.expect("upload");
    let request = Request { bucket: bucket.clone(), key: "ranges.bin".into(), version_id: None };
    let dir = tempfile::tempdir().unwrap();

    let path = dir.path().join("clean.bin");
    let done = download::to_file(&client, &request, &path).await.expect("clean download");
    assert_eq!(done.ranges, 4);
    assert_eq!(done.checksum, up.checksum, "the whole-object CRC32 was checked");

    proxy.set_faults(Faults { bit_flip: 0.2, ..Faults::default() });
    for round in 0..6 {
        let path = dir.path().join(format!("ranges-{round}.bin"));
        match download::to_file(&client, &request, &path).await {
            Ok(done) => {
                assert!(done.checksum.is_some());
                assert!(std::fs::read(&path).unwrap() == body, "round {round}: intact bytes");
            }
            Err(err) => {
                assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{err}");
                assert!(!path.exists(), "round {round}: no file after a failure");
            }
        }
    }
    assert!(Counters::get(&proxy.counters.bit_flip) > 0, "flips were injected");

    proxy.set_faults(Faults { bit_flip: 1.0, ..Faults::default() });
    let path = dir.path().join("never.bin");
    let err = download::to_file(&client, &request, &path).await.expect_err("always corrupt");
    assert_eq!(err.code, ErrorCode::UpstreamUnavailable, "{err}");
    assert!(!path.exists());
}

/// A body cut short is never a success: retried when some GETs get through, an error when
/// none does; no file at the final path either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_bodies_are_never_success() {
    let raw = direct();
    let bucket = fresh_bucket(&raw).await;
    let proxy = proxy::start(&local().url, seed(), Faults::default()).await;
    let client = client_via(&proxy.url, |c| c.part_size = Some(5 * 1024 * 1024)).await;
    let small = bytes(200_000, 3);
    let large = bytes(21 * 1024 * 1024, 4);
    // Straight to the store: no checksum stored, so only the lengths can catch a cut.
    for (key, body) in [("small.bin", &small), ("large.bin", &large)] {
        raw.put_object().bucket(&bucket).key(key).body(body.clone().into()).send().await.unwrap();
    }

    proxy.set_faults(Faults { truncate: 0.3, ..Faults::default() });
    let dir = tempfile::tempdir().unwrap();
    for (key, body) in [("small.bin", &small), ("large.bin", &large)] {
        for round in 0..3 {
            let request = Request { bucket: bucket.clone(), key: key.into(), version_id: None };
            let path = dir.path().join(format!("{round}-{key}"));
            download::to_file(&client, &request, &path).await.expect("download despite cuts");
            assert!(std::fs::read(&path).unwrap() == *body, "{key} round {round}");
        }
    }
    assert!(Counters::get(&proxy.counters.truncate) > 0, "cuts were injected");

    proxy.set_faults(Faults { truncate: 1.0, ..Faults::default() });
    for key in ["small.bin", "large.bin"] {
        let request = Request { bucket: bucket.clone(), key: key.into(), version_id: None };
        let path = dir.path().join(format!("never-{key}"));
        let err = download::to_file(&client, &request, &path).await.expect_err("always cut");
        assert!(err.retryable(), "{err}");
        assert!(!path.exists());
        let out = s3flow::actions::run_json(&client, "download", serde_json::json!({"bucket": bucket, "key": key, "max_inline_bytes": 100_000_000})).await;
        assert!(out.is_err(), "inline download of a cut body must fail: {out:?}");
    }
}

/// A store that always says SlowDown: the client gives up with `throttled`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_slow_down_gives_throttled() {
    let raw = direct();
    let bucket = fresh_bucket(&raw).await;
    let proxy = proxy::start(&local().url, seed(), Faults { slow_down: 1.0, ..Faults::default() }).await;
    let client = client_via(&proxy.url, |c| c.max_attempts = Some(2)).await;
    let err = upload::run(&client, input(&bucket, "k", b"x".to_vec())).await.expect_err("throttled");
    assert_eq!(err.code, ErrorCode::Throttled, "{err}");
    assert_eq!(err.s3_code.as_deref(), Some("SlowDown"));
    let big = bytes(17 * 1024 * 1024, 1);
    let client = client_via(&proxy.url, |c| {
        c.max_attempts = Some(2);
        c.part_size = Some(5 * 1024 * 1024);
    })
    .await;
    let err = upload::run(&client, input(&bucket, "big", big)).await.expect_err("throttled");
    assert_eq!(err.code, ErrorCode::Throttled, "{err}");
    assert!(raw.head_object().bucket(&bucket).key("k").send().await.is_err(), "nothing stored");
}

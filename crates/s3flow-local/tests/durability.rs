//! Bounded memory for large bodies, and no partial objects from interrupted uploads.
//! (A separate test binary: peak-memory readings are per process.)

mod common;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use common::{code, get, put, TestServer};
use s3s::crypto::Checksum as _;
use tokio::io::AsyncWriteExt as _;

/// Peak resident memory of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak (Linux: writing 5 to clear_refs).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_put_and_get_use_bounded_memory() {
    const SIZE: usize = 256 * 1024 * 1024;
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let path = t.dir.path().join("source.bin");
    let mut md5 = s3s::crypto::Md5::new();
    {
        use std::io::Write as _;
        let mut file = std::fs::File::create(&path).unwrap();
        let mut block = vec![0u8; 1024 * 1024];
        for i in 0..SIZE / block.len() {
            for (j, byte) in block.iter_mut().enumerate() {
                *byte = (i * 7 + j * 13) as u8;
            }
            md5.update(&block);
            file.write_all(&block).unwrap();
        }
    }
    let expected = hex::encode(md5.finalize());

    let measured = reset_peak_rss() && peak_rss_kib().is_some();
    let before = peak_rss_kib().unwrap_or(0);

    let out = c
        .put_object()
        .bucket(&b)
        .key("large")
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.e_tag(), Some(format!("\"{expected}\"").as_str()));
    let mut got = c.get_object().bucket(&b).key("large").send().await.unwrap();
    let mut md5 = s3s::crypto::Md5::new();
    let mut received = 0;
    while let Some(chunk) = got.body.try_next().await.unwrap() {
        md5.update(&chunk);
        received += chunk.len();
    }
    assert_eq!(received, SIZE);
    assert_eq!(hex::encode(md5.finalize()), expected);

    if measured {
        let grown_mib = peak_rss_kib().unwrap().saturating_sub(before) / 1024;
        eprintln!("peak memory growth: {grown_mib} MiB");
        // Client and server share this process; a buffered body would add 256 MiB.
        assert!(
            grown_mib < 96,
            "peak memory grew by {grown_mib} MiB for a 256 MiB object"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_upload_leaves_no_partial_object() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "victim", "the old content").await;

    for key in ["victim", "fresh"] {
        let url = c
            .put_object()
            .bucket(&b)
            .key(key)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).unwrap())
            .await
            .unwrap();
        let uri: http::Uri = url.uri().parse().unwrap();
        let mut stream = tokio::net::TcpStream::connect(t.server.local_addr())
            .await
            .unwrap();
        let head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 1000000\r\n\r\n",
            uri.path_and_query().unwrap(),
            uri.authority().unwrap()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&[b'x'; 10_000]).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(stream); // the client goes away mid-body
    }

    // The server notices the broken body and cleans up: a body is written straight into
    // `objects/` under a fresh name, so only the old object's data file may be left there.
    let bucket_dir = t.dir.path().join("buckets").join(&b);
    let files = |dir: &str, suffix: &str| {
        std::fs::read_dir(bucket_dir.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(suffix))
            .count()
    };
    for _ in 0..50 {
        if files("objects", ".data") == 1 && files("tmp", "") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(files("objects", ".data"), 1, "partial data files removed");
    assert_eq!(files("tmp", ""), 0, "temporary files removed");
    assert_eq!(get(&c, &b, "victim").await, b"the old content");
    assert_eq!(
        code(c.get_object().bucket(&b).key("fresh").send().await),
        "NoSuchKey"
    );
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

/// A process killed mid-body leaves its data file under `objects/` with no metadata naming it:
/// invisible, and removed at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_file_no_metadata_names_is_removed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    let b = common::unique_name("bucket");
    c.create_bucket().bucket(&b).send().await.unwrap();
    put(&c, &b, "kept", "kept content").await;
    server.shutdown().await;

    let objects = dir.path().join("buckets").join(&b).join("objects");
    let stray = objects.join("0123abcd.deadbeef.data");
    std::fs::write(&stray, b"half a body").unwrap();

    let server = common::start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    assert!(!stray.exists(), "the stray data file is removed at start");
    assert_eq!(get(&c, &b, "kept").await, b"kept content");
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    server.shutdown().await;
}

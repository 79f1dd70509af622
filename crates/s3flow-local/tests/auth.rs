//! Signatures (header, pre-signed, streaming `aws-chunked`, trailers), credentials,
//! restarts and shutdown, against a real server over real HTTP.

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{client, client_with_keys, code, get, put, start_in, status, TestServer};
use sha2::{Digest as _, Sha256};

fn presign(seconds: u64) -> PresigningConfig {
    PresigningConfig::expires_in(Duration::from_secs(seconds)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_get_and_put_with_a_plain_http_client() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let http = reqwest::Client::new();

    for key in [
        "plain",
        "dir/with space+plus=eq&amp?q#h%25.txt",
        "ü//x/../y",
    ] {
        put(&c, &b, key, format!("content of {key}")).await;
        let url = c
            .get_object()
            .bucket(&b)
            .key(key)
            .presigned(presign(300))
            .await
            .unwrap();
        // WHATWG URL parsers (reqwest, browsers) resolve `..` and `%2E%2E` segments before
        // sending; escaping the slashes around a dot segment keeps it a plain segment, and
        // the server decodes `%2F` back to `/` before checking the signature.
        let uri = url.uri().replace("/../", "%2F..%2F");
        let response = http.get(&uri).send().await.unwrap();
        assert_eq!(
            response.status().as_u16(),
            200,
            "GET {key:?}: {:?}",
            response.text().await
        );
        assert_eq!(response.text().await.unwrap(), format!("content of {key}"));
    }

    // Pre-signed GET with response overrides signed in.
    let url = c
        .get_object()
        .bucket(&b)
        .key("plain")
        .response_content_disposition("attachment; filename=\"p.txt\"")
        .response_content_type("text/x-custom")
        .presigned(presign(300))
        .await
        .unwrap();
    let response = http.get(url.uri()).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/x-custom");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"p.txt\""
    );

    // Pre-signed PUT with the content type bound into the signature.
    let url = c
        .put_object()
        .bucket(&b)
        .key("uploaded via url")
        .content_type("application/json")
        .presigned(presign(300))
        .await
        .unwrap();
    let wrong = http
        .put(url.uri())
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("SignatureDoesNotMatch"));
    let mut request = http.put(url.uri()).body("{\"ok\":true}");
    for (name, value) in url.headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(
        response.status().as_u16(),
        200,
        "{:?}",
        response.text().await
    );
    let head = c
        .head_object()
        .bucket(&b)
        .key("uploaded via url")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(get(&c, &b, "uploaded via url").await, b"{\"ok\":true}");

    // Pre-signed DELETE and HEAD.
    let url = c
        .head_object()
        .bucket(&b)
        .key("plain")
        .presigned(presign(60))
        .await
        .unwrap();
    assert_eq!(
        http.head(url.uri()).send().await.unwrap().status().as_u16(),
        200
    );
    let url = c
        .delete_object()
        .bucket(&b)
        .key("plain")
        .presigned(presign(60))
        .await
        .unwrap();
    assert_eq!(
        http.delete(url.uri())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        code(c.get_object().bucket(&b).key("plain").send().await),
        "NoSuchKey"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_or_tampered_presigned_urls_are_refused() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "k", "v").await;
    let http = reqwest::Client::new();

    // Signed an hour ago, valid for a minute (X-Amz-Expires=60).
    let expired = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(3600))
        .expires_in(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = c
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(expired)
        .await
        .unwrap();
    assert!(url.uri().contains("X-Amz-Expires=60"));
    let response = http.get(url.uri()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("AccessDenied") && body.contains("expired"),
        "{body}"
    );

    // A URL for one key does not open another.
    let url = c
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(presign(60))
        .await
        .unwrap();
    let other = url.uri().replacen("/k?", "/other?", 1);
    assert_eq!(http.get(other).send().await.unwrap().status().as_u16(), 403);

    // A URL signed with a wrong secret.
    let wrong = client_with_keys(
        &t.server,
        t.server.access_key(),
        "not-the-secret",
        RequestChecksumCalculation::WhenSupported,
    );
    let url = wrong
        .get_object()
        .bucket(&b)
        .key("k")
        .presigned(presign(60))
        .await
        .unwrap();
    let response = http.get(url.uri()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("SignatureDoesNotMatch"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_anonymous_requests_are_refused() {
    let t = TestServer::start().await;
    let b = t.bucket().await;
    let wrong_secret = client_with_keys(
        &t.server,
        t.server.access_key(),
        "wrong",
        RequestChecksumCalculation::WhenSupported,
    );
    assert_eq!(
        code(wrong_secret.list_buckets().send().await),
        "SignatureDoesNotMatch"
    );
    assert_eq!(
        status(wrong_secret.list_objects_v2().bucket(&b).send().await),
        403
    );
    let result = wrong_secret
        .put_object()
        .bucket(&b)
        .key("x")
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "SignatureDoesNotMatch");

    let unknown = client_with_keys(
        &t.server,
        "AKIAUNKNOWN",
        t.server.secret_key(),
        RequestChecksumCalculation::WhenSupported,
    );
    assert_eq!(
        code(unknown.list_buckets().send().await),
        "InvalidAccessKeyId"
    );

    let response = reqwest::get(format!("{}/{b}/x", t.server.endpoint()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(response.text().await.unwrap().contains("AccessDenied"));
    let listed = t
        .client()
        .list_objects_v2()
        .bucket(&b)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.key_count(),
        Some(0),
        "nothing was written by refused requests"
    );
}

/// The SDK's default sends bodies `aws-chunked` with an unsigned payload and a CRC trailer;
/// `WhenRequired` sends a plain signed body. Both must store the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sdk_checksum_modes_work() {
    let t = TestServer::start().await;
    let b = t.bucket().await;
    for mode in [
        RequestChecksumCalculation::WhenSupported,
        RequestChecksumCalculation::WhenRequired,
    ] {
        let c = client(&t.server, mode);
        let key = format!("mode {mode:?}");
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let out = c
            .put_object()
            .bucket(&b)
            .key(&key)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        match mode {
            // The CRC32 from the trailer was verified and is echoed back.
            RequestChecksumCalculation::WhenSupported => {
                assert!(out.checksum_crc32().is_some(), "{out:?}")
            }
            _ => assert!(out.checksum_crc32().is_none(), "{out:?}"),
        }
        assert!(get(&c, &b, &key).await == body);

        // Multipart parts go through the same paths.
        let upload_id = c
            .create_multipart_upload()
            .bucket(&b)
            .key(&key)
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_owned();
        let part = c
            .upload_part()
            .bucket(&b)
            .key(&key)
            .upload_id(&upload_id)
            .part_number(1)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        c.complete_multipart_upload()
            .bucket(&b)
            .key(&key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .parts(
                        CompletedPart::builder()
                            .part_number(1)
                            .e_tag(part.e_tag().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert!(get(&c, &b, &key).await == body);

        // A wrong checksum is refused and stores nothing.
        let result = c
            .put_object()
            .bucket(&b)
            .key("bad checksum")
            .checksum_crc32("AAAAAA==")
            .body(ByteStream::from(body.clone()))
            .send()
            .await;
        assert_eq!(code(result), "BadDigest");
        assert_eq!(
            code(c.get_object().bucket(&b).key("bad checksum").send().await),
            "NoSuchKey"
        );
    }
}

/// SigV4 with `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: each chunk signed, chained from the seed
/// signature. The Rust SDK does not send this form, so the request is built by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_signed_chunks() {
    let t = TestServer::start().await;
    let b = t.bucket().await;
    let data: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();

    let response = send_streaming_put(&t, &b, "streamed key+?", &data, false).await;
    assert_eq!(response.0, 200, "{}", response.1);
    assert!(get(&t.client(), &b, "streamed key+?").await == data);

    let response = send_streaming_put(&t, &b, "tampered", &data, true).await;
    assert_eq!(response.0, 403, "{}", response.1);
    assert!(
        response.1.contains("SignatureDoesNotMatch"),
        "{}",
        response.1
    );
    assert_eq!(
        code(
            t.client()
                .get_object()
                .bucket(&b)
                .key("tampered")
                .send()
                .await
        ),
        "NoSuchKey"
    );
}

/// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (what the AWS SDKs send by default over HTTPS and
/// HTTP): plain chunks, then the checksum in a trailer, which the server must verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_payload_with_checksum_trailer() {
    use base64::Engine as _;
    use s3s::crypto::Checksum as _;
    let t = TestServer::start().await;
    let b = t.bucket().await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
    let good =
        base64::engine::general_purpose::STANDARD.encode(s3s::crypto::Crc32::checksum(&data));
    let response = send_unsigned_trailer_put(&t, &b, "trailer ok", &data, &good).await;
    assert_eq!(response.0, 200, "{}", response.1);
    assert!(get(&t.client(), &b, "trailer ok").await == data);

    let bad =
        base64::engine::general_purpose::STANDARD.encode(s3s::crypto::Crc32::checksum(b"other"));
    let response = send_unsigned_trailer_put(&t, &b, "trailer bad", &data, &bad).await;
    assert_eq!(response.0, 400, "{}", response.1);
    assert!(response.1.contains("BadDigest"), "{}", response.1);
    assert_eq!(
        code(
            t.client()
                .get_object()
                .bucket(&b)
                .key("trailer bad")
                .send()
                .await
        ),
        "NoSuchKey"
    );
}

async fn send_unsigned_trailer_put(
    t: &TestServer,
    bucket: &str,
    key: &str,
    data: &[u8],
    crc32: &str,
) -> (u16, String) {
    let trailer = format!("x-amz-checksum-crc32:{crc32}\r\n");
    let mut body = Vec::new();
    for chunk in data.chunks(40_000) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n");
    body.extend_from_slice(trailer.as_bytes());
    body.extend_from_slice(b"\r\n");
    let headers = [
        ("content-encoding", "aws-chunked".to_owned()),
        ("x-amz-decoded-content-length", data.len().to_string()),
        ("x-amz-trailer", "x-amz-checksum-crc32".to_owned()),
    ];
    let signed = sign_put(
        t,
        bucket,
        key,
        &headers,
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    );
    send_put(t, &signed, body).await
}

/// A PUT signed by hand (SigV4 header auth), for the payload forms the SDK does not send.
struct SignedPut {
    path: String,
    headers: Vec<(&'static str, String)>,
    authorization: String,
    seed: String,
    amz_date: String,
    scope: String,
    signing_key: Vec<u8>,
}

/// Signs a PUT of `key` with `extra` headers (all signed, plus host and x-amz-date) and the
/// given `x-amz-content-sha256` value.
fn sign_put(
    t: &TestServer,
    bucket: &str,
    key: &str,
    extra: &[(&'static str, String)],
    payload_hash: &str,
) -> SignedPut {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    let amz_date = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap();
    let region = t.server.region();
    let scope = format!("{}/{region}/s3/aws4_request", &amz_date[..8]);
    let signing_key = aws_sigv4::sign::v4::generate_signing_key(
        t.server.secret_key(),
        SystemTime::from(now),
        region,
        "s3",
    )
    .as_ref()
    .to_vec();
    let path = format!(
        "/{bucket}/{}",
        percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut headers = extra.to_vec();
    headers.push(("host", t.server.local_addr().to_string()));
    headers.push(("x-amz-date", amz_date.clone()));
    headers.push(("x-amz-content-sha256", payload_hash.to_owned()));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request =
        format!("PUT\n{path}\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let seed = aws_sigv4::sign::v4::calculate_signature(&signing_key, string_to_sign.as_bytes());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={seed}",
        t.server.access_key()
    );
    SignedPut {
        path,
        headers,
        authorization,
        seed,
        amz_date,
        scope,
        signing_key,
    }
}

async fn send_put(t: &TestServer, signed: &SignedPut, body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .put(format!("{}{}", t.server.endpoint(), signed.path))
        .header("authorization", &signed.authorization)
        .body(body);
    for (name, value) in &signed.headers {
        // reqwest sets these two itself (to the same values).
        if *name != "host" && *name != "content-length" {
            request = request.header(*name, value);
        }
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

async fn send_streaming_put(
    t: &TestServer,
    bucket: &str,
    key: &str,
    data: &[u8],
    tamper: bool,
) -> (u16, String) {
    const CHUNK: usize = 64 * 1024;
    let chunks: Vec<&[u8]> = data.chunks(CHUNK).chain(std::iter::once(&[][..])).collect();
    let encoded_len: usize = chunks
        .iter()
        .map(|c| format!("{:x}", c.len()).len() + ";chunk-signature=".len() + 64 + 2 + c.len() + 2)
        .sum();
    let headers = [
        ("content-encoding", "aws-chunked".to_owned()),
        ("content-length", encoded_len.to_string()),
        ("x-amz-decoded-content-length", data.len().to_string()),
    ];
    let signed = sign_put(
        t,
        bucket,
        key,
        &headers,
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    );

    let mut body = Vec::with_capacity(encoded_len);
    let mut previous = signed.seed.clone();
    for (i, chunk) in chunks.iter().enumerate() {
        let to_sign = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{}\n{}",
            signed.amz_date,
            signed.scope,
            sha256_hex(b""),
            sha256_hex(chunk)
        );
        let signature =
            aws_sigv4::sign::v4::calculate_signature(&signed.signing_key, to_sign.as_bytes());
        body.extend_from_slice(
            format!("{:x};chunk-signature={signature}\r\n", chunk.len()).as_bytes(),
        );
        let start = body.len();
        body.extend_from_slice(chunk);
        if tamper && i == 1 {
            body[start] ^= 0xff; // corrupt the second chunk after signing it
        }
        body.extend_from_slice(b"\r\n");
        previous = signature;
    }
    assert_eq!(body.len(), encoded_len);
    send_put(t, &signed, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_objects_uploads_and_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path()).await;
    let (access_key, secret_key) = (
        server.access_key().to_owned(),
        server.secret_key().to_owned(),
    );
    assert_eq!(access_key, "s3flow-local");
    assert_eq!(secret_key.len(), 32);
    let c = client(&server, RequestChecksumCalculation::WhenSupported);
    let b = common::unique_name("restart");
    c.create_bucket().bucket(&b).send().await.unwrap();
    c.put_object()
        .bucket(&b)
        .key("keep//me/../ü")
        .body(Vec::from("persisted").into())
        .content_type("text/plain")
        .metadata("m", "1")
        .tagging("t=v")
        .send()
        .await
        .unwrap();
    put(&c, &b, "overwritten", "old").await;
    put(&c, &b, "overwritten", "new").await;
    put(&c, &b, "deleted", "gone").await;
    c.delete_object()
        .bucket(&b)
        .key("deleted")
        .send()
        .await
        .unwrap();
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mpu")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let part = c
        .upload_part()
        .bucket(&b)
        .key("mpu")
        .upload_id(&upload_id)
        .part_number(1)
        .body(Vec::from("part one").into())
        .send()
        .await
        .unwrap();
    let before = c
        .head_object()
        .bucket(&b)
        .key("keep//me/../ü")
        .send()
        .await
        .unwrap();
    server.shutdown().await;

    // Stray files from an interrupted write are ignored and cleaned up.
    let bucket_dir = dir.path().join("buckets").join(&b);
    std::fs::write(
        bucket_dir.join("objects").join("deadbeef.0000.data"),
        "orphan",
    )
    .unwrap();
    std::fs::write(bucket_dir.join("tmp").join("half-written.tmp"), "partial").unwrap();

    let server = start_in(dir.path()).await;
    assert_eq!(server.access_key(), access_key);
    assert_eq!(
        server.secret_key(),
        secret_key,
        "the stored secret is reused"
    );
    let c = client(&server, RequestChecksumCalculation::WhenSupported);
    assert_eq!(get(&c, &b, "keep//me/../ü").await, b"persisted");
    let after = c
        .head_object()
        .bucket(&b)
        .key("keep//me/../ü")
        .send()
        .await
        .unwrap();
    assert_eq!(after.e_tag(), before.e_tag());
    assert_eq!(after.last_modified(), before.last_modified());
    assert_eq!(after.content_type(), Some("text/plain"));
    assert_eq!(after.metadata(), before.metadata());
    assert_eq!(
        c.get_object_tagging()
            .bucket(&b)
            .key("keep//me/../ü")
            .send()
            .await
            .unwrap()
            .tag_set()
            .len(),
        1
    );
    assert_eq!(get(&c, &b, "overwritten").await, b"new");
    assert_eq!(
        code(c.get_object().bucket(&b).key("deleted").send().await),
        "NoSuchKey"
    );
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(2));

    // The multipart upload survived and can be completed.
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mpu")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &b, "mpu").await, b"part one");

    // Only live data files remain.
    let data_files = std::fs::read_dir(bucket_dir.join("objects"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".data")
        })
        .count();
    assert_eq!(data_files, 3);
    assert_eq!(
        std::fs::read_dir(bucket_dir.join("tmp")).unwrap().count(),
        0
    );
    server.shutdown().await;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(".s3flow-local-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_output_never_shows_the_secret() {
    let t = TestServer::start().await;
    let secret = t.server.secret_key().to_owned();
    let text = format!("{:?}", t.server);
    assert!(!text.contains(&secret), "{text}");
    assert!(text.contains("***"));
    let config = s3flow_local::LocalConfig::new(t.dir.path());
    assert_eq!(config.secret_key, secret);
    let text = format!("{config:?}");
    assert!(!text.contains(&secret), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let body: Vec<u8> = (0..16 * 1024 * 1024u32).map(|i| (i % 249) as u8).collect();
    put(&c, &b, "big", body.clone()).await;
    let url = c
        .get_object()
        .bucket(&b)
        .key("big")
        .presigned(presign(60))
        .await
        .unwrap();

    let mut response = reqwest::get(url.uri()).await.unwrap();
    let mut received = response.chunk().await.unwrap().unwrap().to_vec();
    let endpoint = t.server.endpoint();
    let TestServer { server, dir: _dir } = t;
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the download");
    while let Some(chunk) = response.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
    }
    assert!(received == body, "the download in flight completed");
    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(format!("{endpoint}/")).await.is_err(),
        "no longer accepting"
    );
}

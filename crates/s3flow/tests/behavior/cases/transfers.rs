//! Large objects: multipart upload (file, memory, stream), parallel ranged download (file,
//! writer), abort on failure, multipart copy, checksums.

use std::pin::Pin;
use std::task::{Context, Poll};

use s3flow::actions::upload::{self, UploadInput};
use s3flow::transfer::{self, checksum};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

use crate::harness::Ctx;

const MIB: usize = 1024 * 1024;

/// Bytes that do not repeat with any part size (xorshift).
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
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

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A client with 5 MiB parts, so 40 MiB is 8 parts.
async fn small_parts(ctx: &Ctx) -> s3flow::Client {
    ctx.client_with(|c| {
        c.part_size = Some(5 * MIB as u64);
        c.upload_concurrency = Some(3);
        c.download_threads = Some(3);
    })
    .await
}

async fn pending_uploads(ctx: &Ctx) -> usize {
    let out = ctx.raw.list_multipart_uploads().bucket(&ctx.bucket).send().await.expect("list uploads");
    out.uploads().len()
}

pub async fn multipart_upload_large(ctx: &Ctx) {
    let client = small_parts(ctx).await;
    let body = pseudo_random(40 * MIB + 123, 7);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, &body).unwrap();

    // From a file.
    let input = json!({"bucket": ctx.bucket, "key": "big/file.bin", "file": path});
    let out = s3flow::actions::run_json(&client, "upload", input).await.expect("upload");
    assert_eq!(out["size"], body.len());
    assert_eq!(out["checksum"], json!({"algorithm": "CRC32", "value": checksum::encode(checksum::crc32(&body))}));
    let stored = ctx.get("big/file.bin").await.expect("stored");
    assert_eq!(sha256(&stored), sha256(&body));
    let etag = ctx.head("big/file.bin").await.e_tag().unwrap_or_default().to_owned();
    assert!(etag.trim_matches('"').ends_with("-9"), "9 parts of 5 MiB: {etag}");
    // The whole-object CRC32 asked for at upload is what the ranged download checks.
    let to = dir.path().join("back.bin");
    let back = s3flow::actions::run_json(&client, "download", json!({"bucket": ctx.bucket, "key": "big/file.bin", "as": "file", "to": to}))
        .await
        .expect("download");
    assert_eq!(sha256(&std::fs::read(&to).unwrap()), sha256(&body));
    if ctx.caps.full_object_checksum {
        assert_eq!(back["checksum"], out["checksum"], "{back}");
    } else {
        assert!(back.get("checksum").is_none_or(|c| c.is_null()), "{back}");
    }

    // From memory, and from a stream of unknown length.
    let input = UploadInput { bucket: Some(ctx.bucket.clone()), key: Some("big/bytes.bin".into()), bytes: Some(body.clone().into()), ..Default::default() };
    let out = upload::run(&client, input).await.expect("upload bytes");
    assert_eq!(out.size, body.len() as u64);
    assert_eq!(sha256(&ctx.get("big/bytes.bin").await.unwrap()), sha256(&body));
    let input = UploadInput { bucket: Some(ctx.bucket.clone()), key: Some("big/stream.bin".into()), ..Default::default() };
    let out = upload::run_stream(&client, input, std::io::Cursor::new(body.clone())).await.expect("upload stream");
    assert_eq!(out.size, body.len() as u64);
    assert_eq!(out.checksum.unwrap().value, checksum::encode(checksum::crc32(&body)));
    assert_eq!(sha256(&ctx.get("big/stream.bin").await.unwrap()), sha256(&body));
    assert_eq!(pending_uploads(ctx).await, 0);

    // A short stream is one PUT.
    let input = UploadInput { bucket: Some(ctx.bucket.clone()), key: Some("small.txt".into()), ..Default::default() };
    let out = upload::run_stream(&client, input, &b"hello"[..]).await.expect("small stream");
    assert_eq!(out.size, 5);
    assert_eq!(ctx.get("small.txt").await.unwrap(), b"hello");
}

/// Yields `good` bytes, then fails: the upload must abort, leaving nothing.
struct FailingReader {
    data: Vec<u8>,
    at: usize,
}

impl AsyncRead for FailingReader {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        if self.at >= self.data.len() {
            return Poll::Ready(Err(std::io::Error::other("the source broke")));
        }
        let n = buf.remaining().min(self.data.len() - self.at).min(64 * 1024);
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

pub async fn multipart_abort_leaves_nothing(ctx: &Ctx) {
    let client = small_parts(ctx).await;
    let reader = FailingReader { data: pseudo_random(12 * MIB, 3), at: 0 };
    let input = UploadInput { bucket: Some(ctx.bucket.clone()), key: Some("broken.bin".into()), ..Default::default() };
    let err = upload::run_stream(&client, input, reader).await.expect_err("the source fails");
    assert!(err.message.contains("the source broke"), "{err}");
    assert_eq!(pending_uploads(ctx).await, 0, "the multipart upload was aborted");
    assert!(ctx.get("broken.bin").await.is_none(), "no partial object");

    // A file that is too short for the size it had when the upload started.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, pseudo_random(20 * MIB, 4)).unwrap();
    let source = transfer::upload::Source::File { path: path.clone(), len: 25 * MIB as u64 };
    let fields = transfer::upload::ObjectFields::default();
    let err = transfer::upload::put(&client, &ctx.bucket, "short.bin", &fields, source).await.expect_err("short file");
    assert!(err.message.contains("changed size"), "{err}");
    assert_eq!(pending_uploads(ctx).await, 0);
    assert!(ctx.get("short.bin").await.is_none());
}

pub async fn parallel_download_large(ctx: &Ctx) {
    let client = small_parts(ctx).await;
    let body = pseudo_random(40 * MIB + 7, 11);
    ctx.put("big.bin", &body).await;
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("out.bin");
    let input = json!({"bucket": ctx.bucket, "key": "big.bin", "as": "file", "to": to});
    let out = s3flow::actions::run_json(&client, "download", input).await.expect("download");
    assert_eq!(out["size"], body.len());
    assert_eq!(sha256(&std::fs::read(&to).unwrap()), sha256(&body));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");

    // One download thread: one GET of the whole object, not a part at a time.
    let single = ctx
        .client_with(|c| {
            c.part_size = Some(5 * MIB as u64);
            c.download_threads = Some(1);
        })
        .await;
    let request = transfer::download::Request { bucket: ctx.bucket.clone(), key: "big.bin".into(), version_id: None };
    let to = dir.path().join("single.bin");
    let done = transfer::download::to_file(&single, &request, &to).await.expect("one stream");
    assert_eq!(done.ranges, 1);
    assert_eq!(sha256(&std::fs::read(&to).unwrap()), sha256(&body));
    std::fs::remove_file(&to).unwrap();

    // To a file, two ranges per thread when that beats the part size: 40 MiB over 2 threads
    // is 4 ranges of 10 MiB, not 9 parts of 5 MiB.
    let two = ctx
        .client_with(|c| {
            c.part_size = Some(5 * MIB as u64);
            c.download_threads = Some(2);
        })
        .await;
    let to = dir.path().join("two.bin");
    let done = transfer::download::to_file(&two, &request, &to).await.expect("two threads");
    assert_eq!(done.ranges, 4);
    assert_eq!(sha256(&std::fs::read(&to).unwrap()), sha256(&body));
    std::fs::remove_file(&to).unwrap();

    // To any writer, in order.
    let mut sink = Vec::new();
    let done = transfer::download::to_writer(&client, &request, &mut sink).await.expect("to writer");
    assert_eq!(done.ranges, 9);
    assert_eq!(sha256(&sink), sha256(&body));

    // What s3flow uploads carries a CRC32 the download checks and reports.
    let small = pseudo_random(100_000, 5);
    let input = UploadInput { bucket: Some(ctx.bucket.clone()), key: Some("small.bin".into()), bytes: Some(small.clone().into()), ..Default::default() };
    upload::run(&client, input).await.expect("upload small");
    let to = dir.path().join("small.bin");
    let out = s3flow::actions::run_json(&client, "download", json!({"bucket": ctx.bucket, "key": "small.bin", "as": "file", "to": to}))
        .await
        .expect("download small");
    assert_eq!(std::fs::read(&to).unwrap(), small);
    let expected = json!({"algorithm": "CRC32", "value": checksum::encode(checksum::crc32(&small))});
    assert_eq!(out["checksum"], expected, "{out}");
    let inline = s3flow::actions::run_json(&client, "download", json!({"bucket": ctx.bucket, "key": "small.bin", "as": "base64"}))
        .await
        .expect("inline download");
    assert_eq!(inline["checksum"], expected, "{inline}");
}

pub async fn multipart_copy_lowered_threshold(ctx: &Ctx) {
    let client = ctx
        .client_with(|c| {
            c.part_size = Some(5 * MIB as u64);
            c.multipart_copy_threshold = Some(MIB as u64);
        })
        .await;
    let body = pseudo_random(12 * MIB + 1, 13);
    ctx.raw
        .put_object()
        .bucket(&ctx.bucket)
        .key("src.bin")
        .content_type("application/x-test")
        .metadata("owner", "ann")
        .body(body.clone().into())
        .send()
        .await
        .expect("raw put");
    let input = json!({"source_bucket": ctx.bucket, "source_key": "src.bin", "bucket": ctx.bucket, "key": "dst.bin"});
    let out = s3flow::actions::run_json(&client, "copy", input).await.expect("copy");
    assert_eq!(out["key"], "dst.bin");
    assert_eq!(sha256(&ctx.get("dst.bin").await.unwrap()), sha256(&body));
    let head = ctx.head("dst.bin").await;
    assert!(head.e_tag().unwrap_or_default().trim_matches('"').ends_with("-3"), "{:?}", head.e_tag());
    assert_eq!(head.content_type(), Some("application/x-test"));
    assert_eq!(head.metadata().and_then(|m| m.get("owner")).map(String::as_str), Some("ann"));

    // Replacing the metadata works the same way in parts.
    let input = json!({"source_bucket": ctx.bucket, "source_key": "src.bin", "bucket": ctx.bucket, "key": "dst2.bin",
        "metadata": {"owner": "bob"}, "content_type": "text/plain"});
    s3flow::actions::run_json(&client, "copy", input).await.expect("copy with metadata");
    let head = ctx.head("dst2.bin").await;
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.metadata().and_then(|m| m.get("owner")).map(String::as_str), Some("bob"));
    assert_eq!(pending_uploads(ctx).await, 0);
}

pub async fn directory_upload_and_download(ctx: &Ctx) {
    use s3flow::transfer::dir::{self, DirOptions, Filter};
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("sub/deeper")).unwrap();
    std::fs::write(src.path().join("a.txt"), "a").unwrap();
    std::fs::write(src.path().join("sub/b.txt"), "bb").unwrap();
    std::fs::write(src.path().join("sub/deeper/c.log"), "ccc").unwrap();
    std::fs::write(src.path().join("skip.tmp"), "x").unwrap();
    let options = DirOptions { filter: Filter::new(&[], &["*.tmp".into()]).unwrap(), concurrency: Some(4), progress: None };
    let summary = dir::upload_dir(&ctx.client, src.path(), &ctx.bucket, "up/", &options).await.expect("upload dir");
    assert_eq!((summary.transferred, summary.failed, summary.bytes), (3, 0, 6), "{summary:?}");
    let mut keys = ctx.keys().await;
    keys.sort();
    assert_eq!(keys, ["up/a.txt", "up/sub/b.txt", "up/sub/deeper/c.log"]);

    let dest = tempfile::tempdir().unwrap();
    let options = DirOptions { filter: Filter::new(&["**/*.txt".into(), "*.txt".into()], &[]).unwrap(), ..Default::default() };
    let summary = dir::download_dir(&ctx.client, &ctx.bucket, "up/", dest.path(), &options).await.expect("download dir");
    assert_eq!((summary.transferred, summary.failed), (2, 0), "{summary:?}");
    assert_eq!(std::fs::read(dest.path().join("a.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read(dest.path().join("sub/b.txt")).unwrap(), b"bb");
    assert!(!dest.path().join("sub/deeper/c.log").exists(), "excluded by --include");
}

/// A folder of more objects than one listing page: the downloads start while later pages
/// are still being listed, and every object arrives. A listing that fails at once (no such
/// bucket) fails the transfer with its code.
pub async fn directory_download_spans_listing_pages(ctx: &Ctx) {
    use s3flow::transfer::dir::{self, DirOptions};
    let src = tempfile::tempdir().unwrap();
    let count = 1205;
    for i in 0..count {
        std::fs::write(src.path().join(format!("f{i:04}.txt")), format!("file {i}")).unwrap();
    }
    let options = DirOptions { concurrency: Some(64), ..Default::default() };
    let summary = dir::upload_dir(&ctx.client, src.path(), &ctx.bucket, "many/", &options).await.expect("upload dir");
    assert_eq!((summary.transferred, summary.failed), (count, 0), "{summary:?}");

    // Whole listings over two pages (each next page asked for while the one before is parsed),
    // one level and all levels, and a bounded one: every key once, in order.
    let expected: Vec<String> = (0..count).map(|i| format!("many/f{i:04}.txt")).collect();
    let keys = |listed: &serde_json::Value| -> Vec<String> {
        listed["objects"].as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap().to_owned()).collect()
    };
    for recursive in [true, false] {
        let listed = ctx.ok("list", serde_json::json!({"bucket": ctx.bucket, "prefix": "many/", "max": 0, "recursive": recursive})).await;
        assert_eq!((listed["count"].as_u64(), &listed["is_truncated"]), (Some(count), &serde_json::json!(false)));
        assert_eq!(keys(&listed), expected);
    }
    let bounded = ctx.ok("list", serde_json::json!({"bucket": ctx.bucket, "prefix": "many/", "max": 1100})).await;
    assert_eq!((bounded["count"].as_u64(), &bounded["is_truncated"]), (Some(1100), &serde_json::json!(true)));
    assert_eq!(keys(&bounded), expected[..1100]);

    let dest = tempfile::tempdir().unwrap();
    let summary = dir::download_dir(&ctx.client, &ctx.bucket, "many/", dest.path(), &options).await.expect("download dir");
    assert_eq!((summary.transferred, summary.failed), (count, 0), "{:?}", summary.errors.first());
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count() as u64, count, "no temporary file left");
    for i in [0, 999, 1000, 1204] {
        assert_eq!(std::fs::read_to_string(dest.path().join(format!("f{i:04}.txt"))).unwrap(), format!("file {i}"));
    }

    let missing = format!("{}-missing", ctx.bucket);
    let err = dir::download_dir(&ctx.client, &missing, "many/", dest.path(), &options).await.expect_err("no such bucket");
    assert_eq!(err.code, s3flow::ErrorCode::NotFound, "{err:?}");
}

/// Keys that would leave the target folder are refused and reported; the rest arrive.
pub async fn directory_download_refuses_escaping_keys(ctx: &Ctx) {
    use s3flow::transfer::dir::{self, DirOptions};
    let outer = tempfile::tempdir().unwrap();
    let dest = outer.path().join("dest");
    let outside = outer.path().join("outside");
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("planted")).unwrap();

    ctx.put("p/ok.txt", b"fine").await;
    ctx.put("p/sub/ok2.txt", b"fine too").await;
    ctx.put("p/planted/evil.txt", b"via a symlink").await;
    let mut bad = vec!["p/..\\evil.txt", "p/a\\..\\..\\evil.txt"];
    if ctx.caps.dot_segments {
        bad.extend(["p/../evil.txt", "p/sub/../../evil.txt"]);
    }
    if ctx.caps.double_slash {
        bad.push("p//abs.txt");
    }
    // Stores that refuse a key (SeaweedFS: `\\` with 400) cannot plant it: nothing to test.
    let mut planted = Vec::new();
    for key in bad {
        let put = ctx.raw.put_object().bucket(&ctx.bucket).key(key).body(b"evil".to_vec().into()).send().await;
        match put {
            Ok(_) => planted.push(key),
            Err(e) => ctx.skip(&format!("the store refuses the key {key:?}: {e}")),
        }
    }
    let bad = planted;
    let summary = dir::download_dir(&ctx.client, &ctx.bucket, "p/", &dest, &DirOptions::default()).await.expect("download dir");
    assert_eq!(summary.transferred, 2, "{summary:?}");
    assert_eq!(summary.failed as usize, bad.len() + 1, "{summary:?}");
    for key in bad.iter().chain(["p/planted/evil.txt"].iter()) {
        assert!(summary.errors.iter().any(|e| e.key.as_deref() == Some(*key)), "{key} reported: {summary:?}");
    }
    assert!(summary.errors.iter().all(|e| e.code == s3flow::ErrorCode::InvalidInput));
    assert_eq!(std::fs::read(dest.join("ok.txt")).unwrap(), b"fine");
    assert_eq!(std::fs::read(dest.join("sub/ok2.txt")).unwrap(), b"fine too");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing written through the symlink");
    assert!(!outer.path().join("evil.txt").exists());
}

/// Overwrites the object on its first write, while later ranges are still to come.
struct OverwritingWriter {
    raw: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    done: bool,
    written: usize,
}

impl tokio::io::AsyncWrite for OverwritingWriter {
    fn poll_write(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if !self.done {
            self.done = true;
            let (raw, bucket, key) = (self.raw.clone(), self.bucket.clone(), self.key.clone());
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move {
                    raw.put_object().bucket(bucket).key(key).body(b"new version".to_vec().into()).send().await.expect("overwrite");
                })
            });
        }
        self.written += buf.len();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Ranges are pinned to the ETag seen first: an overwrite mid-download fails it with
/// `precondition_failed` instead of mixing two versions.
pub async fn download_pinned_to_etag(ctx: &Ctx) {
    let client = ctx
        .client_with(|c| {
            c.part_size = Some(5 * MIB as u64);
            c.download_threads = Some(1);
        })
        .await;
    let body = pseudo_random(30 * MIB, 21);
    ctx.put("moving.bin", &body).await;
    let request = transfer::download::Request { bucket: ctx.bucket.clone(), key: "moving.bin".into(), version_id: None };
    let mut writer = OverwritingWriter { raw: ctx.raw.clone(), bucket: ctx.bucket.clone(), key: "moving.bin".into(), done: false, written: 0 };
    let err = transfer::download::to_writer(&client, &request, &mut writer).await.expect_err("the object changed");
    assert_eq!(err.code, s3flow::ErrorCode::PreconditionFailed, "{err}");
    assert!(writer.written < body.len(), "stopped before the end");
}

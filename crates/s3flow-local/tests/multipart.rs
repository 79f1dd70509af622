//! Multipart uploads against a real server.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{code, get, md5_hex, put, TestServer};
use s3s::crypto::Checksum as _;

const MIB: usize = 1024 * 1024;

fn data(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// ETag of a multipart object: MD5 of the concatenated binary part MD5s, then `-N`.
fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut md5 = s3s::crypto::Md5::new();
    for part in parts {
        md5.update(&s3s::crypto::Md5::checksum(part));
    }
    format!("\"{}-{}\"", hex::encode(md5.finalize()), parts.len())
}

fn completed(parts: &[(i32, &str)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, etag)| {
                    CompletedPart::builder()
                        .part_number(*n)
                        .e_tag(*etag)
                        .build()
                })
                .collect(),
        ))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_complete_and_read_back() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let key = "big/object with spaces+plus.bin";
    let created = c
        .create_multipart_upload()
        .bucket(&b)
        .key(key)
        .content_type("application/x-test")
        .metadata("origin", "multipart")
        .tagging("kind=mpu")
        .send()
        .await
        .unwrap();
    let upload_id = created.upload_id().unwrap().to_owned();

    let part1 = data(5 * MIB, 1);
    let part2 = data(5 * MIB + 17, 2);
    let part3 = data(1234, 3);
    let mut etags = Vec::new();
    // Out of order on purpose; part 2 uploaded twice (the second one counts).
    for (n, body) in [(3, &part3), (1, &part1), (2, &part3), (2, &part2)] {
        let out = c
            .upload_part()
            .bucket(&b)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(out.e_tag(), Some(format!("\"{}\"", md5_hex(body)).as_str()));
        etags.push((n, out.e_tag().unwrap().to_owned()));
    }
    let etag_of = |n: i32| etags.iter().rev().find(|(m, _)| *m == n).unwrap().1.clone();

    let parts = c
        .list_parts()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    let listed: Vec<(i32, i64)> = parts
        .parts()
        .iter()
        .map(|p| (p.part_number().unwrap(), p.size().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            (1, part1.len() as i64),
            (2, part2.len() as i64),
            (3, part3.len() as i64)
        ]
    );
    let page = c
        .list_parts()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .max_parts(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.parts().len(), 2);
    assert_eq!(page.is_truncated(), Some(true));
    let rest = c
        .list_parts()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .part_number_marker(page.next_part_number_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.parts().len(), 1);

    let uploads = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert_eq!(uploads.uploads().len(), 1);
    assert_eq!(uploads.uploads()[0].key(), Some(key));
    assert_eq!(uploads.uploads()[0].upload_id(), Some(upload_id.as_str()));

    // Not visible before completion.
    assert_eq!(
        code(c.get_object().bucket(&b).key(key).send().await),
        "NoSuchKey"
    );

    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(completed(&[
            (1, &etag_of(1)),
            (2, &etag_of(2)),
            (3, &etag_of(3)),
        ]))
        .send()
        .await
        .unwrap();
    let expected_etag = multipart_etag(&[&part1, &part2, &part3]);
    assert_eq!(done.e_tag(), Some(expected_etag.as_str()));

    let got = c.get_object().bucket(&b).key(key).send().await.unwrap();
    assert_eq!(got.e_tag(), Some(expected_etag.as_str()));
    assert_eq!(got.content_type(), Some("application/x-test"));
    assert_eq!(
        got.metadata().unwrap().get("origin").map(String::as_str),
        Some("multipart")
    );
    assert_eq!(got.tag_count(), Some(1));
    let body = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(body.len(), part1.len() + part2.len() + part3.len());
    assert!(body[..part1.len()] == part1[..]);
    assert!(body[part1.len()..part1.len() + part2.len()] == part2[..]);
    assert!(body[part1.len() + part2.len()..] == part3[..]);

    // GET ?partNumber=2 returns the second part.
    let part = c
        .get_object()
        .bucket(&b)
        .key(key)
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(part.parts_count(), Some(3));
    assert_eq!(part.content_length(), Some(part2.len() as i64));
    assert!(part.body.collect().await.unwrap().into_bytes().as_ref() == part2.as_slice());

    // The upload is gone.
    let uploads = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert!(uploads.uploads().is_empty());
    let result = c
        .list_parts()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .send()
        .await;
    assert_eq!(code(result), "NoSuchUpload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_is_validated() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key("v")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let small = data(1024, 9);
    let mut etags = Vec::new();
    for n in 1..=2 {
        let out = c
            .upload_part()
            .bucket(&b)
            .key("v")
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(small.clone()))
            .send()
            .await
            .unwrap();
        etags.push(out.e_tag().unwrap().to_owned());
    }
    let complete = |parts: CompletedMultipartUpload| {
        c.complete_multipart_upload()
            .bucket(&b)
            .key("v")
            .upload_id(&upload_id)
            .multipart_upload(parts)
            .send()
    };
    assert_eq!(
        code(complete(completed(&[(2, &etags[1]), (1, &etags[0])])).await),
        "InvalidPartOrder"
    );
    assert_eq!(
        code(complete(completed(&[(1, &etags[0]), (1, &etags[0])])).await),
        "InvalidPartOrder"
    );
    assert_eq!(
        code(complete(completed(&[(1, "\"0000\""), (2, &etags[1])])).await),
        "InvalidPart"
    );
    assert_eq!(
        code(complete(completed(&[(1, &etags[0]), (3, &etags[1])])).await),
        "InvalidPart"
    );
    assert_eq!(
        code(complete(completed(&[(1, &etags[0]), (2, &etags[1])])).await),
        "EntityTooSmall"
    );
    // A single small part is fine (the last part has no minimum).
    let done = complete(completed(&[(1, &etags[0])])).await.unwrap();
    assert_eq!(done.e_tag(), Some(multipart_etag(&[&small]).as_str()));
    assert_eq!(get(&c, &b, "v").await, small);

    let result = c
        .upload_part()
        .bucket(&b)
        .key("v")
        .upload_id("no-such-upload")
        .part_number(1)
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "NoSuchUpload");
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key("v")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let result = c
        .upload_part()
        .bucket(&b)
        .key("v")
        .upload_id(&upload_id)
        .part_number(10_001)
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "InvalidArgument");
    // The upload id belongs to another key.
    let result = c
        .upload_part()
        .bucket(&b)
        .key("other")
        .upload_id(&upload_id)
        .part_number(1)
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "NoSuchUpload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_removes_the_upload() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key("a")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    c.upload_part()
        .bucket(&b)
        .key("a")
        .upload_id(&upload_id)
        .part_number(1)
        .body(Vec::from("part").into())
        .send()
        .await
        .unwrap();
    c.abort_multipart_upload()
        .bucket(&b)
        .key("a")
        .upload_id(&upload_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(
            c.list_parts()
                .bucket(&b)
                .key("a")
                .upload_id(&upload_id)
                .send()
                .await
        ),
        "NoSuchUpload"
    );
    assert_eq!(
        code(
            c.abort_multipart_upload()
                .bucket(&b)
                .key("a")
                .upload_id(&upload_id)
                .send()
                .await
        ),
        "NoSuchUpload"
    );
    assert!(c
        .list_multipart_uploads()
        .bucket(&b)
        .send()
        .await
        .unwrap()
        .uploads()
        .is_empty());
    assert_eq!(
        code(c.get_object().bucket(&b).key("a").send().await),
        "NoSuchKey"
    );
    // Nothing left on disk but the bucket's own folders.
    let uploads_dir = t.dir.path().join("buckets").join(&b).join("uploads");
    assert_eq!(std::fs::read_dir(uploads_dir).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_with_ranges() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let source = data(6 * MIB, 5);
    put(&c, &b, "source key+?", source.clone()).await;
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key("assembled")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let copy_source = format!("{b}/source%20key%2B%3F");
    let first = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&upload_id)
        .part_number(1)
        .copy_source(&copy_source)
        .copy_source_range(format!("bytes=0-{}", 5 * MIB - 1))
        .send()
        .await
        .unwrap();
    let second = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&upload_id)
        .part_number(2)
        .copy_source(&copy_source)
        .copy_source_range(format!("bytes={}-{}", 5 * MIB, 6 * MIB - 1))
        .send()
        .await
        .unwrap();
    let etag1 = first
        .copy_part_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    let etag2 = second
        .copy_part_result()
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    assert_eq!(etag1, format!("\"{}\"", md5_hex(&source[..5 * MIB])));
    let out_of_range = c
        .upload_part_copy()
        .bucket(&b)
        .key("assembled")
        .upload_id(&upload_id)
        .part_number(3)
        .copy_source(&copy_source)
        .copy_source_range(format!("bytes=0-{}", 6 * MIB))
        .send()
        .await;
    assert_eq!(code(out_of_range), "InvalidRange");
    c.complete_multipart_upload()
        .bucket(&b)
        .key("assembled")
        .upload_id(&upload_id)
        .multipart_upload(completed(&[(1, &etag1), (2, &etag2)]))
        .send()
        .await
        .unwrap();
    assert!(get(&c, &b, "assembled").await == source);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_multipart_uploads_with_prefix_delimiter_and_markers() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let mut ids = Vec::new();
    for key in ["a/1", "a/2", "b", "b", "c/d/e"] {
        let id = c
            .create_multipart_upload()
            .bucket(&b)
            .key(key)
            .send()
            .await
            .unwrap()
            .upload_id()
            .unwrap()
            .to_owned();
        ids.push((key, id));
    }
    let all = c.list_multipart_uploads().bucket(&b).send().await.unwrap();
    assert_eq!(all.uploads().len(), 5);
    let page = c
        .list_multipart_uploads()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["a/", "c/"]);
    assert_eq!(page.uploads().len(), 2);
    let page = c
        .list_multipart_uploads()
        .bucket(&b)
        .prefix("a/")
        .send()
        .await
        .unwrap();
    assert_eq!(page.uploads().len(), 2);

    // Paging with max-uploads and the key/upload-id markers visits each upload once.
    let mut seen = Vec::new();
    let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = c
            .list_multipart_uploads()
            .bucket(&b)
            .max_uploads(2)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.uploads()
                .iter()
                .map(|u| u.upload_id().unwrap().to_owned()),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        id_marker = page.next_upload_id_marker().map(str::to_owned);
    }
    let mut expected: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
}

/// A `FULL_OBJECT` CRC32 named at completion is checked against the assembled object: a wrong
/// one is `BadDigest` and leaves no object (the upload stays open); the right one is stored and
/// returned by HEAD with its type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_object_crc32_is_checked_and_kept() {
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ChecksumType};
    use base64::Engine as _;
    let crc32 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(s3s::crypto::Crc32::checksum(data));
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let key = "full.bin";
    let upload_id = c
        .create_multipart_upload()
        .bucket(&b)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let (part1, part2) = (data(5 * MIB, 4), data(999, 5));
    let mut etags = Vec::new();
    for (n, body) in [(1, &part1), (2, &part2)] {
        let out = c
            .upload_part()
            .bucket(&b)
            .key(key)
            .upload_id(&upload_id)
            .part_number(n)
            .checksum_crc32(crc32(body))
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        etags.push(out.e_tag().unwrap().to_owned());
    }
    let parts = completed(&[(1, &etags[0]), (2, &etags[1])]);
    let whole = [part1.as_slice(), part2.as_slice()].concat();

    let wrong = c
        .complete_multipart_upload()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .checksum_type(ChecksumType::FullObject)
        .checksum_crc32(crc32(b"something else"))
        .multipart_upload(parts.clone())
        .send()
        .await;
    assert_eq!(code(wrong), "BadDigest");
    assert_eq!(code(c.head_object().bucket(&b).key(key).send().await), "NotFound");

    c.complete_multipart_upload()
        .bucket(&b)
        .key(key)
        .upload_id(&upload_id)
        .checksum_type(ChecksumType::FullObject)
        .checksum_crc32(crc32(&whole))
        .multipart_upload(parts)
        .send()
        .await
        .unwrap();
    let head = c.head_object().bucket(&b).key(key).checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
    assert_eq!(head.checksum_crc32(), Some(crc32(&whole).as_str()));
    assert_eq!(head.checksum_type(), Some(&ChecksumType::FullObject));
    assert_eq!(get(&c, &b, key).await, whole);
}

//! ListObjectsV2 and ListObjects against a real server.

mod common;

use aws_sdk_s3::types::EncodingType;
use common::{code, put, TestServer};
use percent_encoding::percent_decode_str;

/// Puts `keys` concurrently (the listing tests need thousands).
async fn put_all(c: &aws_sdk_s3::Client, bucket: &str, keys: &[String]) {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in keys.chunks(keys.len().div_ceil(16).max(1)) {
        let (c, bucket, chunk) = (c.clone(), bucket.to_owned(), chunk.to_vec());
        tasks.spawn(async move {
            for key in chunk {
                put(&c, &bucket, &key, "x").await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// Lists everything with a delimiter, page by page; returns (keys, prefixes, pages).
async fn list_all_v2(
    c: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: Option<&str>,
    delimiter: Option<&str>,
    max_keys: i32,
) -> (Vec<String>, Vec<String>, usize) {
    let mut keys = Vec::new();
    let mut prefixes = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = c
            .list_objects_v2()
            .bucket(bucket)
            .set_prefix(prefix.map(str::to_owned))
            .set_delimiter(delimiter.map(str::to_owned))
            .max_keys(max_keys)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        let count = page.contents().len() + page.common_prefixes().len();
        assert!(
            count <= max_keys as usize,
            "page of {count} > max-keys {max_keys}"
        );
        assert_eq!(page.key_count(), Some(count as i32));
        keys.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        prefixes.extend(
            page.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_owned()),
        );
        if page.is_truncated() == Some(true) {
            token = Some(
                page.next_continuation_token()
                    .expect("a token when truncated")
                    .to_owned(),
            );
        } else {
            assert!(page.next_continuation_token().is_none());
            break;
        }
        assert!(pages < 10_000, "listing does not end");
    }
    (keys, prefixes, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_1000_keys_with_delimiter_and_continuation() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    // 1,200 keys at the top level, 300 under 30 folders, and odd ones.
    let mut keys: Vec<String> = (0..1200).map(|i| format!("top-{i:05}")).collect();
    for folder in 0..30 {
        for i in 0..10 {
            keys.push(format!("dir-{folder:02}/file {i}"));
        }
    }
    keys.extend([
        "dir-05//double".to_owned(),
        "dir-05/sub/deep".to_owned(),
        "zz/ü/x".to_owned(),
        "/root".to_owned(),
    ]);
    put_all(&c, &b, &keys).await;
    let mut sorted = keys.clone();
    sorted.sort();

    // Default page size: 1,000, then the rest.
    let first = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(first.contents().len(), 1000);
    assert_eq!(first.is_truncated(), Some(true));
    assert_eq!(first.max_keys(), Some(1000));

    // Recursive, small pages: every key once, in order.
    let (listed, prefixes, pages) = list_all_v2(&c, &b, None, None, 77).await;
    assert_eq!(listed, sorted);
    assert!(prefixes.is_empty());
    assert_eq!(pages, sorted.len().div_ceil(77));

    // max-keys above 1,000 is capped at 1,000.
    let capped = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(5000)
        .send()
        .await
        .unwrap();
    assert_eq!(capped.contents().len(), 1000);

    // One level: top-level keys plus one common prefix per folder, counted in max-keys,
    // each returned once even when a folder spans pages.
    let (listed, prefixes, _) = list_all_v2(&c, &b, None, Some("/"), 7).await;
    let mut expected_keys: Vec<String> =
        keys.iter().filter(|k| !k.contains('/')).cloned().collect();
    expected_keys.sort();
    assert_eq!(listed, expected_keys);
    let mut expected_prefixes: Vec<String> = (0..30).map(|f| format!("dir-{f:02}/")).collect();
    expected_prefixes.insert(0, "/".to_owned());
    expected_prefixes.push("zz/".to_owned());
    assert_eq!(prefixes, expected_prefixes);

    // Inside a folder, `//` makes its own common prefix.
    let (listed, prefixes, _) = list_all_v2(&c, &b, Some("dir-05/"), Some("/"), 3).await;
    assert_eq!(listed.len(), 10);
    assert!(listed.iter().all(|k| k.starts_with("dir-05/file ")));
    assert_eq!(prefixes, ["dir-05//", "dir-05/sub/"]);

    // A prefix that is not a folder.
    let (listed, _, _) = list_all_v2(&c, &b, Some("top-0119"), None, 1000).await;
    assert_eq!(listed.len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_after_and_v1_marker() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let keys: Vec<String> = (0..25).map(|i| format!("k{i:02}")).collect();
    put_all(&c, &b, &keys).await;

    let page = c
        .list_objects_v2()
        .bucket(&b)
        .start_after("k09")
        .max_keys(5)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = page.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(got, ["k10", "k11", "k12", "k13", "k14"]);
    assert_eq!(page.start_after(), Some("k09"));
    // A start-after before the prefix starts at the prefix.
    let page = c
        .list_objects_v2()
        .bucket(&b)
        .prefix("k2")
        .start_after("a")
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents().len(), 5);

    // ListObjects (v1) with markers.
    let mut marker: Option<String> = None;
    let mut listed = Vec::new();
    loop {
        let page = c
            .list_objects()
            .bucket(&b)
            .max_keys(10)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        listed.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        assert!(page.contents().iter().all(|o| o.owner().is_some()));
        if page.is_truncated() != Some(true) {
            break;
        }
        marker = Some(page.next_marker().expect("next marker").to_owned());
    }
    assert_eq!(listed, keys);

    assert_eq!(
        code(
            c.list_objects_v2()
                .bucket(&b)
                .continuation_token("!!not-a-token")
                .send()
                .await
        ),
        "InvalidArgument"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_carry_size_etag_date_and_owner_on_request() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "a", "12345").await;
    let page = c.list_objects_v2().bucket(&b).send().await.unwrap();
    let object = &page.contents()[0];
    assert_eq!(object.size(), Some(5));
    assert_eq!(
        object.e_tag(),
        Some(format!("\"{}\"", common::md5_hex(b"12345")).as_str())
    );
    assert!(object.last_modified().is_some());
    assert_eq!(object.storage_class().map(|s| s.as_str()), Some("STANDARD"));
    assert!(object.owner().is_none());
    let page = c
        .list_objects_v2()
        .bucket(&b)
        .fetch_owner(true)
        .send()
        .await
        .unwrap();
    assert!(page.contents()[0].owner().and_then(|o| o.id()).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_encoding_type_round_trips_odd_keys() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let keys = ["a b+c", "ctrl\u{1}char", "amp&<lt>", "ü/x y"].map(str::to_owned);
    put_all(&c, &b, &keys).await;
    let page = c
        .list_objects_v2()
        .bucket(&b)
        .encoding_type(EncodingType::Url)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(page.encoding_type(), Some(&EncodingType::Url));
    let decode = |s: &str| percent_decode_str(s).decode_utf8().unwrap().into_owned();
    let mut got: Vec<String> = page
        .contents()
        .iter()
        .map(|o| decode(o.key().unwrap()))
        .collect();
    got.sort();
    let mut expected: Vec<String> = keys.iter().filter(|k| !k.contains('/')).cloned().collect();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(
        page.common_prefixes()[0].prefix().map(decode),
        Some("ü/".to_owned())
    );
    // Encoded forms never contain raw spaces or '+'.
    assert!(page
        .contents()
        .iter()
        .all(|o| !o.key().unwrap().contains([' ', '+'])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_bucket_and_max_keys_zero() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let page = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(page.key_count(), Some(0));
    assert_eq!(page.is_truncated(), Some(false));
    put(&c, &b, "x", "y").await;
    let page = c
        .list_objects_v2()
        .bucket(&b)
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert_eq!(page.key_count(), Some(0));
    assert!(page.contents().is_empty());
}

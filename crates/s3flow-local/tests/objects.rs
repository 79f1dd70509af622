//! Object actions against a real server: put/get/head/delete, ranges, conditions, metadata,
//! tagging, ACLs, copies, and keys that must round-trip byte for byte.

mod common;

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    ChecksumMode, Delete, MetadataDirective, ObjectCannedAcl, ObjectIdentifier, Permission,
    StorageClass, Tag, Tagging, TaggingDirective,
};
use common::{code, get, md5_hex, put, status, TestServer};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Every special key of the product contract (§2 "Keys are sent exactly as given").
fn special_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "with space",
        "plus+sign",
        "a+b c",
        "equals=sign",
        "colon:here",
        "paren(open",
        "paren)close",
        "amp&ersand",
        "dollar$sign",
        "at@sign",
        "comma,here",
        "semi;colon",
        "question?mark",
        "hash#tag",
        "percent%20literal",
        "percent%",
        "unicode/日本語/ü/😀",
        "double//slash",
        "a///b",
        "/leading-slash",
        "//two-leading",
        "trailing-slash/",
        "a/../b",
        "./x",
        "../up",
        "a/./b",
        ".",
        "..",
        "tab\tand\nnewline",
        "quote\"apostrophe'",
        "angle<brackets>&amp;",
        "back\\slash",
        "~tilde*star!bang",
        "[brackets]{braces}|pipe^caret`tick",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    // The longest key S3 accepts: 1,024 bytes (here with multi-byte characters too).
    let mut long = "ü/".repeat(100);
    long.push_str(&"k".repeat(1024 - long.len()));
    assert_eq!(long.len(), 1024);
    keys.push(long);
    keys
}

/// `x-amz-copy-source` is `bucket/key`, URL-encoded (the SDK sends it as given).
fn copy_source(bucket: &str, key: &str) -> String {
    const SET: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    format!("{bucket}/{}", utf8_percent_encode(key, SET))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_head_with_metadata_and_headers() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let body = b"hello local s3".to_vec();
    let expires = DateTime::from_secs(2_000_000_000);
    let put = c
        .put_object()
        .bucket(&b)
        .key("docs/hello.txt")
        .body(ByteStream::from(body.clone()))
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"hello.txt\"")
        .content_encoding("identity")
        .content_language("en")
        .expires(expires)
        .metadata("owner", "Ada")
        .metadata("x-mixed-Case", "value with spaces")
        .tagging("project=s3flow&team=a%20b")
        .storage_class(StorageClass::StandardIa)
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let etag = format!("\"{}\"", md5_hex(&body));
    assert_eq!(put.e_tag(), Some(etag.as_str()));

    let got = c
        .get_object()
        .bucket(&b)
        .key("docs/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_length(), Some(body.len() as i64));
    assert_eq!(got.content_type(), Some("text/plain; charset=utf-8"));
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert_eq!(got.cache_control(), Some("max-age=60"));
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"hello.txt\"")
    );
    assert_eq!(got.content_encoding(), Some("identity"));
    assert_eq!(got.content_language(), Some("en"));
    assert_eq!(got.expires_string(), Some("Wed, 18 May 2033 03:33:20 GMT"));
    assert_eq!(
        got.metadata().unwrap().get("owner").map(String::as_str),
        Some("Ada")
    );
    assert_eq!(
        got.metadata()
            .unwrap()
            .get("x-mixed-case")
            .map(String::as_str),
        Some("value with spaces")
    );
    assert_eq!(got.storage_class(), Some(&StorageClass::StandardIa));
    assert_eq!(got.tag_count(), Some(2));
    assert_eq!(got.accept_ranges(), Some("bytes"));
    let last_modified = got.last_modified().unwrap().secs();
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        body.as_slice()
    );

    let head = c
        .head_object()
        .bucket(&b)
        .key("docs/hello.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    assert_eq!(head.last_modified().unwrap().secs(), last_modified);
    assert_eq!(
        head.metadata().unwrap().get("owner").map(String::as_str),
        Some("Ada")
    );

    let tags = c
        .get_object_tagging()
        .bucket(&b)
        .key("docs/hello.txt")
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = tags
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("project".to_owned(), "s3flow".to_owned()),
            ("team".to_owned(), "a b".to_owned())
        ]
    );

    let acl = c
        .get_object_acl()
        .bucket(&b)
        .key("docs/hello.txt")
        .send()
        .await
        .unwrap();
    assert!(acl
        .grants()
        .iter()
        .any(|g| g.permission() == Some(&Permission::FullControl)));
    assert!(acl
        .grants()
        .iter()
        .any(|g| g.permission() == Some(&Permission::Read)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_defaults_like_s3_and_empty_objects_work() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    // The SDK always sends a Content-Type; a raw (pre-signed) PUT need not.
    let presigned = c
        .put_object()
        .bucket(&b)
        .key("no-type")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(
                60,
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .put(presigned.uri())
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let head = c
        .head_object()
        .bucket(&b)
        .key("no-type")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("binary/octet-stream"));
    assert!(head.storage_class().is_none(), "STANDARD is not echoed");

    put(&c, &b, "empty", Vec::new()).await;
    let got = c.get_object().bucket(&b).key("empty").send().await.unwrap();
    assert_eq!(got.content_length(), Some(0));
    assert_eq!(got.e_tag(), Some("\"d41d8cd98f00b204e9800998ecf8427e\""));
    assert!(got.body.collect().await.unwrap().into_bytes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn special_keys_round_trip_exactly() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let other = t.bucket().await;
    let keys = special_keys();
    for (i, key) in keys.iter().enumerate() {
        put(&c, &b, key, format!("body {i}")).await;
    }
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            get(&c, &b, key).await,
            format!("body {i}").into_bytes(),
            "GET {key:?}"
        );
        let head = c.head_object().bucket(&b).key(key).send().await.unwrap();
        assert_eq!(
            head.content_length(),
            Some(format!("body {i}").len() as i64),
            "HEAD {key:?}"
        );
    }

    // Listing returns every key exactly (no normalisation of //, ./, ../, leading /).
    let mut listed = Vec::new();
    let mut pages = c.list_objects_v2().bucket(&b).into_paginator().send();
    while let Some(page) = pages.next().await {
        listed.extend(
            page.unwrap()
                .contents()
                .iter()
                .map(|o| o.key().unwrap().to_owned()),
        );
    }
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(listed, expected);

    // Copy with a special source key, into another bucket and onto another special key.
    for (i, key) in keys.iter().enumerate() {
        c.copy_object()
            .bucket(&other)
            .key(key)
            .copy_source(copy_source(&b, key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("copy {key:?}: {e:?}"));
        assert_eq!(
            get(&c, &other, key).await,
            format!("body {i}").into_bytes(),
            "copied {key:?}"
        );
    }

    // Deleting one special key leaves its look-alikes.
    c.delete_object()
        .bucket(&b)
        .key("a/../b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(c.get_object().bucket(&b).key("a/../b").send().await),
        "NoSuchKey"
    );
    assert_eq!(
        code(c.get_object().bucket(&b).key("b").send().await),
        "NoSuchKey"
    );
    assert!(!get(&c, &b, "./x").await.is_empty());
    assert_eq!(
        code(c.get_object().bucket(&b).key("double/slash").send().await),
        "NoSuchKey"
    );
    assert_eq!(
        code(c.get_object().bucket(&b).key("leading-slash").send().await),
        "NoSuchKey"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_over_1024_bytes_are_refused() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let key = "k".repeat(1025);
    let result = c
        .put_object()
        .bucket(&b)
        .key(&key)
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "KeyTooLongError");
    let key = format!("{}ü", "k".repeat(1023)); // 1,025 bytes, 1,024 characters
    let result = c
        .put_object()
        .bucket(&b)
        .key(&key)
        .body(Vec::from("x").into())
        .send()
        .await;
    assert_eq!(code(result), "KeyTooLongError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let body: Vec<u8> = (0..100u8).collect();
    put(&c, &b, "r", body.clone()).await;

    for (range, expected, content_range) in [
        ("bytes=0-9", &body[0..10], "bytes 0-9/100"),
        ("bytes=90-", &body[90..], "bytes 90-99/100"),
        ("bytes=-5", &body[95..], "bytes 95-99/100"),
        ("bytes=50-1000", &body[50..], "bytes 50-99/100"),
        ("bytes=-1000", &body[..], "bytes 0-99/100"),
    ] {
        let got = c
            .get_object()
            .bucket(&b)
            .key("r")
            .range(range)
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_range(), Some(content_range), "{range}");
        assert_eq!(got.content_length(), Some(expected.len() as i64), "{range}");
        assert_eq!(
            got.body.collect().await.unwrap().into_bytes().as_ref(),
            expected,
            "{range}"
        );
    }
    let result = c
        .get_object()
        .bucket(&b)
        .key("r")
        .range("bytes=100-")
        .send()
        .await;
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("r")
                .range("bytes=200-300")
                .send()
                .await
        ),
        416
    );
    assert_eq!(code(result), "InvalidRange");
    // Malformed Range headers are refused by s3s while parsing the request (S3 would ignore
    // them and send the whole object): a known, documented difference.
    for bad in ["bytes=5-2", "bytes=abc", "items=0-1"] {
        let result = c.get_object().bucket(&b).key("r").range(bad).send().await;
        assert_eq!(code(result), "InvalidArgument", "{bad}");
    }

    // A whole-object GET is a 200 without Content-Range.
    let http = reqwest::Client::new();
    let presigned = c
        .get_object()
        .bucket(&b)
        .key("r")
        .presigned(
            aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(
                60,
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    let response = http
        .get(presigned.uri())
        .header("range", "bytes=1-2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 206);
    assert_eq!(response.headers()["content-range"], "bytes 1-2/100");
    assert_eq!(response.bytes().await.unwrap().as_ref(), &body[1..3]);
    let response = http.get(presigned.uri()).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.headers().get("content-range").is_none());
    assert_eq!(response.headers()["content-length"], "100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_header_overrides() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "o", "data").await;
    let got = c
        .get_object()
        .bucket(&b)
        .key("o")
        .response_content_type("application/x-custom")
        .response_content_disposition("attachment; filename=\"x y.bin\"")
        .response_cache_control("no-store")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("application/x-custom"));
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"x y.bin\"")
    );
    assert_eq!(got.cache_control(), Some("no-store"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_reads_and_writes() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "c", "v1").await;
    let etag = format!("\"{}\"", md5_hex(b"v1"));
    let past = DateTime::from_secs(1_000_000_000);
    let future = DateTime::from_secs(4_000_000_000);

    c.get_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_match("\"nope\"")
                .send()
                .await
        ),
        412
    );
    assert_eq!(
        code(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_match("\"nope\"")
                .send()
                .await
        ),
        "PreconditionFailed"
    );
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_none_match(&etag)
                .send()
                .await
        ),
        304
    );
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_none_match("\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_modified_since(future)
                .send()
                .await
        ),
        304
    );
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_modified_since(past)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_unmodified_since(past)
                .send()
                .await
        ),
        412
    );
    c.get_object()
        .bucket(&b)
        .key("c")
        .if_unmodified_since(future)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status(
            c.head_object()
                .bucket(&b)
                .key("c")
                .if_none_match(&etag)
                .send()
                .await
        ),
        304
    );
    // If-Modified-Since our own Last-Modified: not modified (second precision).
    let last_modified = c
        .head_object()
        .bucket(&b)
        .key("c")
        .send()
        .await
        .unwrap()
        .last_modified()
        .copied()
        .unwrap();
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("c")
                .if_modified_since(last_modified)
                .send()
                .await
        ),
        304
    );

    // Create-only and compare-and-swap writes.
    let result = c
        .put_object()
        .bucket(&b)
        .key("c")
        .if_none_match("*")
        .body(Vec::from("v2").into())
        .send()
        .await;
    assert_eq!(code(result), "PreconditionFailed");
    c.put_object()
        .bucket(&b)
        .key("new")
        .if_none_match("*")
        .body(Vec::from("n").into())
        .send()
        .await
        .unwrap();
    let result = c
        .put_object()
        .bucket(&b)
        .key("c")
        .if_match("\"nope\"")
        .body(Vec::from("v2").into())
        .send()
        .await;
    assert_eq!(code(result), "PreconditionFailed");
    c.put_object()
        .bucket(&b)
        .key("c")
        .if_match(&etag)
        .body(Vec::from("v2").into())
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &b, "c").await, b"v2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_md5_is_checked() {
    use base64::Engine as _;
    use s3s::crypto::Checksum as _;
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let good = base64::engine::general_purpose::STANDARD.encode(s3s::crypto::Md5::checksum(b"abc"));
    c.put_object()
        .bucket(&b)
        .key("m")
        .content_md5(&good)
        .body(Vec::from("abc").into())
        .send()
        .await
        .unwrap();
    let bad = base64::engine::general_purpose::STANDARD.encode(s3s::crypto::Md5::checksum(b"abd"));
    let result = c
        .put_object()
        .bucket(&b)
        .key("m")
        .content_md5(bad)
        .body(Vec::from("abc").into())
        .send()
        .await;
    assert_eq!(code(result), "BadDigest");
    assert_eq!(
        get(&c, &b, "m").await,
        b"abc",
        "a refused PUT leaves the old object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_object_and_missing_keys() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "d", "x").await;
    c.delete_object().bucket(&b).key("d").send().await.unwrap();
    assert_eq!(
        code(c.get_object().bucket(&b).key("d").send().await),
        "NoSuchKey"
    );
    // Deleting a missing key succeeds, as on S3.
    c.delete_object().bucket(&b).key("d").send().await.unwrap();
    c.delete_object()
        .bucket(&b)
        .key("never existed")
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_quiet_and_verbose() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let keys: Vec<String> = (0..1000).map(|i| format!("del/{i:04} +?#")).collect();
    for key in keys.iter().take(20) {
        put(&c, &b, key, "x").await;
    }
    let ids = |keys: &[String]| -> Vec<ObjectIdentifier> {
        keys.iter()
            .map(|k| ObjectIdentifier::builder().key(k).build().unwrap())
            .collect()
    };

    // Verbose: every key reported deleted, present or not, exactly as sent.
    let verbose = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&keys[..10])))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut deleted: Vec<&str> = verbose.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort_unstable();
    assert_eq!(
        deleted,
        keys[..10].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(verbose.errors().is_empty());

    // Quiet, with 1,000 keys (the maximum): nothing reported.
    let quiet = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&keys)))
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(quiet.deleted().is_empty());
    assert!(quiet.errors().is_empty());
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));

    // 1,001 keys are refused.
    let mut too_many = keys.clone();
    too_many.push("one more".to_owned());
    let result = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .set_objects(Some(ids(&too_many)))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(result), "MalformedXML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_with_metadata_and_tagging_directives() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let other = t.bucket().await;
    c.put_object()
        .bucket(&b)
        .key("src")
        .body(Vec::from("payload").into())
        .content_type("text/plain")
        .metadata("a", "1")
        .tagging("t=1")
        .send()
        .await
        .unwrap();
    let etag = format!("\"{}\"", md5_hex(b"payload"));

    // COPY (default): metadata, content type and tags come along; other bucket.
    let copied = c
        .copy_object()
        .bucket(&other)
        .key("dst")
        .copy_source(copy_source(&b, "src"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        copied.copy_object_result().and_then(|r| r.e_tag()),
        Some(etag.as_str())
    );
    let head = c
        .head_object()
        .bucket(&other)
        .key("dst")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(
        head.metadata().unwrap().get("a").map(String::as_str),
        Some("1")
    );
    assert_eq!(head.e_tag(), Some(etag.as_str()));
    let tags = c
        .get_object_tagging()
        .bucket(&other)
        .key("dst")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1);

    // REPLACE: metadata and content type from the request; tags replaced too.
    c.copy_object()
        .bucket(&b)
        .key("dst2")
        .copy_source(copy_source(&b, "src"))
        .metadata_directive(MetadataDirective::Replace)
        .metadata("b", "2")
        .content_type("application/json")
        .tagging_directive(TaggingDirective::Replace)
        .tagging("x=y&z=w")
        .send()
        .await
        .unwrap();
    let head = c.head_object().bucket(&b).key("dst2").send().await.unwrap();
    assert_eq!(head.content_type(), Some("application/json"));
    let metadata = head.metadata().unwrap();
    assert_eq!(metadata.get("b").map(String::as_str), Some("2"));
    assert!(metadata.get("a").is_none());
    let tags = c
        .get_object_tagging()
        .bucket(&b)
        .key("dst2")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 2);
    assert_eq!(get(&c, &b, "dst2").await, b"payload");

    // Replacing the metadata of an object in place is allowed; copying it onto itself
    // unchanged is not.
    c.copy_object()
        .bucket(&b)
        .key("src")
        .copy_source(copy_source(&b, "src"))
        .metadata_directive(MetadataDirective::Replace)
        .metadata("a", "changed")
        .send()
        .await
        .unwrap();
    let head = c.head_object().bucket(&b).key("src").send().await.unwrap();
    assert_eq!(
        head.metadata().unwrap().get("a").map(String::as_str),
        Some("changed")
    );
    assert_eq!(get(&c, &b, "src").await, b"payload");
    let result = c
        .copy_object()
        .bucket(&b)
        .key("src")
        .copy_source(copy_source(&b, "src"))
        .send()
        .await;
    assert_eq!(code(result), "InvalidRequest");

    // Copy-source conditions and missing sources.
    let result = c
        .copy_object()
        .bucket(&b)
        .key("dst3")
        .copy_source(copy_source(&b, "src"))
        .copy_source_if_match("\"nope\"")
        .send()
        .await;
    assert_eq!(code(result), "PreconditionFailed");
    let result = c
        .copy_object()
        .bucket(&b)
        .key("dst3")
        .copy_source(copy_source(&b, "missing"))
        .send()
        .await;
    assert_eq!(code(result), "NoSuchKey");
    let result = c
        .copy_object()
        .bucket(&b)
        .key("dst3")
        .copy_source(copy_source("missing-bucket", "src"))
        .send()
        .await;
    assert_eq!(code(result), "NoSuchBucket");
    let result = c
        .copy_object()
        .bucket("missing-bucket")
        .key("dst3")
        .copy_source(copy_source(&b, "src"))
        .send()
        .await;
    assert_eq!(code(result), "NoSuchBucket");

    // Overwriting the source later does not change the copy.
    put(&c, &b, "src", "new payload").await;
    assert_eq!(get(&c, &other, "dst").await, b"payload");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagging_put_get_delete() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "t", "x").await;
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("k 1").value("v+1").build().unwrap())
        .tag_set(Tag::builder().key("k2").value("").build().unwrap())
        .build()
        .unwrap();
    c.put_object_tagging()
        .bucket(&b)
        .key("t")
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let got = c
        .get_object_tagging()
        .bucket(&b)
        .key("t")
        .send()
        .await
        .unwrap();
    let pairs: Vec<(&str, &str)> = got.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(pairs, [("k 1", "v+1"), ("k2", "")]);
    assert_eq!(
        c.get_object()
            .bucket(&b)
            .key("t")
            .send()
            .await
            .unwrap()
            .tag_count(),
        Some(2)
    );

    c.delete_object_tagging()
        .bucket(&b)
        .key("t")
        .send()
        .await
        .unwrap();
    assert!(c
        .get_object_tagging()
        .bucket(&b)
        .key("t")
        .send()
        .await
        .unwrap()
        .tag_set()
        .is_empty());

    let too_many = Tagging::builder()
        .set_tag_set(Some(
            (0..11)
                .map(|i| {
                    Tag::builder()
                        .key(format!("k{i}"))
                        .value("v")
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .build()
        .unwrap();
    assert_eq!(
        code(
            c.put_object_tagging()
                .bucket(&b)
                .key("t")
                .tagging(too_many)
                .send()
                .await
        ),
        "InvalidTag"
    );
    let one = Tagging::builder()
        .tag_set(Tag::builder().key("a").value("b").build().unwrap())
        .build()
        .unwrap();
    assert_eq!(
        code(
            c.put_object_tagging()
                .bucket(&b)
                .key("missing")
                .tagging(one)
                .send()
                .await
        ),
        "NoSuchKey"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_acl_is_stored() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    put(&c, &b, "a", "x").await;
    let acl = c.get_object_acl().bucket(&b).key("a").send().await.unwrap();
    assert_eq!(acl.grants().len(), 1);
    assert_eq!(acl.grants()[0].permission(), Some(&Permission::FullControl));
    c.put_object_acl()
        .bucket(&b)
        .key("a")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap();
    let acl = c.get_object_acl().bucket(&b).key("a").send().await.unwrap();
    assert_eq!(acl.grants().len(), 2);
    assert_eq!(
        code(c.get_object_acl().bucket(&b).key("missing").send().await),
        "NoSuchKey"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_are_returned_when_asked() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let out = c
        .put_object()
        .bucket(&b)
        .key("ck")
        .body(Vec::from("checksummed").into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc64Nvme)
        .send()
        .await
        .unwrap();
    let crc = out
        .checksum_crc64_nvme()
        .expect("checksum echoed")
        .to_owned();
    let got = c
        .get_object()
        .bucket(&b)
        .key("ck")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc64_nvme(), Some(crc.as_str()));
    // The SDK validated the response checksum while reading the body.
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"checksummed"
    );
    // Stored checksums cover the whole object: none for a range.
    let got = c
        .get_object()
        .bucket(&b)
        .key("ck")
        .range("bytes=0-3")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(got.checksum_crc64_nvme().is_none());
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        b"chec"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_streams_through() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;
    let path = t.dir.path().join("large.bin");
    let size: usize = 48 * 1024 * 1024 + 123;
    {
        use std::io::Write as _;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut block = vec![0u8; 1024 * 1024];
        let mut written = 0;
        let mut seed = 1u32;
        while written < size {
            for byte in block.iter_mut() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                *byte = (seed >> 24) as u8;
            }
            let n = block.len().min(size - written);
            file.write_all(&block[..n]).unwrap();
            written += n;
        }
    }
    let expected_md5 = {
        use s3s::crypto::Checksum as _;
        let mut md5 = s3s::crypto::Md5::new();
        let data = std::fs::read(&path).unwrap();
        md5.update(&data);
        hex::encode(md5.finalize())
    };
    let out = c
        .put_object()
        .bucket(&b)
        .key("large")
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.e_tag(), Some(format!("\"{expected_md5}\"").as_str()));

    let mut got = c.get_object().bucket(&b).key("large").send().await.unwrap();
    assert_eq!(got.content_length(), Some(size as i64));
    let mut md5 = {
        use s3s::crypto::Checksum as _;
        s3s::crypto::Md5::new()
    };
    let mut received = 0;
    while let Some(chunk) = got.body.try_next().await.unwrap() {
        use s3s::crypto::Checksum as _;
        md5.update(&chunk);
        received += chunk.len();
    }
    use s3s::crypto::Checksum as _;
    assert_eq!(received, size);
    assert_eq!(hex::encode(md5.finalize()), expected_md5);
}

//! Bucket versioning: versions, delete markers, `null` versions, ListObjectVersions, and
//! their survival across a restart.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, Tag,
    Tagging, VersioningConfiguration,
};
use common::{code, get, put, start_in, status, TestServer};

async fn set_versioning(c: &aws_sdk_s3::Client, bucket: &str, status: BucketVersioningStatus) {
    c.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .unwrap();
}

/// A bucket with versioning enabled.
async fn versioned_bucket(t: &TestServer) -> String {
    let b = t.bucket().await;
    set_versioning(&t.client(), &b, BucketVersioningStatus::Enabled).await;
    b
}

/// PUT returning the new version id.
async fn put_v(c: &aws_sdk_s3::Client, bucket: &str, key: &str, body: &str) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap()
        .version_id()
        .expect("a version id")
        .to_owned()
}

async fn get_v(c: &aws_sdk_s3::Client, bucket: &str, key: &str, version: &str) -> Vec<u8> {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {key:?} version {version}: {e:?}"));
    // (An unversioned bucket sends no version id, not even `null`.)
    if version != "null" {
        assert_eq!(out.version_id(), Some(version));
    }
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

/// One listed entry: (key, version id, is latest, is delete marker).
type Entry = (String, String, bool, bool);

/// Every version and delete marker, as S3 orders them (by key, newest first), following
/// pagination with `page` entries per request.
async fn all_versions(c: &aws_sdk_s3::Client, bucket: &str, page: i32) -> Vec<Entry> {
    let mut entries = Vec::new();
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    for _ in 0..1000 {
        let out = c
            .list_object_versions()
            .bucket(bucket)
            .max_keys(page)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .unwrap();
        let mut batch: Vec<(Entry, String)> = Vec::new();
        for v in out.versions() {
            batch.push((
                (
                    v.key().unwrap().to_owned(),
                    v.version_id().unwrap().to_owned(),
                    v.is_latest().unwrap(),
                    false,
                ),
                v.last_modified().unwrap().to_string(),
            ));
        }
        for m in out.delete_markers() {
            batch.push((
                (
                    m.key().unwrap().to_owned(),
                    m.version_id().unwrap().to_owned(),
                    m.is_latest().unwrap(),
                    true,
                ),
                m.last_modified().unwrap().to_string(),
            ));
        }
        assert!(batch.len() <= page as usize);
        // The XML lists versions and markers apart: put them back in listing order (by key,
        // latest first, then newer ids first — ids here sort by time).
        batch.sort_by(|(a, _), (b, _)| {
            a.0.cmp(&b.0)
                .then(b.2.cmp(&a.2))
                .then_with(|| version_order(&b.1).cmp(&version_order(&a.1)))
        });
        entries.extend(batch.into_iter().map(|(e, _)| e));
        if out.is_truncated() != Some(true) {
            return entries;
        }
        key_marker = out.next_key_marker().map(str::to_owned);
        version_marker = out.next_version_id_marker().map(str::to_owned);
        assert!(key_marker.is_some());
    }
    panic!("listing never ended");
}

/// Sort key of a version id within one key (`null` has none: it sorts by when it was
/// written, which the tests below avoid depending on within a page).
fn version_order(id: &str) -> String {
    if id == "null" {
        String::new()
    } else {
        id.to_owned()
    }
}

fn header<T, E>(
    result: &Result<T, aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>>,
    name: &str,
) -> Option<String> {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(err) => err
            .raw_response()
            .and_then(|r| r.headers().get(name))
            .map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_create_versions_readable_by_id() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;

    let v1 = put_v(&c, &b, "doc.txt", "one").await;
    let v2 = put_v(&c, &b, "doc.txt", "two").await;
    assert_ne!(v1, v2);
    assert!(v1 < v2, "version ids sort by time: {v1} {v2}");
    assert!(v1
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    assert_eq!(get_v(&c, &b, "doc.txt", &v1).await, b"one");
    assert_eq!(get_v(&c, &b, "doc.txt", &v2).await, b"two");
    let latest = c
        .get_object()
        .bucket(&b)
        .key("doc.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.version_id(), Some(v2.as_str()));
    assert_eq!(
        latest.body.collect().await.unwrap().into_bytes().as_ref(),
        b"two"
    );

    let head = c
        .head_object()
        .bucket(&b)
        .key("doc.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.version_id(), Some(v2.as_str()));
    assert_eq!(head.content_length(), Some(3));
    let head = c
        .head_object()
        .bucket(&b)
        .key("doc.txt")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(head.version_id(), Some(v1.as_str()));
    assert_eq!(
        head.e_tag(),
        Some(format!("\"{}\"", common::md5_hex(b"one")).as_str())
    );

    // A range read of an old version.
    let part = c
        .get_object()
        .bucket(&b)
        .key("doc.txt")
        .version_id(&v1)
        .range("bytes=1-")
        .send()
        .await
        .unwrap();
    assert_eq!(
        part.body.collect().await.unwrap().into_bytes().as_ref(),
        b"ne"
    );

    // Only the latest is listed.
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
    assert_eq!(listed.contents()[0].size(), Some(3));

    // Multipart completion creates a version too.
    let upload = c
        .create_multipart_upload()
        .bucket(&b)
        .key("doc.txt")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part = c
        .upload_part()
        .bucket(&b)
        .key("doc.txt")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from_static(b"three"))
        .send()
        .await
        .unwrap();
    let done = c
        .complete_multipart_upload()
        .bucket(&b)
        .key("doc.txt")
        .upload_id(upload_id)
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
    let v3 = done.version_id().expect("a version id").to_owned();
    assert!(v3 > v2);
    assert_eq!(get(&c, &b, "doc.txt").await, b"three");
    assert_eq!(get_v(&c, &b, "doc.txt", &v1).await, b"one");

    // Tags belong to one version.
    c.put_object_tagging()
        .bucket(&b)
        .key("doc.txt")
        .version_id(&v1)
        .tagging(
            Tagging::builder()
                .tag_set(Tag::builder().key("old").value("yes").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = c
        .get_object_tagging()
        .bucket(&b)
        .key("doc.txt")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set().len(), 1);
    assert_eq!(tags.version_id(), Some(v1.as_str()));
    let tags = c
        .get_object_tagging()
        .bucket(&b)
        .key("doc.txt")
        .send()
        .await
        .unwrap();
    assert!(tags.tag_set().is_empty());
    assert_eq!(tags.version_id(), Some(v3.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_markers_hide_and_restore() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let v1 = put_v(&c, &b, "k", "one").await;
    let v2 = put_v(&c, &b, "k", "two").await;
    put_v(&c, &b, "other", "x").await;

    // A plain DELETE adds a delete marker.
    let del = c.delete_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    let marker = del
        .version_id()
        .expect("the marker's version id")
        .to_owned();
    assert!(marker > v2);

    let result = c.get_object().bucket(&b).key("k").send().await;
    assert_eq!(
        header(&result, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert_eq!(header(&result, "x-amz-version-id"), Some(marker.clone()));
    assert_eq!(status(c.get_object().bucket(&b).key("k").send().await), 404);
    assert_eq!(code(result), "NoSuchKey");
    let head = c.head_object().bucket(&b).key("k").send().await;
    assert_eq!(
        header(&head, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert_eq!(status(head), 404);

    // The marker itself, named by id: 405.
    let result = c
        .get_object()
        .bucket(&b)
        .key("k")
        .version_id(&marker)
        .send()
        .await;
    assert_eq!(
        header(&result, "x-amz-delete-marker").as_deref(),
        Some("true")
    );
    assert!(header(&result, "last-modified").is_some());
    assert_eq!(status(result), 405);
    let result = c
        .head_object()
        .bucket(&b)
        .key("k")
        .version_id(&marker)
        .send()
        .await;
    assert_eq!(status(result), 405);

    // Older versions stay readable.
    assert_eq!(get_v(&c, &b, "k", &v1).await, b"one");

    // Listings hide the key; ListObjectVersions shows 2 versions and the marker.
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(keys, ["other"]);
    let listed = c.list_objects().bucket(&b).send().await.unwrap();
    assert_eq!(listed.contents().len(), 1);
    let out = c
        .list_object_versions()
        .bucket(&b)
        .prefix("k")
        .send()
        .await
        .unwrap();
    assert_eq!(out.is_truncated(), Some(false));
    let versions: Vec<_> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.version_id().unwrap(),
                v.is_latest().unwrap(),
                v.size().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(v2.as_str(), false, 3), (v1.as_str(), false, 3)]);
    let markers: Vec<_> = out
        .delete_markers()
        .iter()
        .map(|m| {
            (
                m.key().unwrap(),
                m.version_id().unwrap(),
                m.is_latest().unwrap(),
            )
        })
        .collect();
    assert_eq!(markers, [("k", marker.as_str(), true)]);
    assert_eq!(
        out.versions()[0].e_tag(),
        Some(format!("\"{}\"", common::md5_hex(b"two")).as_str())
    );

    // Deleting the marker by id restores the object.
    let del = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(del.version_id(), Some(marker.as_str()));
    assert_eq!(get(&c, &b, "k").await, b"two");
    assert_eq!(
        code(
            c.get_object()
                .bucket(&b)
                .key("k")
                .version_id(&marker)
                .send()
                .await
        ),
        "NoSuchVersion"
    );

    // Deleting a version by id removes it for good; the previous one becomes current.
    let del = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&v2)
        .send()
        .await
        .unwrap();
    assert_eq!(del.version_id(), Some(v2.as_str()));
    assert_eq!(del.delete_marker(), None);
    assert_eq!(get(&c, &b, "k").await, b"one");
    let head = c.head_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(head.version_id(), Some(v1.as_str()));
    assert_eq!(
        code(
            c.get_object()
                .bucket(&b)
                .key("k")
                .version_id(&v2)
                .send()
                .await
        ),
        "NoSuchVersion"
    );
    let entries = all_versions(&c, &b, 1000).await;
    assert_eq!(
        entries,
        [
            ("k".to_owned(), v1.clone(), true, false),
            ("other".to_owned(), entries[1].1.clone(), true, false),
        ]
    );

    // Deleting the last version leaves nothing.
    c.delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(c.get_object().bucket(&b).key("k").send().await),
        "NoSuchKey"
    );
    let result = c.get_object().bucket(&b).key("k").send().await;
    assert_eq!(header(&result, "x-amz-delete-marker"), None);
    assert_eq!(all_versions(&c, &b, 1000).await.len(), 1);

    // A plain DELETE of a key that never existed still adds a marker, as on S3.
    let del = c
        .delete_object()
        .bucket(&b)
        .key("never")
        .send()
        .await
        .unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(all_versions(&c, &b, 1000).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_an_old_version() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let v1 = put_v(&c, &b, "src", "first").await;
    let v2 = put_v(&c, &b, "src", "second").await;

    let out = c
        .copy_object()
        .bucket(&b)
        .key("dst")
        .copy_source(format!("{b}/src?versionId={v1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.copy_source_version_id(), Some(v1.as_str()));
    let new_id = out.version_id().expect("the copy's version id").to_owned();
    assert_eq!(get(&c, &b, "dst").await, b"first");
    assert_eq!(get_v(&c, &b, "dst", &new_id).await, b"first");

    // Without a version id the latest is copied.
    let out = c
        .copy_object()
        .bucket(&b)
        .key("dst2")
        .copy_source(format!("{b}/src"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.copy_source_version_id(), Some(v2.as_str()));
    assert_eq!(get(&c, &b, "dst2").await, b"second");

    // Restoring an old version over its own key is allowed (it is not the current one).
    let out = c
        .copy_object()
        .bucket(&b)
        .key("src")
        .copy_source(format!("{b}/src?versionId={v1}"))
        .send()
        .await
        .unwrap();
    let v3 = out.version_id().unwrap().to_owned();
    assert_eq!(get(&c, &b, "src").await, b"first");
    assert_eq!(get_v(&c, &b, "src", &v2).await, b"second");
    // …but copying the current version onto itself unchanged is not.
    let result = c
        .copy_object()
        .bucket(&b)
        .key("src")
        .copy_source(format!("{b}/src?versionId={v3}"))
        .send()
        .await;
    assert_eq!(code(result), "InvalidRequest");

    // A deleted source: 404; a delete marker named by id: 400; an unknown version: 404.
    let marker = c
        .delete_object()
        .bucket(&b)
        .key("src")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    let result = c
        .copy_object()
        .bucket(&b)
        .key("x")
        .copy_source(format!("{b}/src"))
        .send()
        .await;
    assert_eq!(code(result), "NoSuchKey");
    let result = c
        .copy_object()
        .bucket(&b)
        .key("x")
        .copy_source(format!("{b}/src?versionId={marker}"))
        .send()
        .await;
    assert_eq!(code(result), "InvalidRequest");
    let result = c
        .copy_object()
        .bucket(&b)
        .key("x")
        .copy_source(format!(
            "{b}/src?versionId=0000000000000000ffffffffffffffff"
        ))
        .send()
        .await;
    assert_eq!(code(result), "NoSuchVersion");

    // UploadPartCopy from an old version.
    let upload = c
        .create_multipart_upload()
        .bucket(&b)
        .key("mp")
        .send()
        .await
        .unwrap();
    let part = c
        .upload_part_copy()
        .bucket(&b)
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .part_number(1)
        .copy_source(format!("{b}/src?versionId={v2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(part.copy_source_version_id(), Some(v2.as_str()));
    c.complete_multipart_upload()
        .bucket(&b)
        .key("mp")
        .upload_id(upload.upload_id().unwrap())
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .e_tag(part.copy_part_result().unwrap().e_tag().unwrap())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &b, "mp").await, b"second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_with_version_ids() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let a1 = put_v(&c, &b, "a", "a1").await;
    let a2 = put_v(&c, &b, "a", "a2").await;
    put_v(&c, &b, "b", "b1").await;
    let c1 = put_v(&c, &b, "c", "c1").await;
    let c_marker = c
        .delete_object()
        .bucket(&b)
        .key("c")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();

    let id = |key: &str, version: Option<&str>| {
        ObjectIdentifier::builder()
            .key(key)
            .set_version_id(version.map(str::to_owned))
            .build()
            .unwrap()
    };
    let out = c
        .delete_objects()
        .bucket(&b)
        .delete(
            Delete::builder()
                .objects(id("a", Some(&a1)))
                .objects(id("b", None))
                .objects(id("c", Some(&c_marker)))
                .objects(id("a", Some("not-a-version-id")))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deleted = out.deleted();
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    let find = |key: &str| deleted.iter().find(|d| d.key() == Some(key)).unwrap();
    let a = find("a");
    assert_eq!(a.version_id(), Some(a1.as_str()));
    assert_eq!(a.delete_marker(), None);
    let bb = find("b");
    assert_eq!(bb.delete_marker(), Some(true));
    assert_eq!(bb.version_id(), None);
    let b_marker = bb.delete_marker_version_id().expect("the new marker's id");
    let cc = find("c");
    assert_eq!(cc.version_id(), Some(c_marker.as_str()));
    assert_eq!(cc.delete_marker(), Some(true));
    assert_eq!(cc.delete_marker_version_id(), Some(c_marker.as_str()));
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("InvalidArgument"));

    assert_eq!(get(&c, &b, "a").await, b"a2");
    assert_eq!(
        code(
            c.get_object()
                .bucket(&b)
                .key("a")
                .version_id(&a1)
                .send()
                .await
        ),
        "NoSuchVersion"
    );
    assert_eq!(
        code(c.get_object().bucket(&b).key("b").send().await),
        "NoSuchKey"
    );
    // The marker on "c" is gone: the object is back.
    assert_eq!(get(&c, &b, "c").await, b"c1");

    let entries = all_versions(&c, &b, 1000).await;
    let summary: Vec<_> = entries
        .iter()
        .map(|(k, v, latest, marker)| (k.as_str(), v.as_str(), *latest, *marker))
        .collect();
    assert_eq!(summary.len(), 4);
    assert_eq!(summary[0], ("a", a2.as_str(), true, false));
    assert_eq!(summary[1], ("b", b_marker, true, true));
    assert_eq!(summary[2].0, "b");
    assert!(!summary[2].2 && !summary[2].3);
    assert_eq!(summary[3], ("c", c1.as_str(), true, false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspended_versioning_writes_null_versions() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let v1 = put_v(&c, &b, "k", "real").await;
    set_versioning(&c, &b, BucketVersioningStatus::Suspended).await;

    assert_eq!(put_v(&c, &b, "k", "null one").await, "null");
    assert_eq!(get(&c, &b, "k").await, b"null one");
    assert_eq!(get_v(&c, &b, "k", "null").await, b"null one");
    assert_eq!(put_v(&c, &b, "k", "null two").await, "null");
    assert_eq!(get(&c, &b, "k").await, b"null two");
    assert_eq!(get_v(&c, &b, "k", "null").await, b"null two");
    assert_eq!(get_v(&c, &b, "k", &v1).await, b"real");
    assert_eq!(
        all_versions(&c, &b, 1000).await,
        [
            ("k".to_owned(), "null".to_owned(), true, false),
            ("k".to_owned(), v1.clone(), false, false),
        ]
    );

    // A plain DELETE replaces the null version with a null delete marker.
    let del = c.delete_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(del.delete_marker(), Some(true));
    assert_eq!(del.version_id(), Some("null"));
    assert_eq!(
        code(c.get_object().bucket(&b).key("k").send().await),
        "NoSuchKey"
    );
    assert_eq!(
        all_versions(&c, &b, 1000).await,
        [
            ("k".to_owned(), "null".to_owned(), true, true),
            ("k".to_owned(), v1.clone(), false, false),
        ]
    );

    // Enabled again: new real versions on top; a later suspended PUT replaces the older
    // null (the marker) wherever it is, and lands on top.
    set_versioning(&c, &b, BucketVersioningStatus::Enabled).await;
    let v3 = put_v(&c, &b, "k", "third").await;
    set_versioning(&c, &b, BucketVersioningStatus::Suspended).await;
    assert_eq!(put_v(&c, &b, "k", "null three").await, "null");
    let listed = c.list_object_versions().bucket(&b).send().await.unwrap();
    assert!(listed.delete_markers().is_empty());
    let versions: Vec<_> = listed
        .versions()
        .iter()
        .map(|v| (v.version_id().unwrap(), v.is_latest().unwrap()))
        .collect();
    assert_eq!(
        versions,
        [("null", true), (v3.as_str(), false), (v1.as_str(), false)]
    );
    assert_eq!(get_v(&c, &b, "k", &v3).await, b"third");

    // Deleting the null version by id makes the newest real version current.
    c.delete_object()
        .bucket(&b)
        .key("k")
        .version_id("null")
        .send()
        .await
        .unwrap();
    assert_eq!(get(&c, &b, "k").await, b"third");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_from_before_versioning_become_null_versions() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = t.bucket().await;

    // Unversioned: no version id anywhere.
    let out = c
        .put_object()
        .bucket(&b)
        .key("k")
        .body(ByteStream::from_static(b"old"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.version_id(), None);
    let got = c.get_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(got.version_id(), None);
    let del = c
        .delete_object()
        .bucket(&b)
        .key("gone")
        .send()
        .await
        .unwrap();
    assert_eq!(del.delete_marker(), None);
    assert_eq!(del.version_id(), None);
    let listed = c.list_object_versions().bucket(&b).send().await.unwrap();
    assert_eq!(listed.versions().len(), 1);
    assert_eq!(listed.versions()[0].version_id(), Some("null"));
    assert_eq!(listed.versions()[0].is_latest(), Some(true));
    assert_eq!(get_v(&c, &b, "k", "null").await, b"old");
    put(&c, &b, "k", "older").await;
    assert_eq!(
        c.list_object_versions()
            .bucket(&b)
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        1
    );

    set_versioning(&c, &b, BucketVersioningStatus::Enabled).await;
    let v1 = put_v(&c, &b, "k", "new").await;
    assert_eq!(get_v(&c, &b, "k", "null").await, b"older");
    assert_eq!(get_v(&c, &b, "k", &v1).await, b"new");
    assert_eq!(
        all_versions(&c, &b, 1000).await,
        [
            ("k".to_owned(), v1.clone(), true, false),
            ("k".to_owned(), "null".to_owned(), false, false),
        ]
    );
    // Responses now carry version ids, `null` included.
    c.delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    let got = c.get_object().bucket(&b).key("k").send().await.unwrap();
    assert_eq!(got.version_id(), Some("null"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_malformed_version_ids() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    put_v(&c, &b, "k", "x").await;
    let bogus = "0000000000000000ffffffffffffffff";

    let result = c
        .get_object()
        .bucket(&b)
        .key("k")
        .version_id(bogus)
        .send()
        .await;
    assert_eq!(
        status(
            c.get_object()
                .bucket(&b)
                .key("k")
                .version_id(bogus)
                .send()
                .await
        ),
        404
    );
    assert_eq!(code(result), "NoSuchVersion");
    assert_eq!(
        status(
            c.head_object()
                .bucket(&b)
                .key("k")
                .version_id(bogus)
                .send()
                .await
        ),
        404
    );
    assert_eq!(
        code(
            c.get_object()
                .bucket(&b)
                .key("missing")
                .version_id(bogus)
                .send()
                .await
        ),
        "NoSuchVersion"
    );
    assert_eq!(
        code(
            c.get_object_tagging()
                .bucket(&b)
                .key("k")
                .version_id(bogus)
                .send()
                .await
        ),
        "NoSuchVersion"
    );
    // Ids this server never hands out are refused as S3 does.
    for malformed in ["bogus", "../../etc", "0000000000000000FFFFFFFFFFFFFFFF"] {
        let result = c
            .get_object()
            .bucket(&b)
            .key("k")
            .version_id(malformed)
            .send()
            .await;
        assert_eq!(code(result), "InvalidArgument", "{malformed}");
        let result = c
            .delete_object()
            .bucket(&b)
            .key("k")
            .version_id(malformed)
            .send()
            .await;
        assert_eq!(code(result), "InvalidArgument", "{malformed}");
    }
    // Deleting an unknown version succeeds and changes nothing.
    let del = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .version_id(bogus)
        .send()
        .await
        .unwrap();
    assert_eq!(del.version_id(), Some(bogus));
    assert_eq!(get(&c, &b, "k").await, b"x");
    // A version-id marker needs a key marker.
    let result = c
        .list_object_versions()
        .bucket(&b)
        .version_id_marker(bogus)
        .send()
        .await;
    assert_eq!(code(result), "InvalidArgument");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_object_versions_pages_prefixes_and_markers() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let mut expected: Vec<Entry> = Vec::new();
    for key in ["a", "dir/x", "dir/y", "m", "z"] {
        let mut ids = Vec::new();
        for n in 0..3 {
            ids.push(put_v(&c, &b, key, &format!("{key}{n}")).await);
        }
        if key == "m" {
            let marker = c
                .delete_object()
                .bucket(&b)
                .key(key)
                .send()
                .await
                .unwrap()
                .version_id()
                .unwrap()
                .to_owned();
            ids.push(marker);
        }
        for (i, id) in ids.iter().enumerate().rev() {
            let latest = i == ids.len() - 1;
            let marker = key == "m" && latest;
            expected.push((key.to_owned(), id.clone(), latest, marker));
        }
    }
    assert_eq!(all_versions(&c, &b, 1000).await, expected);
    for page in [1, 2, 3, 5] {
        assert_eq!(
            all_versions(&c, &b, page).await,
            expected,
            "page size {page}"
        );
    }

    // Prefix and delimiter.
    let out = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<_> = out
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap())
        .collect();
    assert_eq!(prefixes, ["dir/"]);
    assert_eq!(out.versions().len() + out.delete_markers().len(), 10);
    let out = c
        .list_object_versions()
        .bucket(&b)
        .prefix("dir/")
        .send()
        .await
        .unwrap();
    assert_eq!(out.versions().len(), 6);
    assert!(out
        .versions()
        .iter()
        .all(|v| v.key().unwrap().starts_with("dir/")));

    // A page ending on a common prefix resumes after it.
    let out = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .key_marker("a")
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert_eq!(out.common_prefixes().len(), 1);
    assert_eq!(out.is_truncated(), Some(true));
    assert_eq!(out.next_key_marker(), Some("dir/"));
    let out = c
        .list_object_versions()
        .bucket(&b)
        .delimiter("/")
        .key_marker("dir/")
        .max_keys(1)
        .send()
        .await
        .unwrap();
    assert!(out.delete_markers()[0].key() == Some("m"));

    // Key marker alone: strictly after that key; with a version marker: after that version.
    let out = c
        .list_object_versions()
        .bucket(&b)
        .key_marker("m")
        .send()
        .await
        .unwrap();
    assert!(out.versions().iter().all(|v| v.key() == Some("z")));
    assert!(out.delete_markers().is_empty());
    let z_middle = &expected[expected.len() - 2].1;
    let out = c
        .list_object_versions()
        .bucket(&b)
        .key_marker("z")
        .version_id_marker(z_middle)
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = out
        .versions()
        .iter()
        .map(|v| v.version_id().unwrap())
        .collect();
    assert_eq!(ids, [expected[expected.len() - 1].1.as_str()]);

    // ListObjectsV2 sees the current objects only.
    let listed = c.list_objects_v2().bucket(&b).send().await.unwrap();
    let keys: Vec<_> = listed.contents().iter().map(|o| o.key().unwrap()).collect();
    assert_eq!(keys, ["a", "dir/x", "dir/y", "z"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_bucket_refuses_while_versions_remain() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let v1 = put_v(&c, &b, "k", "x").await;
    let marker = c
        .delete_object()
        .bucket(&b)
        .key("k")
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    // Nothing is listed, yet versions remain.
    assert_eq!(
        c.list_objects_v2()
            .bucket(&b)
            .send()
            .await
            .unwrap()
            .key_count(),
        Some(0)
    );
    assert_eq!(
        code(c.delete_bucket().bucket(&b).send().await),
        "BucketNotEmpty"
    );
    c.delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&v1)
        .send()
        .await
        .unwrap();
    // Only a delete marker left: still not empty.
    assert_eq!(
        code(c.delete_bucket().bucket(&b).send().await),
        "BucketNotEmpty"
    );
    c.delete_object()
        .bucket(&b)
        .key("k")
        .version_id(&marker)
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket(&b).send().await.unwrap();
    assert!(!t.dir.path().join("buckets").join(&b).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    let b = common::unique_name("bucket");
    c.create_bucket().bucket(&b).send().await.unwrap();
    let suspended = common::unique_name("bucket");
    c.create_bucket().bucket(&suspended).send().await.unwrap();
    let plain = common::unique_name("bucket");
    c.create_bucket().bucket(&plain).send().await.unwrap();
    set_versioning(&c, &b, BucketVersioningStatus::Enabled).await;
    set_versioning(&c, &suspended, BucketVersioningStatus::Enabled).await;

    let v1 = put_v(&c, &b, "k", "one").await;
    let v2 = put_v(&c, &b, "k", "two").await;
    c.delete_object().bucket(&b).key("k").send().await.unwrap();
    put_v(&c, &b, "dir/other", "other").await;
    let s1 = put_v(&c, &suspended, "k", "real").await;
    set_versioning(&c, &suspended, BucketVersioningStatus::Suspended).await;
    put(&c, &suspended, "k", "null").await;
    put(&c, &plain, "k", "plain").await;
    let before = all_versions(&c, &b, 1000).await;
    assert_eq!(before.len(), 4);
    server.shutdown().await;

    // An interrupted demotion leaves the latest described twice; the restart must not list
    // it twice.
    let hash = |key: &str| {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(key.as_bytes()))
    };
    let bucket_dir = dir.path().join("buckets").join(&b);
    let stale = bucket_dir
        .join("versions")
        .join(hash("dir/other"))
        .join(format!("{}.meta.json", before[0].1));
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::copy(
        bucket_dir
            .join("objects")
            .join(format!("{}.meta.json", hash("dir/other"))),
        &stale,
    )
    .unwrap();

    let server = start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    let status_of = |bucket: String| {
        let c = c.clone();
        async move {
            c.get_bucket_versioning()
                .bucket(bucket)
                .send()
                .await
                .unwrap()
                .status()
                .cloned()
        }
    };
    assert_eq!(
        status_of(b.clone()).await,
        Some(BucketVersioningStatus::Enabled)
    );
    assert_eq!(
        status_of(suspended.clone()).await,
        Some(BucketVersioningStatus::Suspended)
    );
    assert_eq!(status_of(plain.clone()).await, None);
    assert_eq!(all_versions(&c, &b, 1000).await, before);
    assert_eq!(all_versions(&c, &b, 1).await, before);
    assert!(!stale.exists(), "the stale copy is removed at start");
    assert_eq!(get_v(&c, &b, "k", &v1).await, b"one");
    assert_eq!(get_v(&c, &b, "k", &v2).await, b"two");
    assert_eq!(
        code(c.get_object().bucket(&b).key("k").send().await),
        "NoSuchKey"
    );
    assert_eq!(get(&c, &suspended, "k").await, b"null");
    assert_eq!(get_v(&c, &suspended, "k", &s1).await, b"real");
    assert_eq!(get(&c, &plain, "k").await, b"plain");

    // New versions sort after the old ones.
    let v3 = put_v(&c, &b, "k", "three").await;
    assert!(v3 > v2);
    assert_eq!(get(&c, &b, "k").await, b"three");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_without_its_latest_document_is_repaired_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    let b = common::unique_name("bucket");
    c.create_bucket().bucket(&b).send().await.unwrap();
    set_versioning(&c, &b, BucketVersioningStatus::Enabled).await;
    let v1 = put_v(&c, &b, "k", "one").await;
    put_v(&c, &b, "k", "two").await;
    server.shutdown().await;

    // Lose the latest version's document (damage, not something a crash can do).
    let hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(b"k"))
    };
    let bucket_dir = dir.path().join("buckets").join(&b);
    let current = bucket_dir.join("objects").join(format!("{hash}.meta.json"));
    std::fs::remove_file(&current).unwrap();

    let server = start_in(dir.path()).await;
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    // The newest remaining version became the latest; the orphaned data file is gone.
    assert_eq!(get(&c, &b, "k").await, b"one");
    assert_eq!(
        all_versions(&c, &b, 1000).await,
        [("k".to_owned(), v1.clone(), true, false)]
    );
    assert!(current.exists());
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
    assert_eq!(data_files, 1);
    assert!(!bucket_dir
        .join("versions")
        .join(&hash)
        .join(format!("{v1}.meta.json"))
        .exists());
    server.shutdown().await;
}

/// Writers of the same key wait for each other, writers of different keys do not: with 16
/// tasks writing 4 keys at once, every PUT is one version, readable by its id, and each key's
/// latest is the one that committed last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_of_a_few_keys_keep_every_version() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = versioned_bucket(&t).await;
    let mut tasks = tokio::task::JoinSet::new();
    for writer in 0..16 {
        let (c, b) = (c.clone(), b.clone());
        tasks.spawn(async move {
            let mut written = Vec::new();
            for round in 0..6 {
                let key = format!("k{}", (writer + round) % 4);
                let body = format!("writer {writer} round {round}");
                written.push((key.clone(), put_v(&c, &b, &key, &body).await, body));
            }
            written
        });
    }
    let mut written = Vec::new();
    while let Some(done) = tasks.join_next().await {
        written.extend(done.unwrap());
    }
    assert_eq!(written.len(), 96);
    let listed = all_versions(&c, &b, 1000).await;
    assert_eq!(listed.len(), 96, "one version per PUT");
    for (key, version, body) in &written {
        assert!(listed.iter().any(|(k, v, _, _)| k == key && v == version));
        assert_eq!(get_v(&c, &b, key, version).await, body.as_bytes());
    }
    for key in ["k0", "k1", "k2", "k3"] {
        let versions: Vec<&Entry> = listed.iter().filter(|e| e.0 == key).collect();
        assert_eq!(versions.len(), 24);
        // Newest first, and only the newest is the latest.
        assert!(versions[0].2 && versions[1..].iter().all(|e| !e.2));
        let latest = get(&c, &b, key).await;
        let expected = &written.iter().find(|(k, v, _)| k == key && v == &versions[0].1).unwrap().2;
        assert_eq!(latest, expected.as_bytes());
    }
}

//! Bucket actions against a real server.

mod common;

use aws_sdk_s3::types::{
    BucketVersioningStatus, CreateBucketConfiguration, VersioningConfiguration,
};
use common::{code, put, status, unique_name, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_head_list_delete() {
    let t = TestServer::start().await;
    let c = t.client();
    let name = unique_name("b");

    assert_eq!(status(c.head_bucket().bucket(&name).send().await), 404);
    let created = c.create_bucket().bucket(&name).send().await.unwrap();
    assert_eq!(created.location(), Some(format!("/{name}").as_str()));
    c.head_bucket().bucket(&name).send().await.unwrap();

    let listed = c.list_buckets().send().await.unwrap();
    let bucket = listed
        .buckets()
        .iter()
        .find(|b| b.name() == Some(name.as_str()))
        .expect("listed");
    let created_at = bucket.creation_date().expect("creation date").secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now - created_at).abs() < 60,
        "creation date {created_at} vs now {now}"
    );
    assert!(listed.owner().and_then(|o| o.id()).is_some());

    c.delete_bucket().bucket(&name).send().await.unwrap();
    assert_eq!(status(c.head_bucket().bucket(&name).send().await), 404);
    assert_eq!(
        code(c.delete_bucket().bucket(&name).send().await),
        "NoSuchBucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_existing_bucket_is_already_owned() {
    let t = TestServer::start().await;
    let c = t.client();
    let name = t.bucket().await;
    let result = c.create_bucket().bucket(&name).send().await;
    assert_eq!(status(c.create_bucket().bucket(&name).send().await), 409);
    assert_eq!(code(result), "BucketAlreadyOwnedByYou");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bucket_names_are_refused() {
    let t = TestServer::start().await;
    let c = t.client();
    for name in [
        "ab",
        "Upper-Case",
        "under_score",
        "-dash-first",
        "dash-last-",
        "a..b",
        "192.168.5.4",
        "xn--abc",
        "sthree-abc",
        "abc-s3alias",
    ] {
        let result = c.create_bucket().bucket(name).send().await;
        assert_eq!(code(result), "InvalidBucketName", "{name}");
    }
    assert!(c.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_non_empty_bucket_fails() {
    let t = TestServer::start().await;
    let c = t.client();
    let name = t.bucket().await;
    put(&c, &name, "k", "v").await;
    assert_eq!(
        code(c.delete_bucket().bucket(&name).send().await),
        "BucketNotEmpty"
    );
    c.delete_object()
        .bucket(&name)
        .key("k")
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket(&name).send().await.unwrap();
    // The name is free again, and the new bucket starts empty.
    c.create_bucket().bucket(&name).send().await.unwrap();
    let listed = c.list_objects_v2().bucket(&name).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_is_empty_for_us_east_1() {
    let t = TestServer::start().await;
    let c = t.client();
    let name = t.bucket().await;
    let location = c.get_bucket_location().bucket(&name).send().await.unwrap();
    assert!(
        location
            .location_constraint()
            .is_none_or(|l| l.as_str().is_empty()),
        "{location:?}"
    );
    assert_eq!(
        code(
            c.get_bucket_location()
                .bucket("missing-bucket")
                .send()
                .await
        ),
        "NoSuchBucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn location_reports_the_configured_region() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = s3flow_local::LocalConfig::new(dir.path());
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.region = "eu-west-3".to_owned();
    let server = s3flow_local::LocalServer::start(config).await.unwrap();
    let c = common::client(
        &server,
        aws_sdk_s3::config::RequestChecksumCalculation::WhenSupported,
    );
    let name = unique_name("b");
    c.create_bucket()
        .bucket(&name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest3)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let location = c.get_bucket_location().bucket(&name).send().await.unwrap();
    assert_eq!(
        location.location_constraint().map(|l| l.as_str()),
        Some("eu-west-3")
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioning_status_is_reported_and_validated() {
    let t = TestServer::start().await;
    let c = t.client();
    let name = t.bucket().await;
    let versioning = c
        .get_bucket_versioning()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    // Never enabled: no Status element.
    assert!(versioning.status().is_none());
    assert!(versioning.mfa_delete().is_none());
    for status in [
        BucketVersioningStatus::Enabled,
        BucketVersioningStatus::Suspended,
    ] {
        c.put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(status.clone())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let versioning = c
            .get_bucket_versioning()
            .bucket(&name)
            .send()
            .await
            .unwrap();
        assert_eq!(versioning.status(), Some(&status));
    }
    // MFA delete is refused.
    let result = c
        .put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .mfa_delete(aws_sdk_s3::types::MfaDelete::Enabled)
                .build(),
        )
        .mfa("arn:aws:iam::123456789012:mfa/user 123456")
        .send()
        .await;
    assert_eq!(code(result), "NotImplemented");
    assert_eq!(
        code(
            c.get_bucket_versioning()
                .bucket("missing-bucket")
                .send()
                .await
        ),
        "NoSuchBucket"
    );
    assert_eq!(
        code(
            c.put_bucket_versioning()
                .bucket("missing-bucket")
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
        ),
        "NoSuchBucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_actions_on_a_missing_bucket_say_no_such_bucket() {
    let t = TestServer::start().await;
    let c = t.client();
    let b = "no-such-bucket-here";
    assert_eq!(
        code(c.get_object().bucket(b).key("k").send().await),
        "NoSuchBucket"
    );
    assert_eq!(
        code(
            c.put_object()
                .bucket(b)
                .key("k")
                .body(Vec::from("x").into())
                .send()
                .await
        ),
        "NoSuchBucket"
    );
    assert_eq!(
        code(c.delete_object().bucket(b).key("k").send().await),
        "NoSuchBucket"
    );
    assert_eq!(
        code(c.list_objects_v2().bucket(b).send().await),
        "NoSuchBucket"
    );
    assert_eq!(
        code(c.create_multipart_upload().bucket(b).key("k").send().await),
        "NoSuchBucket"
    );
    assert_eq!(
        code(c.get_object_tagging().bucket(b).key("k").send().await),
        "NoSuchBucket"
    );
    assert_eq!(status(c.head_object().bucket(b).key("k").send().await), 404);

    // With the bucket present, the same calls say NoSuchKey instead.
    let bucket = t.bucket().await;
    assert_eq!(
        code(c.get_object().bucket(&bucket).key("k").send().await),
        "NoSuchKey"
    );
    assert_eq!(
        code(c.get_object_tagging().bucket(&bucket).key("k").send().await),
        "NoSuchKey"
    );
    assert_eq!(
        status(c.head_object().bucket(&bucket).key("k").send().await),
        404
    );
}

//! Router tests through `app()` with `oneshot`, no socket for the API: every route and every
//! error code the service can produce here, with the HTTP status of §5.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::Harness;
use serde_json::json;

#[tokio::test]
async fn health_needs_no_token() {
    let h = Harness::new().await;
    let reply = h
        .send(Request::get("/v1/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["status"], "ok");
}

#[tokio::test]
async fn every_other_route_needs_a_live_token() {
    let h = Harness::new().await;
    let routes = [
        (Method::GET, "/metrics"),
        (Method::GET, "/v1/openapi.json"),
        (Method::GET, "/v1/actions"),
        (Method::GET, "/v1/connections"),
        (Method::POST, "/v1/connections"),
        (Method::GET, "/v1/connections/local"),
        (Method::PUT, "/v1/connections/local"),
        (Method::DELETE, "/v1/connections/local"),
        (Method::POST, "/v1/connections/local/test"),
        (Method::POST, "/v1/connections/local/actions/list_buckets"),
        (Method::GET, "/v1/connections/local/objects/b/k"),
        (Method::PUT, "/v1/connections/local/objects/b/k"),
        (Method::DELETE, "/v1/connections/local/objects/b/k"),
        (Method::POST, "/v1/documents"),
        (
            Method::GET,
            "/v1/documents/doc_00000000000000000000000000000000",
        ),
        (
            Method::DELETE,
            "/v1/documents/doc_00000000000000000000000000000000",
        ),
    ];
    for (method, uri) in routes {
        let missing = h
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(uri)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        missing.assert_error(401, "unauthorized");
        let wrong = h
            .send(
                Request::builder()
                    .method(method.clone())
                    .uri(uri)
                    .header("authorization", "Bearer s3f_nope")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        wrong.assert_error(401, "unauthorized");
        let basic = h
            .send(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("authorization", "Basic dXNlcjpwYXNz")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        basic.assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let h = Harness::new().await;
    let (id, token) = h.state.store().create_token().await.unwrap();
    let get = |token: String| {
        Request::get("/v1/actions")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(h.send(get(token.clone())).await.status, StatusCode::OK);
    h.state.store().revoke_token(&id).await.unwrap();
    h.send(get(token)).await.assert_error(401, "unauthorized");
    // Revoking again or an unknown id: not_found.
    assert_eq!(
        h.state.store().revoke_token(&id).await.unwrap_err().code,
        s3flow::ErrorCode::NotFound
    );
}

#[tokio::test]
async fn errors_carry_the_request_id() {
    let h = Harness::new().await;
    let reply = h
        .send(
            h.request(Method::GET, "/v1/connections/nope")
                .header("x-request-id", "req-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    reply.assert_error(404, "not_found");
    assert_eq!(reply.json()["error"]["request_id"], "req-123");
    assert_eq!(reply.headers["x-request-id"], "req-123");
    let reply = h.call(Method::GET, "/v1/health", None).await;
    assert!(reply.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn unknown_routes_are_not_found() {
    let h = Harness::new().await;
    h.call(Method::GET, "/v2/nothing", None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn the_catalog_lists_every_action_with_schemas() {
    let h = Harness::new().await;
    let reply = h.call(Method::GET, "/v1/actions", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let list = reply.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, s3flow::actions::ACTIONS);
    for entry in list.as_array().unwrap() {
        assert!(
            entry["input"].is_object()
                && entry["output"].is_object()
                && entry["summary"].is_string()
        );
    }
}

#[tokio::test]
async fn openapi_lists_every_route_and_action() {
    let h = Harness::new().await;
    let doc = h.call(Method::GET, "/v1/openapi.json", None).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/v1/health",
        "/v1/actions",
        "/v1/connections",
        "/v1/connections/{name}",
        "/v1/connections/{name}/test",
        "/v1/documents",
        "/v1/documents/{id}",
        "/metrics",
        "/v1/openapi.json",
        "/v1/connections/{name}/objects/{bucket}/{key}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    assert!(doc["components"]["schemas"]["upload_input"].is_object());
}

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_error_code() {
    let h = Harness::new().await;
    h.call(Method::GET, "/v1/connections/nope", None).await;
    let reply = h.call(Method::GET, "/metrics", None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    assert!(text.contains(r#"s3flow_http_requests_total{method="GET",route="/v1/connections/{name}",status="404"} 1"#), "{text}");
    assert!(
        text.contains(r#"s3flow_errors_total{code="not_found"} 1"#),
        "{text}"
    );
    assert!(
        text.contains("s3flow_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn connections_crud_never_returns_secrets() {
    let h = Harness::new().await;
    let secret = h.local.secret_key().to_owned();
    let body = serde_json::to_value(h.local_connection("crud")).unwrap();
    let created = h
        .call(Method::POST, "/v1/connections", Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.json()["auth"]["secret_access_key"], "***");
    h.call(Method::POST, "/v1/connections", Some(body.clone()))
        .await
        .assert_error(409, "already_exists");

    for reply in [
        h.call(Method::GET, "/v1/connections/crud", None).await,
        h.call(Method::GET, "/v1/connections", None).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK);
        let text = String::from_utf8(reply.body.to_vec()).unwrap();
        assert!(!text.contains(&secret), "{text}");
        assert!(text.contains("crud"));
    }
    let mut changed = body.clone();
    changed["region"] = json!("eu-west-1");
    let put = h
        .call(Method::PUT, "/v1/connections/crud", Some(changed))
        .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(put.json()["region"], "eu-west-1");
    let mut nameless = body.clone();
    nameless.as_object_mut().unwrap().remove("name");
    let put_new = h
        .call(Method::PUT, "/v1/connections/crud2", Some(nameless))
        .await;
    assert_eq!(put_new.status, StatusCode::CREATED);
    assert_eq!(put_new.json()["name"], "crud2");

    let tested = h
        .call(Method::POST, "/v1/connections/crud2/test", None)
        .await;
    assert_eq!(tested.status, StatusCode::OK, "{:?}", tested.json());
    assert_eq!(tested.json()["ok"], true);

    assert_eq!(
        h.call(Method::DELETE, "/v1/connections/crud", None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    h.call(Method::GET, "/v1/connections/crud", None)
        .await
        .assert_error(404, "not_found");
    h.call(Method::DELETE, "/v1/connections/crud", None)
        .await
        .assert_error(404, "not_found");
    h.call(Method::POST, "/v1/connections/crud/test", None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn bad_connection_input_is_invalid_input() {
    let h = Harness::new().await;
    let good = serde_json::to_value(h.local_connection("good")).unwrap();
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases = [
        with("name", json!("Bad Name")),
        with("endpoint", json!("ftp://x")),
        with("region", json!("eu west")),
        with("part_size", json!(1)),
        with("download_threads", json!(0)),
        with("max_attempts", json!(0)),
        with("timeout_seconds", json!(0)),
        with("restrict_bucket", json!("Bad_Bucket")),
        with("restrict_prefix", json!("")),
        with("provider", json!("dropbox")),
        with("unknown_field", json!(1)),
        with("auth", json!({"type": "password"})),
        with(
            "auth",
            json!({"type": "access_key", "access_key_id": "", "secret_access_key": "x"}),
        ),
        with(
            "auth",
            json!({"type": "assume_role", "role_arn": "nope", "source": {"type": "default_chain"}}),
        ),
        json!({"region": "us-east-1"}),
        json!([1, 2]),
    ];
    for body in cases {
        h.call(Method::POST, "/v1/connections", Some(body.clone()))
            .await
            .assert_error(400, "invalid_input");
    }
    h.raw(Method::POST, "/v1/connections", "{not json")
        .await
        .assert_error(400, "invalid_input");
    h.raw(Method::PUT, "/v1/connections/good", "")
        .await
        .assert_error(400, "invalid_input");
    h.call(Method::PUT, "/v1/connections/other", Some(good.clone()))
        .await
        .assert_error(400, "invalid_input");
    h.call(Method::PUT, "/v1/connections/Bad", Some(good.clone()))
        .await
        .assert_error(400, "invalid_input");
    h.call(Method::GET, "/v1/connections/Bad", None)
        .await
        .assert_error(400, "invalid_input");
    h.call(Method::DELETE, "/v1/connections/Bad", None)
        .await
        .assert_error(400, "invalid_input");
}

#[tokio::test]
async fn actions_run_like_the_cli() {
    let h = Harness::new().await;
    h.bucket("invoices").await;
    let up = h.action("local", "upload", json!({"bucket": "invoices", "key": "2026/{id}.txt", "text": "hello", "vars": {"id": "INV-7"}})).await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.json());
    assert_eq!(up.json()["key"], "2026/INV-7.txt");
    let down = h
        .action(
            "local",
            "download",
            json!({"bucket": "invoices", "key": "2026/INV-7.txt"}),
        )
        .await;
    assert_eq!(down.json()["content"]["text"], "hello");
    let list = h
        .action("local", "list", json!({"bucket": "invoices"}))
        .await;
    assert_eq!(list.json()["count"], 1);
    let presign = h
        .action(
            "local",
            "presign",
            json!({"bucket": "invoices", "key": "2026/INV-7.txt"}),
        )
        .await;
    assert!(presign.json()["url"]
        .as_str()
        .unwrap()
        .contains("X-Amz-Signature"));
    let buckets = h
        .call(
            Method::POST,
            "/v1/connections/local/actions/list_buckets",
            None,
        )
        .await;
    assert_eq!(buckets.status, StatusCode::OK, "{:?}", buckets.json());
}

#[tokio::test]
async fn action_errors_have_the_contract_status() {
    let h = Harness::new().await;
    h.bucket("errs").await;
    h.action(
        "local",
        "upload",
        json!({"bucket": "errs", "key": "a.txt", "text": "x"}),
    )
    .await;

    // invalid_input (400): bad JSON, non-object, bad field, unknown field, server file paths.
    h.raw(Method::POST, "/v1/connections/local/actions/upload", "{")
        .await
        .assert_error(400, "invalid_input");
    h.action("local", "upload", json!([1]))
        .await
        .assert_error(400, "invalid_input");
    h.action("local", "upload", json!({"bucket": "errs", "key": "b.txt"}))
        .await
        .assert_error(400, "invalid_input");
    h.action("local", "list", json!({"bucket": "errs", "nope": 1}))
        .await
        .assert_error(400, "invalid_input");
    h.action(
        "local",
        "upload",
        json!({"bucket": "errs", "key": "b", "file": "/etc/passwd"}),
    )
    .await
    .assert_error(400, "invalid_input");
    h.action(
        "local",
        "download",
        json!({"bucket": "errs", "key": "a.txt", "as": "file", "to": "/tmp/x"}),
    )
    .await
    .assert_error(400, "invalid_input");
    h.action(
        "local",
        "download",
        json!({"bucket": "errs", "key": "a.txt", "to": "/tmp/x"}),
    )
    .await
    .assert_error(400, "invalid_input");
    h.action(
        "local",
        "upload",
        json!({"bucket": "errs", "key": "b", "document": 7}),
    )
    .await
    .assert_error(400, "invalid_input");
    h.action("Bad", "list", json!({}))
        .await
        .assert_error(400, "invalid_input");
    // not_found (404): unknown action, connection, key, document.
    h.action("local", "explode", json!({}))
        .await
        .assert_error(404, "not_found");
    h.action("nope", "list", json!({"bucket": "errs"}))
        .await
        .assert_error(404, "not_found");
    let missing = h
        .action(
            "local",
            "download",
            json!({"bucket": "errs", "key": "missing.txt"}),
        )
        .await;
    missing.assert_error(404, "not_found");
    assert_eq!(missing.json()["error"]["s3_code"], "NoSuchKey");
    h.action(
        "local",
        "upload",
        json!({"bucket": "errs", "key": "b", "document": "doc_00000000000000000000000000000000"}),
    )
    .await
    .assert_error(404, "not_found");
    // already_exists (409).
    h.action(
        "local",
        "upload",
        json!({"bucket": "errs", "key": "a.txt", "text": "y", "if_exists": "fail"}),
    )
    .await
    .assert_error(409, "already_exists");
    // payload_too_large (413).
    h.action(
        "local",
        "download",
        json!({"bucket": "errs", "key": "a.txt", "max_inline_bytes": 0}),
    )
    .await
    .assert_error(413, "payload_too_large");

    // outside_restriction (403).
    let restricted = s3flow::Connection {
        restrict_bucket: Some("errs".into()),
        restrict_prefix: Some("in/".into()),
        ..h.local_connection("restricted")
    };
    h.state.store().put_connection(&restricted).await.unwrap();
    h.action("restricted", "list", json!({"bucket": "other"}))
        .await
        .assert_error(403, "outside_restriction");
    h.action(
        "restricted",
        "download",
        json!({"bucket": "errs", "key": "a.txt"}),
    )
    .await
    .assert_error(403, "outside_restriction");
    h.call(
        Method::GET,
        "/v1/connections/restricted/objects/errs/a.txt",
        None,
    )
    .await
    .assert_error(403, "outside_restriction");

    // credentials_invalid (403).
    let wrong = s3flow::Connection::with_access_key(
        &h.local.endpoint(),
        h.local.access_key(),
        "wrong-secret",
        h.local.region(),
    );
    h.state
        .store()
        .put_connection(&s3flow::Connection {
            name: Some("wrong".into()),
            ..wrong
        })
        .await
        .unwrap();
    h.action("wrong", "list", json!({"bucket": "errs"}))
        .await
        .assert_error(403, "credentials_invalid");
    h.call(Method::POST, "/v1/connections/wrong/test", None)
        .await
        .assert_error(403, "credentials_invalid");

    // upstream_unavailable (502): nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = s3flow::Connection {
        max_attempts: Some(1),
        ..s3flow::Connection::with_access_key(
            &format!("http://127.0.0.1:{port}"),
            "a",
            "b",
            "us-east-1",
        )
    };
    h.state
        .store()
        .put_connection(&s3flow::Connection {
            name: Some("down".into()),
            ..down
        })
        .await
        .unwrap();
    let reply = h.action("down", "list", json!({"bucket": "errs"})).await;
    reply.assert_error(502, "upstream_unavailable");
    assert_eq!(reply.json()["error"]["retryable"], true);
}

#[tokio::test]
async fn a_changed_connection_gets_a_fresh_client() {
    let h = Harness::new().await;
    h.bucket("fresh").await;
    let wrong = s3flow::Connection::with_access_key(
        &h.local.endpoint(),
        h.local.access_key(),
        "wrong-secret",
        h.local.region(),
    );
    h.state
        .store()
        .put_connection(&s3flow::Connection {
            name: Some("flip".into()),
            ..wrong
        })
        .await
        .unwrap();
    h.action("flip", "list", json!({"bucket": "fresh"}))
        .await
        .assert_error(403, "credentials_invalid");
    let body = serde_json::to_value(h.local_connection("flip")).unwrap();
    assert_eq!(
        h.call(Method::PUT, "/v1/connections/flip", Some(body))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.action("flip", "list", json!({"bucket": "fresh"}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn objects_stream_in_and_out() {
    let h = Harness::new().await;
    h.bucket("stream").await;
    // Small: one PutObject.
    let put = h
        .send(
            h.request(
                Method::PUT,
                "/v1/connections/local/objects/stream/dir/a.txt",
            )
            .header("content-type", "text/plain")
            .body(Body::from("hello world"))
            .unwrap(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json());
    assert_eq!(put.json()["size"], 11);
    let get = h
        .call(
            Method::GET,
            "/v1/connections/local/objects/stream/dir/a.txt",
            None,
        )
        .await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(&get.body[..], b"hello world");
    assert_eq!(get.headers["content-type"], "text/plain");
    assert_eq!(get.headers["content-length"], "11");
    assert!(get.headers.contains_key("etag"));
    let range = h
        .send(
            h.request(
                Method::GET,
                "/v1/connections/local/objects/stream/dir/a.txt",
            )
            .header("range", "bytes=0-4")
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&range.body[..], b"hello");
    assert_eq!(range.headers["content-range"], "bytes 0-4/11");
    let head = h
        .call(
            Method::HEAD,
            "/v1/connections/local/objects/stream/dir/a.txt",
            None,
        )
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers["content-length"], "11");

    // Larger than one part, sent as a stream of chunks with no Content-Length: multipart.
    let part = 5 * 1024 * 1024;
    let small_parts = s3flow::Connection {
        part_size: Some(part as u64),
        ..h.local_connection("parts")
    };
    h.state.store().put_connection(&small_parts).await.unwrap();
    let total = 2 * part + 12345;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..total / 65536 + 1)
        .map(|i| {
            let start = i * 65536;
            let end = (start + 65536).min(total);
            Ok((start..end).map(|n| (n % 251) as u8).collect())
        })
        .collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let put = h
        .send(
            h.request(Method::PUT, "/v1/connections/parts/objects/stream/big.bin")
                .body(body)
                .unwrap(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json());
    assert_eq!(put.json()["size"], total);
    assert!(
        put.json()["etag"].as_str().unwrap().ends_with("-3"),
        "{:?}",
        put.json()
    );
    let metrics = h.call(Method::GET, "/metrics", None).await;
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    let counted: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("s3flow_http_request_bytes_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        counted >= total as u64,
        "streamed bytes are counted without Content-Length: {counted}"
    );
    let get = h
        .call(
            Method::GET,
            "/v1/connections/parts/objects/stream/big.bin",
            None,
        )
        .await;
    assert_eq!(get.body.len(), total);
    assert!(get
        .body
        .iter()
        .enumerate()
        .all(|(n, b)| *b == (n % 251) as u8));

    assert_eq!(
        h.call(
            Method::DELETE,
            "/v1/connections/local/objects/stream/dir/a.txt",
            None
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    h.call(
        Method::GET,
        "/v1/connections/local/objects/stream/dir/a.txt",
        None,
    )
    .await
    .assert_error(404, "not_found");
    assert_eq!(
        h.call(
            Method::HEAD,
            "/v1/connections/local/objects/stream/dir/a.txt",
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    h.call(
        Method::GET,
        "/v1/connections/local/objects/Bad_Bucket/a",
        None,
    )
    .await
    .assert_error(400, "invalid_input");
    h.call(
        Method::GET,
        "/v1/connections/local/objects/nobucket/a",
        None,
    )
    .await
    .assert_error(404, "not_found");
    h.call(Method::GET, "/v1/connections/nope/objects/stream/a", None)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn documents_round_trip_through_upload_and_download() {
    let h = Harness::new().await;
    h.bucket("docs").await;
    let created = h
        .send(
            h.request(Method::POST, "/v1/documents?file_name=report.pdf")
                .header("content-type", "application/pdf")
                .body(Body::from("%PDF-1.7 fake"))
                .unwrap(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let doc = created.json();
    assert_eq!(doc["size"], 13);
    assert_eq!(doc["file_name"], "report.pdf");
    assert_eq!(doc["content_type"], "application/pdf");
    assert_eq!(doc["sha256"].as_str().unwrap().len(), 64);
    assert!(doc["expires_at"].is_string());
    let id = doc["document_id"].as_str().unwrap().to_owned();

    let got = h
        .call(Method::GET, &format!("/v1/documents/{id}"), None)
        .await;
    assert_eq!(&got.body[..], b"%PDF-1.7 fake");
    assert_eq!(got.headers["content-type"], "application/pdf");
    assert!(got.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("report.pdf"));

    // upload from a document, to a folder key: the document's file name is appended.
    let up = h
        .action(
            "local",
            "upload",
            json!({"bucket": "docs", "key": "in/", "document": id}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.json());
    assert_eq!(up.json()["key"], "in/report.pdf");
    assert_eq!(up.json()["content_type"], "application/pdf");

    // download as a document.
    let down = h
        .action(
            "local",
            "download",
            json!({"bucket": "docs", "key": "in/report.pdf", "as": "document"}),
        )
        .await;
    assert_eq!(down.status, StatusCode::OK, "{:?}", down.json());
    let out = down.json();
    assert!(out["file"].is_null());
    assert_eq!(out["document"]["sha256"], doc["sha256"]);
    let second = out["document"]["document_id"].as_str().unwrap();
    assert_eq!(
        &h.call(Method::GET, &format!("/v1/documents/{second}"), None)
            .await
            .body[..],
        b"%PDF-1.7 fake"
    );

    // Content-Disposition names the file too.
    let named = h
        .send(
            h.request(Method::POST, "/v1/documents")
                .header("content-disposition", "attachment; filename=\"a.txt\"")
                .body(Body::from("x"))
                .unwrap(),
        )
        .await;
    assert_eq!(named.json()["file_name"], "a.txt");
    assert_eq!(named.json()["content_type"], "application/octet-stream");

    assert_eq!(
        h.call(Method::DELETE, &format!("/v1/documents/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    h.call(Method::GET, &format!("/v1/documents/{id}"), None)
        .await
        .assert_error(404, "not_found");
    h.call(Method::DELETE, &format!("/v1/documents/{id}"), None)
        .await
        .assert_error(404, "not_found");
    h.call(Method::GET, "/v1/documents/../../etc/passwd", None)
        .await;
    h.call(Method::GET, "/v1/documents/not-an-id", None)
        .await
        .assert_error(404, "not_found");
    h.send(
        h.request(Method::POST, "/v1/documents?file_name=../x")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await
    .assert_error(400, "invalid_input");
    h.send(
        h.request(Method::POST, "/v1/documents?bogus=1")
            .body(Body::from("x"))
            .unwrap(),
    )
    .await
    .assert_error(400, "invalid_input");
    h.action(
        "local",
        "download",
        json!({"bucket": "docs", "key": "missing", "as": "document"}),
    )
    .await
    .assert_error(404, "not_found");
}

#[tokio::test]
async fn documents_expire_and_have_a_size_limit() {
    let mut h = Harness::new().await;
    h.state = h
        .state
        .with_document_limits(std::time::Duration::from_secs(0), 10);
    let over = h
        .send(
            h.request(Method::POST, "/v1/documents")
                .body(Body::from("more than ten bytes"))
                .unwrap(),
        )
        .await;
    over.assert_error(413, "payload_too_large");
    // Without Content-Length: the stream is cut at the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(b"123456".to_vec()), Ok(b"789012".to_vec())];
    let streamed = h
        .send(
            h.request(Method::POST, "/v1/documents")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap(),
        )
        .await;
    streamed.assert_error(413, "payload_too_large");
    assert_eq!(
        std::fs::read_dir(h.state.documents_dir())
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "nothing left behind"
    );

    // A TTL of 0: expired at once, no longer served, removed by the cleanup.
    let created = h
        .send(
            h.request(Method::POST, "/v1/documents")
                .body(Body::from("tiny"))
                .unwrap(),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.json()["document_id"].as_str().unwrap().to_owned();
    h.call(Method::GET, &format!("/v1/documents/{id}"), None)
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        s3flow_server::documents::cleanup_expired(&h.state)
            .await
            .unwrap(),
        1
    );
    assert!(!h.state.documents_dir().join(&id).exists());
}

/// A stand-in S3 endpoint that answers every request with one S3 error.
async fn failing_s3(status: u16, code: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = vec![0u8; 65536];
                let _ = socket.read(&mut head).await;
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>stand-in</Message><RequestId>stand-in-id</RequestId></Error>"
                );
                let reply = format!(
                    "HTTP/1.1 {status} Stand-in\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn throttling_preconditions_and_timeouts_have_their_status() {
    let h = Harness::new().await;
    for (name, status, s3_code, code, http) in [
        ("slow", 503, "SlowDown", "throttled", 429),
        (
            "cond",
            412,
            "PreconditionFailed",
            "precondition_failed",
            412,
        ),
        ("broken", 500, "InternalError", "upstream_unavailable", 502),
        ("denied", 403, "AccessDenied", "access_denied", 403),
    ] {
        let endpoint = failing_s3(status, s3_code).await;
        let connection = s3flow::Connection {
            name: Some(name.into()),
            max_attempts: Some(1),
            ..s3flow::Connection::with_access_key(&endpoint, "a", "b", "us-east-1")
        };
        h.state.store().put_connection(&connection).await.unwrap();
        let reply = h.action(name, "list", json!({"bucket": "any"})).await;
        reply.assert_error(http, code);
        assert_eq!(reply.json()["error"]["s3_code"], s3_code);
        assert_eq!(
            reply.json()["error"]["retryable"],
            matches!(code, "throttled" | "upstream_unavailable")
        );
        assert!(reply.headers.contains_key("x-request-id"));
    }

    // A store that takes the connection and never answers: timeout (504).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let connection = s3flow::Connection {
        name: Some("silent".into()),
        max_attempts: Some(1),
        timeout_seconds: Some(1),
        ..s3flow::Connection::with_access_key(&endpoint, "a", "b", "us-east-1")
    };
    h.state.store().put_connection(&connection).await.unwrap();
    let reply = h.action("silent", "list", json!({"bucket": "any"})).await;
    reply.assert_error(504, "timeout");
    drop(silent);
}

#[tokio::test]
async fn json_bodies_over_the_limit_are_payload_too_large() {
    let h = Harness::new().await;
    let big = "x".repeat(s3flow_server::routes::MAX_JSON_BODY + 1);
    let input = format!("{{\"bucket\":\"b\",\"key\":\"k\",\"text\":\"{big}\"}}");
    h.raw(Method::POST, "/v1/connections/local/actions/upload", &input)
        .await
        .assert_error(413, "payload_too_large");
    h.raw(Method::POST, "/v1/connections", &input)
        .await
        .assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn bad_object_and_document_inputs_are_refused() {
    let h = Harness::new().await;
    h.bucket("inputs").await;
    let long_key = "k".repeat(1025);
    h.call(
        Method::GET,
        &format!("/v1/connections/local/objects/inputs/{long_key}"),
        None,
    )
    .await
    .assert_error(400, "invalid_input");
    h.send(
        h.request(
            Method::PUT,
            &format!("/v1/connections/local/objects/inputs/{long_key}"),
        )
        .body(Body::from("x"))
        .unwrap(),
    )
    .await
    .assert_error(400, "invalid_input");
    h.call(Method::DELETE, "/v1/connections/local/objects/a/k", None)
        .await
        .assert_error(400, "invalid_input");
    h.call(Method::GET, "/v1/connections/Bad/objects/inputs/k", None)
        .await
        .assert_error(400, "invalid_input");
    let bad_type = axum::http::HeaderValue::from_bytes(b"text/\xff").unwrap();
    h.send(
        h.request(Method::POST, "/v1/documents")
            .header("content-type", bad_type)
            .body(Body::from("x"))
            .unwrap(),
    )
    .await
    .assert_error(400, "invalid_input");
    for name in ["", "a/b", "..", "a\\b", &"n".repeat(256)] {
        let uri = format!(
            "/v1/documents?file_name={}",
            name.replace('\\', "%5C").replace('/', "%2F")
        );
        h.send(h.request(Method::POST, &uri).body(Body::from("x")).unwrap())
            .await
            .assert_error(400, "invalid_input");
    }
}

/// `s3flow serve` calls its embedded endpoint in process: a connection to the endpoint's URL
/// is served without a socket (here the URL is one nothing listens on), signatures are still
/// checked, and multipart bodies stream both ways.
#[tokio::test]
async fn the_embedded_endpoint_is_served_in_process() {
    let mut h = Harness::new().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    h.state = h
        .state
        .with_embedded_endpoint(nowhere.clone(), h.local.service());
    let part = 5 * 1024 * 1024;
    for (name, secret) in [("inproc", h.local.secret_key()), ("forged", "wrong-secret")] {
        let connection = s3flow::Connection {
            name: Some(name.into()),
            max_attempts: Some(1),
            part_size: Some(part as u64),
            ..s3flow::Connection::with_access_key(
                &nowhere,
                h.local.access_key(),
                secret,
                h.local.region(),
            )
        };
        h.state.store().put_connection(&connection).await.unwrap();
    }

    let created = h
        .action("inproc", "create_bucket", json!({"bucket": "inproc"}))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{:?}", created.json());
    let up = h
        .action(
            "inproc",
            "upload",
            json!({"bucket": "inproc", "key": "a/b.txt", "text": "hello"}),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.json());
    let list = h
        .action("inproc", "list", json!({"bucket": "inproc"}))
        .await;
    assert_eq!(list.json()["count"], 1, "{:?}", list.json());
    h.action("forged", "list", json!({"bucket": "inproc"}))
        .await
        .assert_error(403, "credentials_invalid");
    // The same store as over TCP.
    let down = h
        .action(
            "local",
            "download",
            json!({"bucket": "inproc", "key": "a/b.txt"}),
        )
        .await;
    assert_eq!(down.json()["content"]["text"], "hello", "{:?}", down.json());

    let total = 2 * part + 12345;
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..total / 65536 + 1)
        .map(|i| Ok((i * 65536..((i + 1) * 65536).min(total)).map(|n| (n % 251) as u8).collect()))
        .collect();
    let put = h
        .send(
            h.request(Method::PUT, "/v1/connections/inproc/objects/inproc/big.bin")
                .body(Body::from_stream(futures::stream::iter(chunks)))
                .unwrap(),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json());
    assert!(put.json()["etag"].as_str().unwrap().ends_with("-3"), "{:?}", put.json());
    let get = h
        .call(Method::GET, "/v1/connections/inproc/objects/inproc/big.bin", None)
        .await;
    assert_eq!(get.status, StatusCode::OK);
    assert_eq!(get.body.len(), total);
    assert!(get.body.iter().enumerate().all(|(n, b)| *b == (n % 251) as u8));
}

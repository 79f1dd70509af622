//! A service state over a temp folder (SQLite) with an embedded endpoint and a token.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use http::HeaderMap;
use s3flow::Connection;
use s3flow_local::{LocalConfig, LocalServer};
use s3flow_server::crypto::MasterKey;
use s3flow_server::{app, AppState, Store};
use serde_json::Value;
use tower::ServiceExt;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub state: AppState,
    pub token: String,
    pub local: LocalServer,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the contract's error shape, status and code.
    pub fn assert_error(&self, status: u16, code: &str) {
        let json = self.json();
        assert_eq!(self.status.as_u16(), status, "{json}");
        assert_eq!(json["error"]["code"], code, "{json}");
        assert!(json["error"]["message"].is_string(), "{json}");
        assert!(json["error"]["retryable"].is_boolean(), "{json}");
        assert!(json["error"]["request_id"].is_string(), "{json}");
    }
}

impl Harness {
    pub async fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), None, MasterKey::generate())
            .await
            .unwrap();
        let (_, token) = store.create_token().await.unwrap();
        let local = LocalServer::start(LocalConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..LocalConfig::new(dir.path().join("local"))
        })
        .await
        .unwrap();
        let connection = Connection {
            name: Some("local".into()),
            ..Connection::with_access_key(
                &local.endpoint(),
                local.access_key(),
                local.secret_key(),
                local.region(),
            )
        };
        store.put_connection(&connection).await.unwrap();
        let state = AppState::new(store, dir.path().join("documents"));
        Harness {
            dir,
            state,
            token,
            local,
        }
    }

    pub fn local_connection(&self, name: &str) -> Connection {
        Connection {
            name: Some(name.into()),
            ..Connection::with_access_key(
                &self.local.endpoint(),
                self.local.access_key(),
                self.local.secret_key(),
                self.local.region(),
            )
        }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub fn request(&self, method: Method, uri: &str) -> http::request::Builder {
        Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let builder = self.request(method, uri);
        let request = match body {
            Some(json) => builder
                .header("content-type", "application/json")
                .body(Body::from(json.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        self.send(request).await
    }

    pub async fn raw(&self, method: Method, uri: &str, body: &str) -> Reply {
        self.send(
            self.request(method, uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
    }

    pub async fn action(&self, connection: &str, action: &str, input: Value) -> Reply {
        self.call(
            Method::POST,
            &format!("/v1/connections/{connection}/actions/{action}"),
            Some(input),
        )
        .await
    }

    pub async fn bucket(&self, name: &str) {
        let reply = self
            .action(
                "local",
                "create_bucket",
                serde_json::json!({"bucket": name}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    }
}

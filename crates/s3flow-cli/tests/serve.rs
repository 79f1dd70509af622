//! `s3flow serve` end to end: the real binary on free ports with a temp `--data`, driven
//! over HTTP with its embedded endpoint and `local` connection — first start and its token,
//! streaming, pre-signed links, documents, restart, graceful shutdown on SIGTERM, logs
//! without secrets, and a wrong master key refused at start.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_s3flow");

struct Service {
    child: Child,
    api: String,
    announce: Value,
    stderr: std::thread::JoinHandle<String>,
}

fn command(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("S3FLOW_") || name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--local-listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--data",
    ])
    .arg(data)
    .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

fn start(mut cmd: Command) -> Service {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let announce: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let api = announce["api"].as_str().unwrap().to_owned();
    Service {
        child,
        api,
        announce,
        stderr,
    }
}

impl Service {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    /// SIGTERM, then the exit status and everything logged.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        terminate(&self.child);
        let status = self.child.wait().unwrap();
        (status, self.stderr.join().unwrap())
    }
}

fn terminate(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

async fn json_of(reply: reqwest::Response) -> Value {
    let bytes = reply.bytes().await.unwrap();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn action(
    http: &reqwest::Client,
    svc: &Service,
    token: &str,
    action: &str,
    input: Value,
) -> (u16, Value) {
    let reply = http
        .post(svc.url(&format!("/v1/connections/local/actions/{action}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(input.to_string())
        .send()
        .await
        .unwrap();
    {
        let status = reply.status().as_u16();
        (status, json_of(reply).await)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_end_to_end_with_restart_and_graceful_shutdown() {
    let data = tempfile::tempdir().unwrap();
    let http = client();
    let svc = start(command(data.path()));
    let token = svc.announce["token"]["token"]
        .as_str()
        .expect("a first token on a fresh store")
        .to_owned();
    assert!(svc.announce["local_endpoint"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));

    // Health without a token; everything else needs one.
    assert_eq!(
        http.get(svc.url("/v1/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let refused = http.get(svc.url("/v1/connections")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(json_of(refused).await["error"]["code"], "unauthorized");

    // The ready `local` connection, secrets redacted.
    let local: Value = http
        .get(svc.url("/v1/connections/local"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(local["auth"]["secret_access_key"], "***");

    // Actions, streaming, pre-signed links, documents.
    assert_eq!(
        action(
            &http,
            &svc,
            &token,
            "create_bucket",
            json!({"bucket": "e2e"})
        )
        .await
        .0,
        200
    );
    let body: Vec<u8> = (0..3 * 1024 * 1024u32).map(|n| (n % 253) as u8).collect();
    let put = http
        .put(svc.url("/v1/connections/local/objects/e2e/big/file.bin"))
        .bearer_auth(&token)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let got = http
        .get(svc.url("/v1/connections/local/objects/e2e/big/file.bin"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.headers()["content-length"],
        body.len().to_string().as_str()
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), body);
    let (status, presigned) = action(
        &http,
        &svc,
        &token,
        "presign",
        json!({"bucket": "e2e", "key": "big/file.bin"}),
    )
    .await;
    assert_eq!(status, 200);
    let fetched = http
        .get(presigned["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().len(), body.len());
    let doc: Value = http
        .post(svc.url("/v1/documents?file_name=note.txt"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("from a document")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    let (status, up) = action(
        &http,
        &svc,
        &token,
        "upload",
        json!({"bucket": "e2e", "key": "docs/", "document": doc["document_id"]}),
    )
    .await;
    assert_eq!(
        (status, up["key"].clone()),
        (200, json!("docs/note.txt")),
        "{up}"
    );
    let metrics = http
        .get(svc.url("/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("s3flow_http_requests_total"), "{metrics}");

    // A request in flight when SIGTERM arrives still finishes.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let slow = http
        .put(svc.url("/v1/connections/local/objects/e2e/slow.txt"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let slow = tokio::spawn(slow);
    tx.send(Ok(b"first half, ".to_vec())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    terminate(&svc.child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(Ok(b"second half".to_vec())).await.unwrap();
    drop(tx);
    let reply = slow.await.unwrap().unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(json_of(reply).await["size"], 23);
    let (status, logs) = svc.stop();
    assert!(status.success(), "{status:?}\n{logs}");
    assert!(logs.contains("\"request_id\""), "{logs}");
    // Lines are queued for a writer thread: the last one, logged at exit, is written out too.
    assert!(logs.contains("\"message\":\"stopped\""), "{logs}");
    assert!(!logs.contains(&token), "the token is in the logs");
    let secret =
        std::fs::read_to_string(data.path().join("local/.s3flow-local-secret")).unwrap_or_default();
    if !secret.trim().is_empty() {
        assert!(
            !logs.contains(secret.trim()),
            "the local secret is in the logs"
        );
    }

    // Restart on the same data: no new token, the old one and the objects are still there.
    let svc = start(command(data.path()));
    assert!(svc.announce["token"].is_null(), "{}", svc.announce);
    let (status, out) = action(
        &http,
        &svc,
        &token,
        "download",
        json!({"bucket": "e2e", "key": "slow.txt"}),
    )
    .await;
    assert_eq!(
        (status, out["content"]["text"].clone()),
        (200, json!("first half, second half")),
        "{out}"
    );
    let (status, _) = svc.stop();
    assert!(status.success());

    // A wrong master key fails at start with a clear message, before serving anything.
    let mut cmd = command(data.path());
    cmd.env(
        "S3FLOW_MASTER_KEY",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "invalid_input");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("master key"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_without_the_embedded_endpoint() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = command(data.path());
    cmd.arg("--no-local");
    let svc = start(cmd);
    assert!(svc.announce["local_endpoint"].is_null());
    let token = svc.announce["token"]["token"].as_str().unwrap().to_owned();
    let list: Value = client()
        .get(svc.url("/v1/connections"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice::<Value>(&b).unwrap())
        .unwrap();
    assert_eq!(list["connections"], json!([]));
    let (status, _) = svc.stop();
    assert!(status.success());
}

#[test]
fn bad_serve_flags_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--database", "ftp://nowhere/db"], "invalid_input"),
        (vec!["--log-format", "xml"], "invalid_input"),
        (vec!["--listen", "not-an-address"], "invalid_input"),
        (vec!["--listen", &busy], "invalid_input"),
        (vec!["--local-listen", &busy], "invalid_input"),
    ];
    for (args, code) in cases {
        let mut cmd = command(data.path());
        cmd.args(&args);
        let out = cmd.output().unwrap();
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(json["error"]["code"], code, "{args:?}: {json}");
        assert_ne!(out.status.code(), Some(0), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_made_by_the_cli_works_against_the_service_until_revoked() {
    let data = tempfile::tempdir().unwrap();
    let svc = start(command(data.path()));
    let mut create = Command::new(BIN);
    create.args(["token", "create", "--data"]).arg(data.path());
    let made: Value = serde_json::from_slice(&create.output().unwrap().stdout).unwrap();
    let token = made["token"].as_str().unwrap();
    let http = client();
    let get = || http.get(svc.url("/v1/actions")).bearer_auth(token).send();
    assert_eq!(get().await.unwrap().status(), 200);
    let mut revoke = Command::new(BIN);
    revoke
        .args(["token", "revoke", made["id"].as_str().unwrap(), "--data"])
        .arg(data.path());
    assert!(revoke.output().unwrap().status.success());
    // Revoked by another process: the service trusts a verified token for up to
    // TOKEN_CACHE_TTL (1 s) before it asks the store again.
    let mut status = get().await.unwrap().status();
    for _ in 0..100 {
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = get().await.unwrap().status();
    }
    assert_eq!(status, 401);
    let (status, _) = svc.stop();
    assert!(status.success());
}

/// A fresh PostgreSQL database for this run, or None (SKIP) when PostgreSQL is unreachable
/// and `S3FLOW_TEST_REQUIRE_POSTGRES` is not set.
async fn fresh_postgres() -> Option<(String, String)> {
    use sqlx::Connection as _;
    let admin = std::env::var("S3FLOW_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(e) => {
            if std::env::var_os("S3FLOW_TEST_REQUIRE_POSTGRES").is_some() {
                panic!("PostgreSQL at {admin} is required but unreachable: {e}");
            }
            println!("SKIP: PostgreSQL at {admin} is unreachable: {e}");
            return None;
        }
    };
    let name = format!("s3flow_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').unwrap().0.to_owned();
    Some((format!("{base}/{name}"), name))
}

#[tokio::test(flavor = "multi_thread")]
async fn two_services_on_one_postgres_share_connections_and_tokens() {
    let Some((url, name)) = fresh_postgres().await else {
        return;
    };
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut cmd_a = command(data_a.path());
    cmd_a
        .args(["--database", &url])
        .env("S3FLOW_MASTER_KEY", key);
    let a = start(cmd_a);
    let mut cmd_b = command(data_b.path());
    cmd_b
        .args(["--database", &url, "--no-local"])
        .env("S3FLOW_MASTER_KEY", key);
    let b = start(cmd_b);
    let token = a.announce["token"]["token"].as_str().unwrap().to_owned();
    assert!(
        b.announce["token"].is_null(),
        "one first token for the shared store"
    );

    // A's embedded endpoint saved through A as "shared", used through B.
    let http = client();
    let local: Value = json_of(
        http.get(a.url("/v1/connections/local"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(local["endpoint"].is_string());
    let created = http
        .post(b.url("/v1/connections/local/actions/create_bucket"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(json!({"bucket": "shared-pg"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    let put = http
        .put(b.url("/v1/connections/local/objects/shared-pg/x.txt"))
        .bearer_auth(&token)
        .body("through b")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let got = http
        .get(a.url("/v1/connections/local/objects/shared-pg/x.txt"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "through b");

    let (status_a, _) = a.stop();
    let (status_b, _) = b.stop();
    assert!(status_a.success() && status_b.success());
    use sqlx::Connection as _;
    if let Ok(mut conn) = sqlx::PgConnection::connect(
        &std::env::var("S3FLOW_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
    )
    .await
    {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

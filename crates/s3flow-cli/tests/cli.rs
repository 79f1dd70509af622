//! The real `s3flow` binary against the embedded endpoint (`s3flow-local`), started once in
//! this process on a free port. Every test makes its own bucket with a fresh name, so tests
//! run in parallel and in any order. Every refused write is followed by a look at the bucket
//! to check that nothing was written.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_s3flow");

// ---------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------

struct Endpoint {
    url: String,
    access_key: String,
    secret_key: String,
    region: String,
}

/// One embedded endpoint for the whole test binary, on its own runtime thread.
fn endpoint() -> &'static Endpoint {
    static ENDPOINT: OnceLock<Endpoint> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let mut config = s3flow_local::LocalConfig::new(scratch_dir("endpoint"));
                config.listen = "127.0.0.1:0".parse().unwrap();
                let server = s3flow_local::LocalServer::start(config)
                    .await
                    .expect("start the local endpoint");
                tx.send(Endpoint {
                    url: server.endpoint(),
                    access_key: server.access_key().to_owned(),
                    secret_key: server.secret_key().to_owned(),
                    region: server.region().to_owned(),
                })
                .unwrap();
                std::future::pending::<()>().await;
            });
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the local endpoint did not start")
    })
}

/// A fresh folder under cargo's per-target scratch space.
fn scratch_dir(what: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("s3flow-cli-tests")
        .join(unique(what));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unique(what: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{what}-{}-{nanos:x}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {:?}\nstderr: {}",
                String::from_utf8_lossy(&self.stdout),
                self.stderr
            )
        })
    }

    fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).unwrap()
    }

    /// Asserts success; the output JSON.
    fn ok(&self) -> Value {
        assert_eq!(
            self.code,
            0,
            "stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        );
        self.json()
    }

    /// Asserts the failure shape of §5: `{"error":{code…}}` on stdout, one `s3flow: code:`
    /// line on stderr, the exit code of the error code.
    fn fails(&self, code: &str, exit: i32) -> Value {
        let out = self.json();
        assert_eq!(out["error"]["code"], code, "{out}\nstderr: {}", self.stderr);
        assert_eq!(self.code, exit, "{out}\nstderr: {}", self.stderr);
        assert!(out["error"]["message"].is_string(), "{out}");
        // Usage errors keep clap's own message (`error: …` and the usage) on stderr.
        let human = self.stderr.contains(&format!("s3flow: {code}: "))
            || (code == "invalid_input" && self.stderr.starts_with("error: "));
        assert!(human, "stderr: {}", self.stderr);
        out
    }
}

/// The binary with a clean environment: no inherited `S3FLOW_*`/`AWS_*`, no shared AWS files.
fn command() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("S3FLOW_") || name.starts_with("AWS_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/s3flow-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/s3flow-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// `s3flow ARGS` connected to the embedded endpoint through `S3FLOW_*` variables.
fn s3flow(args: &[&str]) -> Run {
    s3flow_with(args, &[], None)
}

fn s3flow_with(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    let ep = endpoint();
    let mut cmd = command();
    cmd.env("S3FLOW_ENDPOINT", &ep.url)
        .env("S3FLOW_ACCESS_KEY_ID", &ep.access_key)
        .env("S3FLOW_SECRET_ACCESS_KEY", &ep.secret_key)
        .env("S3FLOW_REGION", &ep.region);
    for (name, value) in env {
        cmd.env(name, value);
    }
    run(cmd.args(args), stdin)
}

fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Run {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn s3flow");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A new bucket with a unique name.
fn new_bucket(test: &str) -> String {
    let name = unique(&format!("t-{test}"))
        .replace('_', "-")
        .to_ascii_lowercase();
    let name: String = name.chars().take(63).collect();
    let name = name.trim_end_matches('-').to_owned();
    s3flow(&["bucket", "create", &format!("s3://{name}")]).ok();
    name
}

/// Every key in the bucket.
fn keys(bucket: &str) -> Vec<String> {
    let out = s3flow(&["list", &format!("s3://{bucket}"), "--max", "0"]).ok();
    out["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap().to_owned())
        .collect()
}

fn text_of(bucket: &str, key: &str) -> String {
    let out = s3flow(&["download", &format!("s3://{bucket}/{key}"), "--as", "text"]).ok();
    out["content"]["text"].as_str().unwrap().to_owned()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

// ---------------------------------------------------------------------------------------
// Upload and download
// ---------------------------------------------------------------------------------------

#[test]
fn upload_text_and_download_as_json_content() {
    let b = new_bucket("text");
    let out = s3flow(&[
        "upload",
        "--text",
        "hello",
        &format!("s3://{b}/notes/hello.txt"),
        "--metadata",
        "invoice-id=INV-7",
    ])
    .ok();
    assert_eq!(out["bucket"], b.as_str());
    assert_eq!(out["key"], "notes/hello.txt");
    assert_eq!(out["size"], 5);
    assert_eq!(out["content_type"], "text/plain; charset=utf-8");
    assert!(
        out["version_id"].is_null() && out["backup"].is_null(),
        "{out}"
    );

    let out = s3flow(&["download", &format!("s3://{b}/notes/hello.txt")]).ok();
    assert_eq!(out["content"], json!({"text": "hello"}));
    assert_eq!(out["metadata"]["invoice-id"], "INV-7");

    let out = s3flow(&[
        "upload",
        "--json",
        r#"{"id": 7}"#,
        &format!("s3://{b}/doc.json"),
    ])
    .ok();
    assert_eq!(out["content_type"], "application/json");
    let out = s3flow(&["download", &format!("s3://{b}/doc.json")]).ok();
    assert_eq!(out["content"], json!({"json": {"id": 7}}));

    s3flow(&["upload", "--base64", "/wA=", &format!("s3://{b}/bin")]).ok();
    let out = s3flow(&["download", &format!("s3://{b}/bin")]).ok();
    assert_eq!(out["content"], json!({"base64": "/wA="}));
}

#[test]
fn upload_key_templates_and_vars() {
    let b = new_bucket("templates");
    let out = s3flow(&[
        "upload",
        "--text",
        "x",
        &format!("s3://{b}/invoices/{{yyyy}}/{{invoice_id}}.txt"),
        "--var",
        "invoice_id=INV-9",
    ])
    .ok();
    let year = out["key"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(year.len(), 4, "{out}");
    assert_eq!(out["key"], format!("invoices/{year}/INV-9.txt"));
}

#[test]
fn upload_a_file_and_download_to_a_file_and_a_directory() {
    let b = new_bucket("file");
    let dir = scratch_dir("file");
    let source = dir.join("report.pdf");
    let body: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&source, &body).unwrap();

    let out = s3flow(&[
        "upload",
        source.to_str().unwrap(),
        &format!("s3://{b}/2026/"),
    ])
    .ok();
    assert_eq!(
        out["key"], "2026/report.pdf",
        "a folder key takes the file name"
    );
    assert_eq!(out["content_type"], "application/pdf");
    assert_eq!(out["size"], body.len());

    let target = dir.join("copy.pdf");
    let out = s3flow(&[
        "download",
        &format!("s3://{b}/2026/report.pdf"),
        target.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(out["file"], target.to_str().unwrap());
    assert!(out.get("content").is_none(), "{out}");
    assert_eq!(std::fs::read(&target).unwrap(), body);

    let inbox = dir.join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    s3flow(&[
        "download",
        &format!("s3://{b}/2026/report.pdf"),
        inbox.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(std::fs::read(inbox.join("report.pdf")).unwrap(), body);

    // A directory SRC waits for --recursive.
    s3flow(&["upload", dir.to_str().unwrap(), &format!("s3://{b}/dir/")]).fails("invalid_input", 2);
    assert_eq!(keys(&b), ["2026/report.pdf"]);
}

#[test]
fn upload_stdin_and_download_to_stdout() {
    let b = new_bucket("stdin");
    let body: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let out = s3flow_with(
        &["upload", "-", &format!("s3://{b}/raw.bin")],
        &[],
        Some(&body),
    )
    .ok();
    assert_eq!(out["size"], 5000);
    let run = s3flow(&["download", &format!("s3://{b}/raw.bin"), "-"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body, "raw bytes on stdout, nothing else");
}

/// Past the threshold both ways: stdin in parts (multipart), stdout from parallel ranges.
#[test]
fn large_stdin_and_stdout_stream() {
    let b = new_bucket("stream");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let body: Vec<u8> = (0..23 * 1024 * 1024 + 5)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let part_size = (5 * 1024 * 1024).to_string();
    let env = [("S3FLOW_PART_SIZE", part_size.as_str())];
    let out = s3flow_with(
        &["upload", "-", &format!("s3://{b}/big.bin")],
        &env,
        Some(&body),
    )
    .ok();
    assert_eq!(out["size"], body.len());
    assert_eq!(out["checksum"]["algorithm"], "CRC32", "{out}");
    let head = s3flow(&["head", &format!("s3://{b}/big.bin")]).ok();
    assert!(
        head["etag"].as_str().unwrap().ends_with("-5"),
        "5 parts: {head}"
    );
    let run = s3flow_with(&["download", &format!("s3://{b}/big.bin"), "-"], &env, None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout == body, "the same bytes came back");
}

#[test]
fn directory_upload_and_download_recursive() {
    let b = new_bucket("dirs");
    let src = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(src.path().join("sub")).unwrap();
    std::fs::write(src.path().join("a.txt"), "a").unwrap();
    std::fs::write(src.path().join("sub/b.txt"), "bb").unwrap();
    std::fs::write(src.path().join("sub/c.log"), "ccc").unwrap();
    let run = s3flow(&[
        "upload",
        src.path().to_str().unwrap(),
        &format!("s3://{b}/in"),
        "--recursive",
        "--exclude",
        "*.log",
        "--concurrency",
        "2",
    ]);
    let out = run.ok();
    assert!(
        !run.stderr.contains("files"),
        "no progress bar when stderr is not a terminal: {}",
        run.stderr
    );
    assert_eq!(
        out,
        serde_json::json!({"transferred": 2, "failed": 0, "bytes": 3, "errors": []})
    );
    let mut listed = keys(&b);
    listed.sort();
    assert_eq!(listed, ["in/a.txt", "in/sub/b.txt"]);

    // A key that would escape the target folder is refused; the rest arrive; exit 1.
    s3flow(&[
        "upload",
        "--text",
        "evil",
        &format!("s3://{b}/in/../escape.txt"),
    ])
    .ok();
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("out");
    let run = s3flow(&[
        "download",
        &format!("s3://{b}/in/"),
        target.to_str().unwrap(),
        "--recursive",
    ]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let summary = run.json();
    assert_eq!(summary["transferred"], 2, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["errors"][0]["key"], "in/../escape.txt");
    assert_eq!(summary["errors"][0]["code"], "invalid_input");
    assert_eq!(std::fs::read(target.join("sub/b.txt")).unwrap(), b"bb");
    assert!(!dest.path().join("escape.txt").exists());
    assert!(run.stderr.contains("failed"), "{}", run.stderr);
}

#[test]
fn download_range_and_forms() {
    let b = new_bucket("range");
    s3flow(&[
        "upload",
        "--text",
        "0123456789",
        &format!("s3://{b}/digits.txt"),
    ])
    .ok();
    let out = s3flow(&[
        "download",
        &format!("s3://{b}/digits.txt"),
        "--range",
        "bytes=2-4",
    ])
    .ok();
    assert_eq!(out["content"]["text"], "234");
    let out = s3flow(&[
        "download",
        &format!("s3://{b}/digits.txt"),
        "--as",
        "base64",
    ])
    .ok();
    assert_eq!(out["content"]["base64"], "MDEyMzQ1Njc4OQ==");
    let out = s3flow(&[
        "download",
        &format!("s3://{b}/digits.txt"),
        "--max-inline-bytes",
        "3",
    ]);
    out.fails("payload_too_large", 2);
    s3flow(&[
        "download",
        &format!("s3://{b}/digits.txt"),
        "--as",
        "sideways",
    ])
    .fails("invalid_input", 2);
}

// ---------------------------------------------------------------------------------------
// Listing, head, delete
// ---------------------------------------------------------------------------------------

#[test]
fn list_folders_and_head() {
    let b = new_bucket("list");
    for key in ["a/1.txt", "a/2.txt", "b/c/3.txt", "top.txt"] {
        s3flow(&["upload", "--text", key, &format!("s3://{b}/{key}")]).ok();
    }
    let out = s3flow(&["list", &format!("s3://{b}")]).ok();
    assert_eq!(out["count"], 4);
    let out = s3flow(&["list", &format!("s3://{b}/a/")]).ok();
    assert_eq!(out["objects"].as_array().unwrap().len(), 2);
    let out = s3flow(&["list", &format!("s3://{b}"), "--no-recursive"]).ok();
    assert_eq!(out["folders"], json!(["a/", "b/"]));
    assert_eq!(out["objects"][0]["key"], "top.txt");

    let page = s3flow(&["list", &format!("s3://{b}"), "--max", "2"]).ok();
    assert_eq!(page["is_truncated"], true);
    let token = page["next_continuation_token"].as_str().unwrap();
    let rest = s3flow(&["list", &format!("s3://{b}"), "--continuation-token", token]).ok();
    assert_eq!(rest["count"], 2);
    let after = s3flow(&["list", &format!("s3://{b}"), "--start-after", "b/c/3.txt"]).ok();
    assert_eq!(after["objects"][0]["key"], "top.txt");

    let out = s3flow(&["folders", &format!("s3://{b}/")]).ok();
    assert_eq!(out["folders"], json!(["a/", "b/"]));
    let out = s3flow(&["folders", &format!("s3://{b}/b/")]).ok();
    assert_eq!(out["folders"], json!(["b/c/"]));

    let out = s3flow(&["head", &format!("s3://{b}/a/1.txt")]).ok();
    assert_eq!(out["size"], 7);
    assert_eq!(out["content_type"], "text/plain; charset=utf-8");
    assert_eq!(out["storage_class"], "STANDARD");
}

#[test]
fn table_output_for_people() {
    let b = new_bucket("table");
    s3flow(&["upload", "--text", "x", &format!("s3://{b}/a b.txt")]).ok();
    s3flow(&["upload", "--text", "x", &format!("s3://{b}/dir/y.txt")]).ok();
    let run = s3flow(&[
        "list",
        &format!("s3://{b}"),
        "--no-recursive",
        "--output",
        "table",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = run.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("LAST MODIFIED") && lines[0].ends_with("KEY"),
        "{text}"
    );
    assert!(
        lines[1].contains("PRE") && lines[1].ends_with("dir/"),
        "{text}"
    );
    assert!(lines[2].ends_with("  a b.txt"), "{text}");

    let text = s3flow_with(
        &["head", &format!("s3://{b}/a b.txt")],
        &[("S3FLOW_OUTPUT", "table")],
        None,
    )
    .stdout_text();
    assert!(text.lines().any(|l| l == "key: a b.txt"), "{text}");
    assert!(text.lines().any(|l| l == "size: 1"), "{text}");

    let text = s3flow(&["bucket", "list", "--output", "table"]).stdout_text();
    assert!(
        text.starts_with("CREATED") && text.lines().any(|l| l.ends_with(&format!("  {b}"))),
        "{text}"
    );
}

#[test]
fn delete_one_a_folder_and_many() {
    let b = new_bucket("delete");
    for key in ["logs/1", "logs/2", "logs-old/3", "keep/4", "x", "y", "z"] {
        s3flow(&["upload", "--text", "x", &format!("s3://{b}/{key}")]).ok();
    }
    let out = s3flow(&["delete", &format!("s3://{b}/x")]).ok();
    assert_eq!(out["key"], "x");

    // "logs" is the folder logs/: logs-old/ is not caught.
    let out = s3flow(&[
        "delete",
        &format!("s3://{b}/logs"),
        "--recursive",
        "--dry-run",
    ])
    .ok();
    assert_eq!(out["would_delete"], 2);
    assert_eq!(keys(&b).len(), 6, "a dry run deletes nothing");
    let out = s3flow(&["delete", &format!("s3://{b}/logs/"), "--recursive"]).ok();
    assert_eq!(out["deleted_count"], 2);
    assert_eq!(keys(&b), ["keep/4", "logs-old/3", "y", "z"]);

    let out = s3flow(&["delete-objects", &format!("s3://{b}"), "--key", "y"]).ok();
    assert_eq!(out["deleted_count"], 1);
    let out = s3flow_with(
        &["delete-objects", &format!("s3://{b}"), "--keys-from", "-"],
        &[],
        Some(b"z\nlogs-old/3\n\n"),
    )
    .ok();
    assert_eq!(out["deleted_count"], 2);
    assert_eq!(out["errors"], json!([]));
    assert_eq!(keys(&b), ["keep/4"]);

    s3flow(&["delete-objects", &format!("s3://{b}")]).fails("invalid_input", 2);
    // --dry-run needs --recursive: a usage error.
    s3flow(&["delete", &format!("s3://{b}/keep/4"), "--dry-run"]).fails("invalid_input", 2);
    assert_eq!(keys(&b), ["keep/4"]);
}

#[test]
fn empty_prefix_delete_recursive_is_refused() {
    let b = new_bucket("wholebucket");
    s3flow(&["upload", "--text", "x", &format!("s3://{b}/a")]).ok();
    s3flow(&["delete", &format!("s3://{b}"), "--recursive"]).fails("invalid_input", 2);
    s3flow(&["delete", &format!("s3://{b}/"), "--recursive"]).fails("invalid_input", 2);
    assert_eq!(keys(&b), ["a"], "nothing was deleted");
    let out = s3flow(&[
        "delete",
        &format!("s3://{b}/"),
        "--recursive",
        "--allow-entire-bucket",
        "--dry-run",
    ])
    .ok();
    assert_eq!(out["would_delete"], 1);
}

// ---------------------------------------------------------------------------------------
// Copy, move, presign
// ---------------------------------------------------------------------------------------

#[test]
fn copy_and_move() {
    let b = new_bucket("copy");
    let other = new_bucket("copy-target");
    s3flow(&[
        "upload",
        "--text",
        "payload",
        &format!("s3://{b}/in/r.txt"),
        "--metadata",
        "a=1",
    ])
    .ok();

    let out = s3flow(&[
        "copy",
        &format!("s3://{b}/in/r.txt"),
        &format!("s3://{other}/archive/"),
    ])
    .ok();
    assert_eq!(out["key"], "archive/r.txt");
    assert_eq!(out["source"]["key"], "in/r.txt");
    assert_eq!(text_of(&other, "archive/r.txt"), "payload");

    s3flow(&[
        "copy",
        &format!("s3://{b}/in/r.txt"),
        &format!("s3://{b}/in/r2.txt"),
        "--metadata",
        "b=2",
        "--content-type",
        "text/csv",
    ])
    .ok();
    let head = s3flow(&["head", &format!("s3://{b}/in/r2.txt")]).ok();
    assert_eq!(head["metadata"], json!({"b": "2"}));
    assert_eq!(head["content_type"], "text/csv");

    let out = s3flow(&[
        "move",
        &format!("s3://{b}/in/r.txt"),
        &format!("s3://{b}/done/r.txt"),
    ])
    .ok();
    assert_eq!(out["key"], "done/r.txt");
    assert_eq!(keys(&b), ["done/r.txt", "in/r2.txt"]);
    s3flow(&[
        "move",
        &format!("s3://{b}/in/missing.txt"),
        &format!("s3://{b}/done/"),
    ])
    .fails("not_found", 3);
    assert_eq!(keys(&b), ["done/r.txt", "in/r2.txt"]);
}

#[test]
fn presign_get_and_put_links_work() {
    let b = new_bucket("presign");
    s3flow(&["upload", "--text", "shared", &format!("s3://{b}/share.txt")]).ok();
    let out = s3flow(&[
        "presign",
        &format!("s3://{b}/share.txt"),
        "--expires",
        "15m",
    ])
    .ok();
    assert_eq!(out["method"], "GET");
    assert!(out["expires_at"].is_string());
    let url = out["url"].as_str().unwrap().to_owned();
    let body = block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
    assert_eq!(body, "shared");

    let out = s3flow(&[
        "presign",
        &format!("s3://{b}/upload.csv"),
        "--method",
        "put",
        "--content-type",
        "text/csv",
    ])
    .ok();
    assert_eq!(out["method"], "PUT");
    let url = out["url"].as_str().unwrap().to_owned();
    let status = block_on(async {
        reqwest::Client::new()
            .put(&url)
            .header("content-type", "text/csv")
            .body("a,b\n")
            .send()
            .await
            .unwrap()
            .status()
    });
    assert!(status.is_success(), "{status}");
    assert_eq!(text_of(&b, "upload.csv"), "a,b\n");
}

#[test]
fn the_shared_aws_s3_endpoint_variable_is_followed() {
    // Only the AWS variables, with the S3-specific endpoint: requests and pre-signed links both
    // go to it (path style), not to s3.amazonaws.com.
    let ep = endpoint();
    let b = new_bucket("awsenv");
    let aws = |args: &[&str]| {
        let mut cmd = command();
        cmd.env("AWS_ENDPOINT_URL_S3", &ep.url)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9/not-this-one")
            .env("AWS_ACCESS_KEY_ID", &ep.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &ep.secret_key)
            .env("AWS_REGION", &ep.region);
        run(cmd.args(args), None)
    };
    aws(&["upload", "--text", "via env", &format!("s3://{b}/k.txt")]).ok();
    let url = aws(&["presign", &format!("s3://{b}/k.txt")]).ok()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/{b}/k.txt?", ep.url.trim_end_matches('/'))), "{url}");
    let body = block_on(async { reqwest::get(&url).await.unwrap().text().await.unwrap() });
    assert_eq!(body, "via env");
}

#[test]
fn presign_expiry_limits() {
    let b = new_bucket("expiry");
    for expires in ["0", "8d", "soon"] {
        s3flow(&["presign", &format!("s3://{b}/k"), "--expires", expires])
            .fails("invalid_input", 2);
    }
}

// ---------------------------------------------------------------------------------------
// Buckets, api, run, schema
// ---------------------------------------------------------------------------------------

#[test]
fn bucket_create_location_list_versioning() {
    let name = unique("t-buckets").to_ascii_lowercase();
    let out = s3flow(&["bucket", "create", &format!("s3://{name}")]).ok();
    assert_eq!(out["bucket"], name.as_str());
    assert_eq!(out["region"], endpoint().region.as_str());
    s3flow(&["bucket", "create", &format!("s3://{name}")]).fails("already_exists", 5);

    let out = s3flow(&["bucket", "location", &format!("s3://{name}")]).ok();
    assert_eq!(out["region"], endpoint().region.as_str());
    let out = s3flow(&["bucket", "list"]).ok();
    assert!(
        out["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == name.as_str()),
        "{out}"
    );

    let out = s3flow(&["bucket", "versioning", &format!("s3://{name}"), "--enable"]).ok();
    assert_eq!(out["status"], "Enabled");
    let out = s3flow(&["bucket", "versioning", &format!("s3://{name}"), "--suspend"]).ok();
    assert_eq!(out["status"], "Suspended");
    // --enable or --suspend is required.
    s3flow(&["bucket", "versioning", &format!("s3://{name}")]).fails("invalid_input", 2);
}

#[test]
fn invalid_bucket_names_are_refused() {
    s3flow(&["bucket", "create", "s3://Bad_Bucket"]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "x", "s3://Bad_Bucket/k"]).fails("invalid_input", 2);
    let out = s3flow(&["bucket", "list"]).ok();
    assert!(!out.to_string().contains("Bad_Bucket"), "{out}");
    s3flow(&["bucket", "create", "s3://ok-name/with-key"]).fails("invalid_input", 2);
}

#[test]
fn api_get_is_signed() {
    let b = new_bucket("api");
    s3flow(&["upload", "--text", "x", &format!("s3://{b}/k.txt")]).ok();
    let out = s3flow(&["api", "GET", &format!("/{b}"), "--query", "list-type=2"]).ok();
    assert_eq!(out["status"], 200);
    let body = out["body"]["text"].as_str().unwrap();
    assert!(body.contains("<Key>k.txt</Key>"), "{body}");
    let out = s3flow(&["api", "GET", &format!("/{b}/k.txt")]).ok();
    assert_eq!(out["body"], json!({"text": "x"}));
    s3flow(&[
        "api",
        "GET",
        &format!("/{b}"),
        "--header",
        "authorization=x",
    ])
    .fails("invalid_input", 2);
}

#[test]
fn run_takes_json_a_file_or_stdin() {
    let b = new_bucket("run");
    let input = json!({"bucket": b, "key": "a.txt", "text": "from run"}).to_string();
    let out = s3flow(&["run", "upload", "--input", &input]).ok();
    assert_eq!(out["key"], "a.txt");

    let file = scratch_dir("run").join("head.json");
    std::fs::write(&file, json!({"bucket": b, "key": "a.txt"}).to_string()).unwrap();
    let out = s3flow(&["run", "head", "--input", &format!("@{}", file.display())]).ok();
    assert_eq!(out["size"], 8);

    let stdin = json!({"bucket": b, "prefix": ""}).to_string();
    let out = s3flow_with(
        &["run", "list-folders", "--input", "-"],
        &[],
        Some(stdin.as_bytes()),
    )
    .ok();
    assert_eq!(out["folders"], json!([]));
    let out = s3flow(&["run", "list_buckets"]).ok();
    assert!(out["buckets"].is_array());

    s3flow(&["run", "upload", "--input", "{not json"]).fails("invalid_input", 2);
    s3flow(&[
        "run",
        "upload",
        "--input",
        &json!({"bucket": b, "nope": 1}).to_string(),
    ])
    .fails("invalid_input", 2);
    s3flow(&["run", "teleport", "--input", "{}"]).fails("not_found", 3);
    assert_eq!(keys(&b), ["a.txt"]);
}

#[test]
fn schema_of_one_action_and_of_all() {
    // No connection needed: run without any endpoint variables.
    let one = run(command().args(["schema", "upload"]), None).ok();
    assert_eq!(one["action"], "upload");
    assert!(one["summary"].is_string());
    assert!(one["input"]["properties"]["bucket"].is_object(), "{one}");
    assert!(one["output"]["properties"]["etag"].is_object(), "{one}");
    let all = run(command().arg("schema"), None).ok();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"upload") && names.contains(&"api_call") && names.len() >= 16,
        "{names:?}"
    );
    let missing = run(command().args(["schema", "teleport"]), None);
    missing.fails("not_found", 3);
}

// ---------------------------------------------------------------------------------------
// Refusals: code, exit code, and nothing written
// ---------------------------------------------------------------------------------------

#[test]
fn directory_concurrency_must_be_positive_and_recursive() {
    let b = new_bucket("dirconc");
    let src = tempfile::tempdir().unwrap();
    let dir = src.path().to_str().unwrap();
    let uri = format!("s3://{b}/in/");
    s3flow(&["upload", dir, &uri, "--recursive", "--concurrency", "0"]).fails("invalid_input", 2);
    s3flow(&["upload", dir, &uri, "--recursive", "--concurrency", "many"]).fails("invalid_input", 2);
    s3flow(&["download", &uri, dir, "--concurrency", "4"]).fails("invalid_input", 2);
    assert!(keys(&b).is_empty());
}

#[test]
fn bad_content_is_refused_before_anything_is_written() {
    let b = new_bucket("badcontent");
    let target = format!("s3://{b}/x.txt");
    s3flow(&["upload", "--base64", "!!!not base64", &target]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "a", "--base64", "YQ==", &target]).fails("invalid_input", 2);
    s3flow(&["upload", "--json", "{broken", &target]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "a", &format!("s3://{b}/{{nope}}.txt")]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "a", &target, "--acl", "everyone"]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "a", &target, "--metadata", "novalue"]).fails("invalid_input", 2);
    let long_key = "k".repeat(1025);
    s3flow(&["upload", "--text", "a", &format!("s3://{b}/{long_key}")]).fails("invalid_input", 2);
    assert!(keys(&b).is_empty(), "{:?}", keys(&b));
}

#[test]
fn uris_must_be_s3_and_name_a_key_where_one_is_needed() {
    let b = new_bucket("uris");
    s3flow(&["head", &format!("s3://{b}")]).fails("invalid_input", 2);
    s3flow(&["download", &format!("s3://{b}/")]).fails("invalid_input", 2);
    s3flow(&["head", "/tmp/not-a-uri"]).fails("invalid_input", 2);
    s3flow(&["list", &format!("https://{b}/k")]).fails("invalid_input", 2);
    s3flow(&["copy", &format!("s3://{b}"), &format!("s3://{b}/k")]).fails("invalid_input", 2);
    s3flow(&["upload", "--text", "x", "gs://elsewhere/k"]).fails("invalid_input", 2);
    assert!(keys(&b).is_empty());
}

#[test]
fn missing_keys_and_buckets_are_not_found() {
    let b = new_bucket("missing");
    let out = s3flow(&["download", &format!("s3://{b}/nope.txt")]).fails("not_found", 3);
    assert_eq!(out["error"]["s3_code"], "NoSuchKey");
    s3flow(&["head", &format!("s3://{b}/nope.txt")]).fails("not_found", 3);
    let ghost = unique("t-ghost").to_ascii_lowercase();
    s3flow(&["list", &format!("s3://{ghost}")]).fails("not_found", 3);
    s3flow(&["upload", "--text", "x", &format!("s3://{ghost}/k")]).fails("not_found", 3);
    let out = s3flow(&["bucket", "list"]).ok();
    assert!(
        !out.to_string().contains(&ghost),
        "the missing bucket was not created"
    );
}

#[test]
fn restrictions_are_enforced() {
    let b = new_bucket("restrict");
    let env = [("S3FLOW_RESTRICT_PREFIX", "tenant-a/")];
    let out = s3flow_with(
        &["upload", "--text", "x", &format!("s3://{b}/tenant-b/x.txt")],
        &env,
        None,
    );
    out.fails("outside_restriction", 4);
    s3flow(&[
        "upload",
        "--text",
        "x",
        &format!("s3://{b}/tenant-b/x.txt"),
        "--restrict-prefix",
        "tenant-a/",
    ])
    .fails("outside_restriction", 4);
    s3flow(&[
        "upload",
        "--text",
        "x",
        &format!("s3://{b}/tenant-a/../tenant-b/x"),
        "--restrict-prefix",
        "tenant-a",
    ])
    .fails("outside_restriction", 4);
    assert!(keys(&b).is_empty(), "{:?}", keys(&b));
    s3flow_with(
        &["upload", "--text", "x", &format!("s3://{b}/tenant-a/x.txt")],
        &env,
        None,
    )
    .ok();
    s3flow(&[
        "list",
        &format!("s3://{b}"),
        "--restrict-bucket",
        "some-other-bucket",
    ])
    .fails("outside_restriction", 4);
    // With --restrict-bucket, s3:///key (no bucket) means the allowed bucket.
    let out = s3flow(&["head", "s3:///tenant-a/x.txt", "--restrict-bucket", &b]).ok();
    assert_eq!(out["bucket"], b.as_str());
}

#[test]
fn wrong_credentials_are_refused() {
    let b = new_bucket("creds");
    let env = [("S3FLOW_SECRET_ACCESS_KEY", "definitely-wrong-secret")];
    let run = s3flow_with(
        &["upload", "--text", "x", &format!("s3://{b}/x.txt")],
        &env,
        None,
    );
    run.fails("credentials_invalid", 4);
    assert!(
        !run.stderr.contains("definitely-wrong-secret")
            && !run.stdout_text().contains("definitely-wrong-secret")
    );
    assert!(keys(&b).is_empty());
    // One of the pair alone is a usage mistake, said plainly.
    let run = run_no_secret(&["list", &format!("s3://{b}")]);
    run.fails("invalid_input", 2);
}

fn run_no_secret(args: &[&str]) -> Run {
    let ep = endpoint();
    let mut cmd = command();
    cmd.env("S3FLOW_ENDPOINT", &ep.url)
        .env("S3FLOW_ACCESS_KEY_ID", &ep.access_key)
        .env("S3FLOW_REGION", &ep.region);
    run(cmd.args(args), None)
}

#[test]
fn if_exists_fail_keeps_the_existing_object() {
    let b = new_bucket("ifexists");
    let target = format!("s3://{b}/once.txt");
    s3flow(&["upload", "--text", "first", &target, "--if-exists", "fail"]).ok();
    s3flow(&["upload", "--text", "second", &target, "--if-exists", "fail"])
        .fails("already_exists", 5);
    assert_eq!(text_of(&b, "once.txt"), "first");
    let out = s3flow(&[
        "upload",
        "--text",
        "third",
        &target,
        "--if-exists",
        "backup",
        "--backup-prefix",
        "old/",
    ])
    .ok();
    let backup_key = out["backup"]["key"].as_str().unwrap().to_owned();
    assert!(backup_key.starts_with("old/once.txt."), "{out}");
    assert_eq!(text_of(&b, &backup_key), "first");
    assert_eq!(text_of(&b, "once.txt"), "third");
}

#[test]
fn a_saved_connection_comes_from_the_store() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    // No store in the folder: not_found, and nothing is created there.
    let empty = data.path().join("empty");
    let out = s3flow_with(
        &["--connection", "prod", "list", "s3://whatever"],
        &[("S3FLOW_DATA", empty.to_str().unwrap())],
        None,
    )
    .fails("not_found", 3);
    assert!(out["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no connection store"));
    assert!(!empty.exists());

    // Saved from the connection flags (here the S3FLOW_* variables of the test endpoint).
    let saved = s3flow(&["connection", "add", "saved", "--data", data_dir]).ok();
    assert_eq!(saved["auth"]["secret_access_key"], "***");
    s3flow(&["connection", "add", "saved", "--data", data_dir]).fails("already_exists", 5);
    let listed = s3flow(&["connection", "list", "--data", data_dir]).ok();
    assert!(!listed.to_string().contains(&endpoint().secret_key));
    s3flow(&["connection", "test", "saved", "--data", data_dir]).ok();
    s3flow(&["bucket", "create", "s3://saved-conn"]).ok();
    // Used with no connection variables at all.
    let mut cmd = command();
    cmd.env("S3FLOW_DATA", data_dir).args([
        "--connection",
        "saved",
        "upload",
        "--text",
        "hi",
        "s3://saved-conn/a.txt",
    ]);
    run(&mut cmd, None).ok();
    s3flow_with(
        &["--connection", "nope", "list", "s3://saved-conn"],
        &[("S3FLOW_DATA", data_dir)],
        None,
    )
    .fails("not_found", 3);
    s3flow(&["connection", "remove", "saved", "--data", data_dir]).ok();
    s3flow(&["connection", "show", "saved", "--data", data_dir]).fails("not_found", 3);
    s3flow(&["connection", "add", "Bad Name", "--data", data_dir]).fails("invalid_input", 2);
    s3flow(&[
        "connection",
        "add",
        "j",
        "--json",
        "{\"nope\":1}",
        "--data",
        data_dir,
    ])
    .fails("invalid_input", 2);

    // Tokens: create prints the token once, list never shows it.
    let token = s3flow(&["token", "create", "--data", data_dir]).ok();
    let listed = s3flow(&["token", "list", "--data", data_dir]).ok();
    assert!(!listed
        .to_string()
        .contains(token["token"].as_str().unwrap()));
    s3flow(&[
        "token",
        "revoke",
        token["id"].as_str().unwrap(),
        "--data",
        data_dir,
    ])
    .ok();
    s3flow(&["token", "revoke", "nope", "--data", data_dir]).fails("not_found", 3);

    // Rotation keeps every connection usable.
    s3flow(&["connection", "add", "kept", "--data", data_dir]).ok();
    let before = std::fs::read_to_string(data.path().join("master.key")).unwrap();
    let rotated = s3flow(&["keys", "rotate", "--data", data_dir]).ok();
    assert_eq!(rotated["rotated"], 1);
    assert_ne!(
        before,
        std::fs::read_to_string(data.path().join("master.key")).unwrap()
    );
    s3flow(&["connection", "test", "kept", "--data", data_dir]).ok();
}

// ---------------------------------------------------------------------------------------
// Usage and help
// ---------------------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2_with_a_json_error() {
    let run = s3flow(&["head"]);
    let out = run.json();
    assert_eq!(run.code, 2);
    assert_eq!(out["error"]["code"], "invalid_input");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("required"),
        "{out}"
    );
    assert!(run.stderr.contains("Usage:"), "{}", run.stderr);

    let run = s3flow(&["list", "s3://b", "--no-such-flag"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["code"], "invalid_input");
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);

    assert_eq!(s3flow(&["teleport"]).code, 2);
    assert_eq!(
        s3flow(&["--log-level", "not a [filter", "bucket", "list"]).code,
        2
    );
    let run = s3flow(&[]);
    assert_eq!(run.code, 2, "no subcommand: help on stderr and exit 2");
}

#[test]
fn every_subcommand_help_has_an_example() {
    let subcommands: &[&[&str]] = &[
        &[],
        &["upload"],
        &["download"],
        &["list"],
        &["folders"],
        &["head"],
        &["delete"],
        &["delete-objects"],
        &["copy"],
        &["move"],
        &["presign"],
        &["bucket"],
        &["bucket", "create"],
        &["bucket", "location"],
        &["bucket", "list"],
        &["bucket", "versioning"],
        &["api"],
        &["run"],
        &["schema"],
        &["local"],
    ];
    for path in subcommands {
        let mut args = path.to_vec();
        args.push("--help");
        let run = run(command().args(&args), None);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let text = run.stdout_text();
        assert!(text.contains("Example"), "{args:?} has no example:\n{text}");
    }
    let version = run(command().arg("--version"), None);
    assert_eq!(version.code, 0);
    assert!(version.stdout_text().starts_with("s3flow "));
}

#[test]
fn secrets_never_show_in_help() {
    let run = s3flow(&["upload", "--help"]);
    assert!(
        !run.stdout_text().contains(&endpoint().secret_key),
        "the secret's env value must stay hidden"
    );
}

// ---------------------------------------------------------------------------------------
// s3flow local
// ---------------------------------------------------------------------------------------

#[test]
fn local_serves_until_sigterm() {
    let data = scratch_dir("local");
    let mut child = command()
        .args([
            "local",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--region",
            "eu-west-3",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    assert_eq!(info["region"], "eu-west-3");
    assert_eq!(info["access_key_id"], "s3flow-local");
    assert!(
        info["endpoint"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{info}"
    );
    assert_eq!(Path::new(info["data"].as_str().unwrap()), data);

    let env = |name: &str| info[name].as_str().unwrap().to_owned();
    let mut cmd = command();
    cmd.env("S3FLOW_ENDPOINT", env("endpoint"))
        .env("S3FLOW_ACCESS_KEY_ID", env("access_key_id"))
        .env("S3FLOW_SECRET_ACCESS_KEY", env("secret_access_key"))
        .env("S3FLOW_REGION", env("region"));
    let out = run(cmd.args(["bucket", "create", "s3://from-local"]), None).ok();
    assert_eq!(out["region"], "eu-west-3");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "s3flow local did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("export S3FLOW_ENDPOINT="), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "S3FLOW_SECRET_ACCESS_KEY={}",
            env("secret_access_key")
        )),
        "{stderr}"
    );
    assert!(
        data.join("buckets").join("from-local").exists(),
        "the bucket lives in the data folder"
    );
}

//! `s3flow-bench-w6 floor`: an HTTP/1 server that does no work, to measure what any HTTP
//! service costs on this machine with this load generator. It answers each action path with
//! a response the real service gave (captured by `run.sh`), after reading the request body,
//! with keep-alive and TCP_NODELAY, on tokio's multi-thread runtime with the default worker
//! count, as `s3flow serve` runs. Whatever the service adds over this floor is its own cost;
//! the floor's own added p99 over direct is what the machine costs any service.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};

/// `floor --listen ADDR --reply PATH=FILE …`: serves until killed; prints `listening` once
/// the socket is bound.
pub fn main(args: &[String]) {
    let mut listen = None;
    let mut replies = HashMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{flag}: missing value")).clone();
        match flag.as_str() {
            "--listen" => listen = Some(v()),
            "--reply" => {
                let spec = v();
                let (path, file) = spec.split_once('=').expect("--reply PATH=FILE");
                let body = std::fs::read(file).unwrap_or_else(|e| panic!("--reply {file}: {e}"));
                replies.insert(path.to_owned(), Bytes::from(body));
            }
            other => panic!("floor: unknown argument {other}"),
        }
    }
    let listen = listen.expect("floor: --listen ADDR");
    let replies = Arc::new(replies);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen).await.expect("floor: bind");
        println!("listening");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let replies = replies.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let replies = replies.clone();
                    async move { Ok::<_, Infallible>(reply(&replies, req).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
            });
        }
    });
}

async fn reply(replies: &HashMap<String, Bytes>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let body = replies.get(req.uri().path()).cloned();
    // Read the request body, as the service does.
    let _ = req.into_body().collect().await;
    let (status, body) = match body {
        Some(body) => (200, body),
        None => (404, Bytes::from_static(b"{\"error\":{\"code\":\"not_found\"}}")),
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body))
        .expect("a response")
}

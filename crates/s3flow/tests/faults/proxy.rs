//! A seeded fault-injecting HTTP proxy in front of an S3 endpoint (STYLE.md §9).
//!
//! It forwards each request unchanged (the `Host` header too, so SigV4 signatures still
//! verify) and, drawn from a seeded generator per request, answers instead with 503
//! SlowDown or 500 InternalError, resets the connection (before forwarding, or after it with
//! the response cut mid-body), flips one bit of a GET body, or truncates a GET body (the
//! `Content-Length` promises more than is sent). Counters say what was injected.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Probabilities (0.0–1.0) of each fault, drawn independently per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub slow_down: f64,
    pub internal_error: f64,
    /// Connection reset: before forwarding for half of them, after (response cut) for the rest.
    pub reset: f64,
    /// One flipped bit in a successful GET body.
    pub bit_flip: f64,
    /// A successful GET body cut short.
    pub truncate: f64,
}

#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub slow_down: AtomicU64,
    pub internal_error: AtomicU64,
    pub reset: AtomicU64,
    pub bit_flip: AtomicU64,
    pub truncate: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

pub struct Proxy {
    pub url: String,
    pub counters: Arc<Counters>,
    faults: Arc<Mutex<Faults>>,
}

impl Proxy {
    /// Changes the faults for the requests to come.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().unwrap() = faults;
    }
}

/// xorshift64*: small, seeded, good enough to draw faults.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

/// Starts the proxy on a loopback port, forwarding to `upstream` (`http://host:port`).
pub async fn start(upstream: &str, seed: u64, faults: Faults) -> Proxy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().unwrap();
    let counters = Arc::new(Counters::default());
    let faults = Arc::new(Mutex::new(faults));
    let rng = Arc::new(Mutex::new(Rng(seed | 1)));
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let upstream = upstream.trim_end_matches('/').to_owned();
    let (c, f) = (counters.clone(), faults.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (counters, faults, rng, http, upstream) = (c.clone(), f.clone(), rng.clone(), http.clone(), upstream.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let (counters, faults, rng, http, upstream) =
                        (counters.clone(), faults.clone(), rng.clone(), http.clone(), upstream.clone());
                    async move { handle(request, &counters, &faults, &rng, &http, &upstream).await }
                });
                // Errors here are the resets we injected, or the client going away.
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Proxy { url: format!("http://{addr}"), counters, faults }
}

/// Ending the service with an error makes hyper drop the connection: a reset.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected reset")
    }
}

impl std::error::Error for Reset {}

async fn handle(
    request: Request<Incoming>,
    counters: &Counters,
    faults: &Mutex<Faults>,
    rng: &Mutex<Rng>,
    http: &reqwest::Client,
    upstream: &str,
) -> Result<Response<Body>, Reset> {
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let faults = *faults.lock().unwrap();
    let draws: [f64; 6] = {
        let mut rng = rng.lock().unwrap();
        std::array::from_fn(|_| rng.next_f64())
    };
    let (parts, body) = request.into_parts();
    // Read the whole request first, as a server would before answering.
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else { return Err(Reset) };

    if draws[0] < faults.slow_down {
        counters.slow_down.fetch_add(1, Ordering::Relaxed);
        return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "SlowDown", "Please reduce your request rate."));
    }
    if draws[1] < faults.internal_error {
        counters.internal_error.fetch_add(1, Ordering::Relaxed);
        return Ok(error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "We encountered an internal error."));
    }
    let reset = draws[2] < faults.reset;
    if reset && draws[3] < 0.5 {
        counters.reset.fetch_add(1, Ordering::Relaxed);
        return Err(Reset);
    }

    let url = format!("{upstream}{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let mut forward = http.request(parts.method.clone(), url);
    for (name, value) in &parts.headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING && name != http::header::CONNECTION {
            forward = forward.header(name, value);
        }
    }
    let Ok(response) = forward.body(body).send().await else { return Err(Reset) };
    let status = response.status();
    let headers = response.headers().clone();
    let Ok(mut bytes) = response.bytes().await.map(|b| b.to_vec()) else { return Err(Reset) };
    let full_len = bytes.len();

    let is_get_body = parts.method == http::Method::GET && status.is_success() && !bytes.is_empty();
    let mut cut = None;
    if reset {
        // The request took effect; the answer is lost mid-way.
        counters.reset.fetch_add(1, Ordering::Relaxed);
        if bytes.is_empty() {
            return Err(Reset);
        }
        cut = Some(bytes.len() / 2);
    } else if is_get_body && draws[4] < faults.bit_flip {
        counters.bit_flip.fetch_add(1, Ordering::Relaxed);
        let at = (draws[5] * bytes.len() as f64) as usize % bytes.len();
        bytes[at] ^= 1 << (at % 8);
    } else if is_get_body && draws[5] < faults.truncate {
        counters.truncate.fetch_add(1, Ordering::Relaxed);
        cut = Some((draws[4] * bytes.len() as f64) as usize % bytes.len());
    }

    let mut builder = Response::builder().status(status);
    for (name, value) in &headers {
        if name != http::header::CONTENT_LENGTH && name != http::header::TRANSFER_ENCODING && name != http::header::CONNECTION {
            builder = builder.header(name, value);
        }
    }
    if parts.method == http::Method::HEAD {
        // A HEAD's Content-Length is the object's size, not of the (empty) body.
        if let Some(len) = headers.get(http::header::CONTENT_LENGTH) {
            builder = builder.header(http::header::CONTENT_LENGTH, len);
        }
    } else {
        builder = builder.header(http::header::CONTENT_LENGTH, full_len);
    }
    let body: Body = match cut {
        None => Full::new(Bytes::from(bytes)).map_err(|never: Infallible| match never {}).boxed(),
        Some(at) => {
            // Send `at` bytes, then fail the body: hyper closes the connection short of the
            // promised Content-Length.
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                Ok(Frame::data(Bytes::copy_from_slice(&bytes[..at]))),
                Err(std::io::Error::other("injected truncation")),
            ];
            StreamBody::new(futures::stream::iter(frames)).boxed()
        }
    };
    Ok(builder.body(body).unwrap())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("content-length", xml.len())
        .body(Full::new(Bytes::from(xml)).map_err(|never: Infallible| match never {}).boxed())
        .unwrap()
}

//! A small Prometheus registry: requests by route and status, a latency histogram, bytes in
//! and out, errors by code. Rendered as the text exposition format at `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Latency bucket bounds, in seconds.
const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    bytes_in: u64,
    bytes_out: u64,
    errors: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// The request body bytes a streaming handler actually read, for requests without
/// Content-Length (set as a response extension).
#[derive(Debug, Clone, Copy)]
pub struct BodyBytesIn(pub u64);

/// One finished request.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    pub method: &'a str,
    /// The route template (`/v1/connections/{name}`), never the concrete path.
    pub route: &'a str,
    pub status: u16,
    pub elapsed: Duration,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub error_code: Option<&'a str>,
}

impl Metrics {
    pub fn record(&self, sample: Sample<'_>) {
        let Sample {
            method,
            route,
            status,
            elapsed,
            bytes_in,
            bytes_out,
            error_code,
        } = sample;
        let mut reg = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *reg.requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
        let hist = reg.latency.entry(route.to_owned()).or_default();
        if hist.counts.is_empty() {
            hist.counts = vec![0; BUCKETS.len()];
        }
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                hist.counts[i] += 1;
            }
        }
        hist.sum += secs;
        hist.count += 1;
        reg.bytes_in += bytes_in;
        reg.bytes_out += bytes_out;
        if let Some(code) = error_code {
            *reg.errors.entry(code.to_owned()).or_default() += 1;
        }
    }

    pub fn render(&self) -> String {
        let reg = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP s3flow_http_requests_total HTTP requests by method, route and status."
        );
        let _ = writeln!(out, "# TYPE s3flow_http_requests_total counter");
        for ((method, route, status), n) in &reg.requests {
            let _ = writeln!(out, "s3flow_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}", escape(route));
        }
        let _ = writeln!(
            out,
            "# HELP s3flow_http_request_duration_seconds Request latency by route."
        );
        let _ = writeln!(out, "# TYPE s3flow_http_request_duration_seconds histogram");
        for (route, hist) in &reg.latency {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(&hist.counts) {
                let _ = writeln!(out, "s3flow_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "s3flow_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                hist.count
            );
            let _ = writeln!(
                out,
                "s3flow_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                hist.sum
            );
            let _ = writeln!(
                out,
                "s3flow_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                hist.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP s3flow_http_request_bytes_total Request body bytes (by Content-Length)."
        );
        let _ = writeln!(out, "# TYPE s3flow_http_request_bytes_total counter");
        let _ = writeln!(out, "s3flow_http_request_bytes_total {}", reg.bytes_in);
        let _ = writeln!(
            out,
            "# HELP s3flow_http_response_bytes_total Response body bytes (by Content-Length)."
        );
        let _ = writeln!(out, "# TYPE s3flow_http_response_bytes_total counter");
        let _ = writeln!(out, "s3flow_http_response_bytes_total {}", reg.bytes_out);
        let _ = writeln!(out, "# HELP s3flow_errors_total Errors by contract code.");
        let _ = writeln!(out, "# TYPE s3flow_errors_total counter");
        for (code, n) in &reg.errors {
            let _ = writeln!(out, "s3flow_errors_total{{code=\"{code}\"}} {n}");
        }
        out
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

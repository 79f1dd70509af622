//! W5, library side: `s3flow::actions::presign::run` in a loop on one thread
//! (a current-thread runtime), printing one JSON line with URLs/s.
//!
//!   s3flow-presign-loop --endpoint URL --access-key-id K --secret-access-key S \
//!       [--region garage] --bucket B [--count 100000]

use std::time::Instant;

use s3flow::actions::presign::{self, PresignInput};
use s3flow_bench::{connect, die, Args};

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = connect(&args).await;
        let bucket = args.get("bucket");
        let count = args.number("count", 100_000);
        let input = |i: u64| PresignInput {
            bucket: Some(bucket.clone()),
            key: format!("w5/object-{i:06}.bin"),
            ..PresignInput::default()
        };
        // Warm-up: credentials resolved, allocator and caches primed.
        for i in 0..1_000 {
            presign::run(&client, input(i))
                .await
                .unwrap_or_else(|e| die(&format!("presign: {e}")));
        }
        let started = Instant::now();
        let mut url_bytes = 0usize;
        for i in 0..count {
            let out = presign::run(&client, input(i))
                .await
                .unwrap_or_else(|e| die(&format!("presign: {e}")));
            url_bytes += out.url.len();
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "count": count,
                "seconds": seconds,
                "urls_per_second": count as f64 / seconds,
                "mean_url_bytes": url_bytes / count.max(1) as usize,
            })
        );
    });
}

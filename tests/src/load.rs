//! A load driver for the benchmark commands: `concurrency` clients share `requests` requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::TestServer;

/// Runs `f(server, i)` for i in 0..requests with `concurrency` clients; prints throughput and
/// latency percentiles.
pub async fn phase<F, Fut>(
    name: &str,
    server: &Arc<TestServer>,
    requests: usize,
    concurrency: usize,
    f: F,
) where
    F: Fn(Arc<TestServer>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (next, server, f) = (next.clone(), server.clone(), f.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests {
                        break latencies;
                    }
                    let t = Instant::now();
                    f(server.clone(), i).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect(); // spawn every client now, not one at a time while awaiting
    let mut all: Vec<Duration> = Vec::with_capacity(requests);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    // Mean requests in flight: a check that the clients really ran concurrently.
    let busy: f64 = all.iter().map(Duration::as_secs_f64).sum();
    let in_flight = busy / elapsed.as_secs_f64();
    all.sort();
    let pct =
        |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{name:38} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms   in flight {in_flight:.1}",
        requests as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
        all.last().unwrap().as_secs_f64() * 1e3
    );
}

//! Throughput and latency of trivial components through the runner on
//! loopback: the WASI 0.2 probe (built like the connectors; a fresh instance
//! per request, as on every Spin), and a spin-sdk 7 WASIp3 probe under
//! `--spin main` with instance reuse on (Spin's default) and off.
//!
//! `cargo bench -p switchboard-tests --bench runner [-- --requests N --rounds R]`
//!
//! Each round starts a fresh runner, warms it up, then measures sequential
//! latency over one keep-alive connection and throughput with 16 concurrent
//! clients. Figures are medians over the rounds; the "instantiation" line is
//! the difference between the WASIp3 modes' median latencies, measured in the
//! same run.

use spin_local_host::{AppConfig, ReusePolicy, SpinTarget};
use std::time::{Duration, Instant};
use switchboard_tests::{Runner, bench_arg, config, fixture};

struct Figures {
    p50: Duration,
    p99: Duration,
    rps: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn median_duration(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

async fn round(config: &AppConfig, path: &str, requests: usize) -> Figures {
    let runner = Runner::start(config).await.unwrap();
    let url = format!("{}{path}", runner.url);
    for _ in 0..100 {
        runner
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let mut latencies = Vec::with_capacity(requests);
    for _ in 0..requests {
        let start = Instant::now();
        let response = runner.client.get(&url).send().await.unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
        latencies.push(start.elapsed());
    }
    latencies.sort();

    let clients = 16;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = reqwest::Client::new();
        let url = url.clone();
        let per_client = requests / clients;
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_client {
                let response = client.get(&url).send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rps = (requests / clients * clients) as f64 / start.elapsed().as_secs_f64();
    runner.server.shutdown().await;
    Figures {
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        rps,
    }
}

fn main() {
    let requests = bench_arg("--requests", 2000);
    let rounds = bench_arg("--rounds", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut wasip2 = config(fixture("runner"), "bench-wasip2");
        wasip2
            .variables
            .add_command_line("api_token=bench")
            .unwrap();
        wasip2.logger = spin_local_host::Logger::stderr();
        let mut reuse_on = config(fixture("runner-p3"), "bench-reuse");
        reuse_on.spin = SpinTarget::Main;
        reuse_on.logger = spin_local_host::Logger::stderr();
        let mut reuse_off = reuse_on.clone();
        reuse_off.reuse = ReusePolicy {
            max_instance_reuse_count: 1,
            ..ReusePolicy::default()
        };
        println!("trivial components, {requests} requests per round, {rounds} rounds, loopback");
        let mut results = Vec::new();
        for (label, config, path) in [
            ("WASI 0.2, fresh instance   ", &wasip2, "/probe/echo"),
            ("WASIp3 (main), reuse on    ", &reuse_on, "/p3/instance"),
            ("WASIp3 (main), reuse off   ", &reuse_off, "/p3/instance"),
        ] {
            let mut figures = Vec::new();
            for _ in 0..rounds {
                figures.push(round(config, path, requests).await);
            }
            let p50 = median_duration(figures.iter().map(|f| f.p50).collect());
            let p99 = median_duration(figures.iter().map(|f| f.p99).collect());
            let rps = median_f64(figures.iter().map(|f| f.rps).collect());
            println!(
                "{label}: p50 {:>7.1} µs  p99 {:>7.1} µs  {:>8.0} req/s (16 clients)",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6,
                rps
            );
            results.push(p50);
        }
        let instantiate = results[2].saturating_sub(results[1]);
        println!(
            "per-request WASIp3 instantiation (p50 reuse off - p50 reuse on): {:.1} µs",
            instantiate.as_secs_f64() * 1e6
        );
    });
}

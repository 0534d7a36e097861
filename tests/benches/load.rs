//! The webhook paths under rising load, on one host and on two hosts in
//! front of one Redis (as SpinKube replicas on a shared store).
//!
//! ```text
//! cargo bench -p switchboard-tests --bench load -- [--requests 400] [--rounds 3]
//! ```
//!
//! Two paths, each a signed webhook to the gateway, which verifies it and
//! chains to the component:
//! - the moderator's `Group.CallbackBeforeSendMsg` (a decision IM waits
//!   for, 2 s at most);
//! - the relay's acknowledgement of `Bot.OnC2CMessage` (it claims the
//!   message in the store, answers, and asks the LLM afterwards; the LLM
//!   emulator takes 2 s, which the acknowledgement must not wait for).
//!
//! At each concurrency step, `--requests` webhooks go out with that many in
//! flight (alternating hosts when there are two); throughput and p50/p99
//! latency are the medians over `--rounds`. Loopback only.

use futures::stream::StreamExt;
use moderation::synthetic::median;
use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EmulatorAddrs};
use switchboard_tests::{RedisServer, Runner, bench_arg, config, root, signed_webhook_url};

const STEPS: [usize; 4] = [1, 4, 16, 64];

struct Setup {
    hosts: Vec<Runner>,
    _backends: Backends,
    _redis: Option<RedisServer>,
}

async fn setup(label: &str, two_hosts_on_redis: bool) -> Setup {
    let redis = two_hosts_on_redis.then(|| RedisServer::start(label));
    let mut config = config(root().join("spin.toml"), label);
    config.runtime_config = redis.as_ref().map(|r| r.runtime_config(label));
    let backends = Backends::start(&mut config, EmulatorAddrs::any())
        .await
        .unwrap();
    backends
        .llm
        .as_ref()
        .unwrap()
        .set_latency(Duration::from_secs(2));
    let mut hosts = vec![Runner::start(&config).await.unwrap()];
    if two_hosts_on_redis {
        hosts.push(Runner::start(&config).await.unwrap());
    }
    backends.connect(&hosts[0].url, &config);
    Setup {
        hosts,
        _backends: backends,
        _redis: redis,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Moderator,
    RelayAck,
}

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Moderator => "moderator decision",
            Path::RelayAck => "relay acknowledgement",
        }
    }

    /// How many webhooks one step sends. Every acknowledged robot message
    /// keeps its relay instance for the LLM's 2 s, and a host has 512
    /// component instances (Spin's pooling allocator has a ceiling too), so
    /// a step sends at most 200: more in one burst would measure the
    /// ceiling (502 from the gateway), not the acknowledgement.
    fn requests(self, asked: usize) -> usize {
        match self {
            Path::Moderator => asked,
            Path::RelayAck => asked.min(200),
        }
    }

    fn request(self, host: &Runner, n: usize, round: usize) -> reqwest::RequestBuilder {
        let (command, body) = match self {
            Path::Moderator => (
                "Group.CallbackBeforeSendMsg",
                serde_json::json!({
                    "CallbackCommand": "Group.CallbackBeforeSendMsg", "GroupId": "bench-room", "Type": "Public",
                    "From_Account": "bench-sender", "Operator_Account": "bench-sender", "Random": n,
                    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": format!("message {n}: see you tomorrow at the usual place")}}],
                }),
            ),
            Path::RelayAck => (
                "Bot.OnC2CMessage",
                serde_json::json!({
                    "CallbackCommand": "Bot.OnC2CMessage", "From_Account": format!("bench-user-{}", n % 50),
                    "To_Account": switchboard::emulators::DEMO_ROBOT, "MsgKey": format!("{round}_{n}_load"),
                    "MsgSeq": n, "MsgTime": switchboard_tests::now(),
                    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": format!("question {n}")}}],
                }),
            ),
        };
        host.client
            .post(signed_webhook_url(&host.url, command))
            .json(&body)
    }
}

/// One step: `requests` webhooks, `in_flight` at once; (webhooks/s, p50 ms,
/// p99 ms).
async fn step(
    setup: &Setup,
    path: Path,
    requests: usize,
    in_flight: usize,
    round: usize,
) -> (f64, f64, f64) {
    let started = Instant::now();
    let mut latencies: Vec<f64> = futures::stream::iter(0..requests)
        .map(|n| {
            let host = &setup.hosts[n % setup.hosts.len()];
            let request = path.request(host, n, round);
            async move {
                let sent = Instant::now();
                let response = request.send().await.expect("answered");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.unwrap();
                sent.elapsed().as_secs_f64() * 1e3
            }
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    (requests as f64 / elapsed, at(50), at(99))
}

fn main() {
    let requests = bench_arg("--requests", 400);
    let rounds = bench_arg("--rounds", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "{requests} webhooks per step ({} for the relay), medians of {rounds} rounds",
            Path::RelayAck.requests(requests)
        );
        for (label, two) in [("one host, SQLite", false), ("two hosts, one Redis", true)] {
            for path in [Path::Moderator, Path::RelayAck] {
                println!("\n{} — {label}", path.name());
                println!(
                    "  {:>9} {:>12} {:>9} {:>9}",
                    "in flight", "webhooks/s", "p50 ms", "p99 ms"
                );
                for in_flight in STEPS {
                    let (mut rate, mut p50, mut p99) = (Vec::new(), Vec::new(), Vec::new());
                    for round in 0..rounds {
                        let setup = setup("bench-load", two).await;
                        let requests = path.requests(requests);
                        let (r, a, b) = step(&setup, path, requests, in_flight, round).await;
                        // Let the relay's LLM calls (2 s, after the answer)
                        // finish before the hosts go.
                        if path == Path::RelayAck {
                            tokio::time::sleep(Duration::from_millis(2500)).await;
                        }
                        rate.push(r);
                        p50.push(a);
                        p99.push(b);
                    }
                    println!(
                        "  {in_flight:>9} {:>12.0} {:>9.2} {:>9.2}",
                        median(rate),
                        median(p50),
                        median(p99)
                    );
                }
            }
        }
    });
}

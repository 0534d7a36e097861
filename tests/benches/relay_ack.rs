//! How fast the chatbot relay acknowledges IM's robot webhooks while every
//! LLM call takes 2 s (IM gives up after 2 s; the relay must not wait).
//!
//! `cargo bench -p switchboard-tests --bench relay_ack [-- --requests N --rounds R]`
//!
//! Each request is a signed `Bot.OnC2CMessage` posted to the gateway (which
//! verifies it and chains to the relay); the latency measured is the
//! gateway's HTTP answer. Figures are medians over rounds.

use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EmulatorAddrs};
use switchboard_tests::{Runner, bench_arg, config, root, signed_webhook_url};

fn main() {
    let requests = bench_arg("--requests", 200);
    let rounds = bench_arg("--rounds", 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        for round in 0..rounds {
            let mut config = config(root().join("spin.toml"), &format!("bench-ack-{round}"));
            config.logger = spin_local_host::Logger::stderr();
            let backends = Backends::start(&mut config, EmulatorAddrs::any()).await.unwrap();
            backends.llm.as_ref().unwrap().set_latency(Duration::from_secs(2));
            let runner = Runner::start(&config).await.unwrap();
            backends.connect(&runner.url, &config);
            let mut latencies = Vec::with_capacity(requests);
            for i in 0..requests {
                let url = signed_webhook_url(&runner.url, "Bot.OnC2CMessage");
                let body = serde_json::json!({
                    "From_Account": "alice", "To_Account": switchboard::emulators::DEMO_ROBOT,
                    "MsgKey": format!("{round}_{i}_bench"), "MsgSeq": i,
                    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": format!("question {i}")}}],
                });
                let started = Instant::now();
                let response = runner.client.post(url).json(&body).send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
                latencies.push(started.elapsed());
            }
            latencies.sort();
            p50s.push(latencies[latencies.len() / 2]);
            p99s.push(latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)]);
        }
        p50s.sort();
        p99s.sort();
        println!(
            "relay webhook ack with a 2 s LLM, {requests} webhooks x {rounds} rounds: p50 {:.2} ms  p99 {:.2} ms (medians)",
            p50s[p50s.len() / 2].as_secs_f64() * 1e3,
            p99s[p99s.len() / 2].as_secs_f64() * 1e3
        );
    });
}

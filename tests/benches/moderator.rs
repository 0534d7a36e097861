//! The moderator under load, and the engine inside wasm.
//!
//! ```text
//! cargo bench -p switchboard-tests --bench moderator -- \
//!     [--terms 100000] [--requests 2000] [--clients 4] [--rounds 3] [--engine-messages 1000] \
//!     [--policy '<moderator_policy JSON>'] [--overlay-terms 0]
//! ```
//!
//! 1. Writes a synthetic lexicon of `--terms` terms (plus the shipped
//!    lexicons) and builds the moderator with it compiled in
//!    (`SWITCHBOARD_LEXICONS`, separate target dir `target/bench-components`),
//!    together with the engine bench component.
//! 2. Engine inside wasm: 1k, 10k and 100k terms — build, load, heap,
//!    per-message p50/p99 and MB/s for 100-character and 2 KB messages
//!    (skipped with `--engine-messages 0`).
//! 3. Webhook latency: signed `Group.CallbackBeforeSendMsg` calls with
//!    100-character messages (half carrying a term) to the gateway, which
//!    chains to the moderator — `--clients` concurrent senders. Both are
//!    WASI 0.2 components, so every request gets fresh instances of both
//!    (as on every Spin) and the moderator loads its lexicon each time.
//!    `--policy` sets the `moderator_policy` variable (default: none, so
//!    every decision other than allow is kept in the review list). The
//!    line also says how many of the messages the moderator refused or
//!    masked: every such decision costs key-value writes after the answer,
//!    so two lexicons are only comparable at a similar share.
//!    `--overlay-terms N` first stores a run-time overlay of N synthetic
//!    terms (and N allowlist entries) through the admin API, as an
//!    operator would, so that every webhook also reads the overlay.
//!
//! Figures are medians over rounds.

use moderation::synthetic::{Generator, median};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EMULATOR_MODERATION_ADMIN_TOKEN, EmulatorAddrs};
use switchboard_tests::bench::{
    before_send_body, intervened, moderator_app, moderator_components, process_cpu_time,
};
use switchboard_tests::{
    Runner, bench_arg, bench_text_arg, config, scratch_dir, signed_webhook_url,
};

fn main() {
    let terms = bench_arg("--terms", 100_000);
    let requests = bench_arg("--requests", 2000);
    let clients = bench_arg("--clients", 4).max(1);
    let rounds = bench_arg("--rounds", 3).max(1);
    let engine_messages = bench_arg("--engine-messages", 1000);
    let policy = bench_text_arg("--policy");
    let overlay_terms = bench_arg("--overlay-terms", 0);

    let components = moderator_components(terms);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if engine_messages > 0 {
            engine_in_wasm(&components, engine_messages, rounds).await;
        }
        println!(
            "\nmoderator webhook through the gateway, {terms}-term lexicon, {clients} concurrent senders, {requests} webhooks x {rounds} rounds"
        );
        if let Some(policy) = &policy {
            println!("  moderator_policy: {policy}");
        }
        if overlay_terms > 0 {
            println!("  a run-time overlay of {overlay_terms} terms and {overlay_terms} allowlist entries");
        }
        let setup = Setup {
            policy: policy.as_deref(),
            overlay_terms,
        };
        let (mut p50, mut p99, mut rate, mut cpu, mut refused) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let figures = webhook_round(&components, &setup, requests, clients, round).await;
            p50.push(figures.p50_ms);
            p99.push(figures.p99_ms);
            rate.push(figures.per_second);
            cpu.push(figures.cpu_us);
            refused.push(figures.intervened_percent);
        }
        println!(
            "  {:<40} p50 {:>6.2} ms  p99 {:>6.2} ms  {:>7.0} webhooks/s  {:>5.0} µs CPU/webhook  {:>3.0} % refused or masked",
            "fresh instances per request (WASI 0.2)",
            median(p50),
            median(p99),
            median(rate),
            median(cpu),
            median(refused),
        );
    });
}

/// Runs the engine bench component for each lexicon size.
async fn engine_in_wasm(components: &Path, messages: usize, rounds: usize) {
    let dir = scratch_dir("bench-engine-wasm");
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"engine-bench\"\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"engine\"\n\
             [component.engine]\nsource = \"{}\"\n",
            components.join("moderation_engine_bench.wasm").display()
        ),
    )
    .unwrap();
    let mut config = config(manifest, "bench-engine-wasm");
    config.logger = spin_local_host::Logger::stderr();
    let runner = Runner::start(&config).await.unwrap();
    println!(
        "\nengine inside wasm (wasmtime, WASI 0.2 component), {messages} messages per corpus, medians of {rounds} rounds"
    );
    for terms in [1_000, 10_000, 100_000] {
        let url = format!(
            "{}/?terms={terms}&messages={messages}&rounds={rounds}",
            runner.url
        );
        let response = runner
            .client
            .get(url)
            .timeout(Duration::from_secs(600))
            .send()
            .await
            .unwrap();
        let figures: serde_json::Value = response.json().await.unwrap();
        let f = |name: &str| figures[name].as_f64().unwrap_or(0.0);
        println!(
            "  {terms} terms: build {:.1} ms, compiled {:.2} MB; load in place {:.4} ms ({:.3} MB heap), by copy {:.2} ms ({:.2} MB heap)",
            f("build_ms"),
            f("compiled_bytes") / 1e6,
            f("load_in_place_ms"),
            f("heap_in_place_bytes") / 1e6,
            f("load_copy_ms"),
            f("heap_copy_bytes") / 1e6,
        );
        for corpus in ["100-char", "2 KB"] {
            let c = &figures["corpora"][corpus];
            println!(
                "    {corpus:<9} (avg {} bytes)  p50 {:>8.2} µs  p99 {:>8.2} µs  {:>7.1} MB/s",
                c["avg_bytes"],
                c["p50_us"].as_f64().unwrap_or(0.0),
                c["p99_us"].as_f64().unwrap_or(0.0),
                c["mb_per_s"].as_f64().unwrap_or(0.0),
            );
        }
    }
}

/// What one round measured.
struct Round {
    p50_ms: f64,
    p99_ms: f64,
    per_second: f64,
    /// The whole process's CPU time (user and system; the senders and the
    /// emulators run in it too) per webhook: steadier than latency on a
    /// shared machine, so it is what shows a change of per-request work.
    cpu_us: f64,
    /// The share of webhooks answered with anything but "deliver as sent".
    intervened_percent: f64,
}

/// What the application is given before a round.
struct Setup<'a> {
    /// `moderator_policy`, when set.
    policy: Option<&'a str>,
    /// Terms (and allowlist entries) of the run-time overlay; 0 for none.
    overlay_terms: usize,
}

/// One round of `requests` webhooks from `clients` concurrent senders.
async fn webhook_round(
    components: &Path,
    setup: &Setup<'_>,
    requests: usize,
    clients: usize,
    round: usize,
) -> Round {
    let mut config = moderator_app(components, &format!("bench-moderator-{round}"));
    if let Some(policy) = setup.policy {
        config
            .variables
            .environment
            .insert("SPIN_VARIABLE_MODERATOR_POLICY".into(), policy.into());
    }
    let backends = Backends::start(&mut config, EmulatorAddrs::any())
        .await
        .unwrap();
    let runner = Arc::new(Runner::start(&config).await.unwrap());
    backends.connect(&runner.url, &config);
    if setup.overlay_terms > 0 {
        store_overlay(&runner, setup.overlay_terms).await;
    }
    let mut generator = Generator::new(round as u64);
    let terms = generator.terms(1000);
    let messages: Arc<Vec<String>> = Arc::new(
        (0..requests)
            .map(|i| generator.message(100, &terms, i % 2 == 0))
            .collect(),
    );
    // Warm-up: compile caches and the first instances.
    send(&runner, "warm-up", 0).await;
    let cpu_before = process_cpu_time();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let runner = runner.clone();
        let messages = messages.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut intervened = 0;
            for (i, message) in messages.iter().enumerate().skip(client).step_by(clients) {
                let t = Instant::now();
                intervened += usize::from(send(&runner, message, i as u64 + 1).await);
                latencies.push(t.elapsed());
            }
            (latencies, intervened)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    let mut intervened = 0;
    for task in tasks {
        let (client_latencies, client_intervened) = task.await.unwrap();
        latencies.extend(client_latencies);
        intervened += client_intervened;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_time().saturating_sub(cpu_before);
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Round {
        p50_ms: at(0.5).as_secs_f64() * 1e3,
        p99_ms: at(0.99).as_secs_f64() * 1e3,
        per_second: latencies.len() as f64 / elapsed,
        cpu_us: cpu.as_secs_f64() * 1e6 / latencies.len() as f64,
        intervened_percent: intervened as f64 * 100.0 / latencies.len() as f64,
    }
}

/// Stores an overlay of `terms` synthetic terms and as many allowlist
/// entries through the admin API.
async fn store_overlay(runner: &Runner, terms: usize) {
    let overlay = Generator::new(u64::MAX).overlay(terms);
    let response = runner
        .client
        .put(format!("{}/moderation/overlay", runner.url))
        .bearer_auth(EMULATOR_MODERATION_ADMIN_TOKEN)
        .json(&overlay)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Sends one webhook; whether the answer refused or changed the message.
async fn send(runner: &Runner, text: &str, random: u64) -> bool {
    let url = signed_webhook_url(&runner.url, "Group.CallbackBeforeSendMsg");
    let body = before_send_body(text, random);
    let response = runner.client.post(url).json(&body).send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(answer["ErrorCode"].is_i64(), "{answer}");
    intervened(&answer)
}

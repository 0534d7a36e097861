//! The moderator beside the Node server a team would write instead, in one
//! run, on the same messages.
//!
//! ```text
//! cargo bench -p switchboard-tests --bench versus_node -- \
//!     [--terms 100000] [--requests 3000] [--rounds 3] [--node 0]
//! ```
//!
//! (`--node 0` drives our host alone, for profiling it:
//! `SWITCHBOARD_PERFMAP=1 perf record -F 999 -- <bench binary> --node 0`,
//! then `perf report --comms sb-host`.)
//!
//! 1. Builds the moderator with `--terms` synthetic terms beside the
//!    shipped lexicons (every normalization on, as shipped).
//! 2. Installs `obscenity` from npm exactly as `versus-node/package-lock.json`
//!    pins it (`npm ci` into `target/bench-node`) and starts
//!    `versus-node/server.mjs`: Node's `http`, the callback's signature
//!    checked, obscenity's English dataset with its recommended
//!    transformers, a masked copy of every matching text.
//! 3. Starts our host in this process on a runtime of its own (threads
//!    `sb-host`); the emulators and the load generator run on another
//!    (`sb-load`), so the host's CPU time is its threads' alone. Each
//!    webhook goes to the gateway, which verifies it and chains to the
//!    moderator: fresh instances of both per request (WASI 0.2, as on every
//!    Spin), the moderator loading its lexicon each time.
//! 4. Sends both servers the same signed `Group.CallbackBeforeSendMsg`
//!    webhooks (100-character mixed Chinese and English messages: a quarter
//!    carry an English swear word, plain or disguised, a quarter a term of
//!    the synthetic lexicon, half nothing) from 1, 4 and 16 concurrent
//!    keep-alive clients, the order of the two servers alternating between
//!    rounds; then prints throughput, p50, p99, CPU time per request (the
//!    host's threads; Node's whole process) and what each caught, medians
//!    over rounds, and the ratios.
//!
//! Loopback only; bounded by `--requests` per server, client count and
//! round.

use moderation::Term;
use moderation::synthetic::{Generator, median};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::emulators::{Backends, EMULATOR_CALLBACK_TOKEN, EmulatorAddrs};
use switchboard_tests::bench::{
    before_send_body, cpu_time, intervened, moderator_app, moderator_components,
};
use switchboard_tests::{Runner, bench_arg, root, signed_webhook_url};

const CLIENTS: [usize; 3] = [1, 4, 16];
/// English words both servers should catch, planted plain or disguised.
const SWEARS: [&str; 6] = ["fuck", "shit", "bitch", "asshole", "bastard", "cunt"];

fn main() {
    let terms = bench_arg("--terms", 100_000);
    let requests = bench_arg("--requests", 3000).max(100);
    let rounds = bench_arg("--rounds", 3).max(1);
    let with_node = bench_arg("--node", 1) != 0;

    let components = moderator_components(terms);
    let node = with_node.then(NodeServer::start);
    let host_runtime = runtime("sb-host");
    let load_runtime = runtime("sb-load");

    let mut config = moderator_app(&components, "bench-versus-node");
    let backends = load_runtime
        .block_on(Backends::start(&mut config, EmulatorAddrs::any()))
        .unwrap();
    let runner = host_runtime.block_on(Runner::start(&config)).unwrap();
    backends.connect(&runner.url, &config);
    let mut servers = vec![Server {
        name: "switchboard (gateway → moderator)",
        url: runner.url.clone(),
        pid: std::process::id(),
        threads: "sb-host",
    }];
    if let Some(node) = &node {
        servers.push(Server {
            name: "node http + obscenity",
            url: node.url.clone(),
            pid: node.child.id(),
            threads: "",
        });
    }

    let corpus = Corpus::new(requests, terms);
    println!(
        "\n{terms}-term lexicon; {requests} webhooks per server, client count and round; medians of {rounds} rounds"
    );
    // figures[server][clients] = one Figures per round.
    let mut figures = vec![vec![Vec::new(); CLIENTS.len()]; servers.len()];
    load_runtime.block_on(async {
        for round in 0..rounds {
            for (c, &clients) in CLIENTS.iter().enumerate() {
                for i in 0..servers.len() {
                    let s = (i + round) % servers.len();
                    let run = (round * CLIENTS.len() + c) as u64;
                    figures[s][c].push(drive(&servers[s], &corpus, clients, run).await);
                }
            }
        }
    });

    println!(
        "\n  {:<36} {:>7} {:>10} {:>9} {:>9} {:>12}",
        "server", "clients", "req/s", "p50 ms", "p99 ms", "CPU µs/req"
    );
    let summary: Vec<Vec<Summary>> = figures
        .iter()
        .map(|per_clients| per_clients.iter().map(|r| Summary::of(r)).collect())
        .collect();
    for (server, rows) in servers.iter().zip(&summary) {
        for (clients, row) in CLIENTS.iter().zip(rows) {
            println!(
                "  {:<36} {:>7} {:>10.0} {:>9.3} {:>9.3} {:>12.0}",
                server.name, clients, row.rate, row.p50_ms, row.p99_ms, row.cpu_us
            );
        }
    }
    if summary.len() == 2 {
        println!("\n  switchboard ÷ node, same run:");
    }
    for (c, clients) in CLIENTS.iter().enumerate().filter(|_| summary.len() == 2) {
        let (ours, theirs) = (&summary[0][c], &summary[1][c]);
        println!(
            "    {clients:>2} clients: throughput {:.2}×, p50 {:.2}×, p99 {:.2}×, CPU per request {:.2}×",
            ours.rate / theirs.rate,
            ours.p50_ms / theirs.p50_ms,
            ours.p99_ms / theirs.p99_ms,
            ours.cpu_us / theirs.cpu_us,
        );
    }
    println!("\n  what each caught (share of webhooks answered with a mask or a refusal):");
    for (s, server) in servers.iter().enumerate() {
        let caught = &figures[s][0][0].intervened;
        let share = |kind: Planted| {
            let (hit, all) = corpus
                .planted
                .iter()
                .zip(caught)
                .filter(|(p, _)| **p == kind)
                .fold((0, 0), |(h, a), (_, c)| (h + usize::from(*c), a + 1));
            100.0 * hit as f64 / all.max(1) as f64
        };
        println!(
            "    {:<36} English swear words {:>5.1} %, synthetic terms {:>5.1} %, nothing planted {:>5.1} %",
            server.name,
            share(Planted::Swear),
            share(Planted::Synthetic),
            share(Planted::Nothing),
        );
    }
    drop(backends);
    host_runtime.block_on(async move { drop(runner) });
    drop(node);
}

fn runtime(threads: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(threads)
        .enable_all()
        .build()
        .unwrap()
}

/// A server under test and where its CPU time is read.
struct Server {
    name: &'static str,
    url: String,
    pid: u32,
    /// Prefix of the names of its threads in process `pid`.
    threads: &'static str,
}

#[derive(Clone, Copy, PartialEq)]
enum Planted {
    Swear,
    Synthetic,
    Nothing,
}

/// The messages, the same for every server and round.
struct Corpus {
    messages: Arc<Vec<String>>,
    planted: Vec<Planted>,
}

impl Corpus {
    /// `count` messages; the synthetic terms planted are terms of the
    /// moderator's lexicon (`lexicon_terms` of them, generated as
    /// [`moderator_components`] generates them).
    fn new(count: usize, lexicon_terms: usize) -> Self {
        let mut synthetic = Generator::new(lexicon_terms as u64).terms(lexicon_terms);
        synthetic.truncate(1000);
        let mut generator = Generator::new(20);
        let swears: Vec<Term> = SWEARS
            .iter()
            .map(|w| Term::new(w, "profanity", 3))
            .collect();
        let (mut messages, mut planted) = (Vec::new(), Vec::new());
        for i in 0..count {
            let (terms, kind) = match i % 4 {
                0 => (&swears[..], Planted::Swear),
                1 => (&synthetic[..], Planted::Synthetic),
                _ => (&synthetic[..], Planted::Nothing),
            };
            messages.push(generator.message(100, terms, kind != Planted::Nothing));
            planted.push(kind);
        }
        Self {
            messages: Arc::new(messages),
            planted,
        }
    }
}

/// One server, one client count, one round.
#[derive(Clone)]
struct Figures {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
    /// Per message of the corpus, whether the answer masked or refused.
    intervened: Vec<bool>,
}

/// Medians over rounds.
struct Summary {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us: f64,
}

impl Summary {
    fn of(rounds: &[Figures]) -> Self {
        let pick = |f: fn(&Figures) -> f64| median(rounds.iter().map(f).collect());
        Self {
            rate: pick(|f| f.rate),
            p50_ms: pick(|f| f.p50_ms),
            p99_ms: pick(|f| f.p99_ms),
            cpu_us: pick(|f| f.cpu_us),
        }
    }
}

/// Sends every message of the corpus once, from `clients` concurrent
/// keep-alive clients, after a warm-up; `run` tells the messages of this
/// call from those of every other.
async fn drive(server: &Server, corpus: &Corpus, clients: usize, run: u64) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    for (i, message) in corpus.messages.iter().take(100).enumerate() {
        let random = serial(run, corpus.messages.len() + i);
        send(&client, &server.url, message, random).await;
    }
    let cpu_before = cpu_time(server.pid, server.threads);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for first in 0..clients {
        let (client, url, messages) = (client.clone(), server.url.clone(), corpus.messages.clone());
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for (i, message) in messages.iter().enumerate().skip(first).step_by(clients) {
                let t = Instant::now();
                let caught = send(&client, &url, message, serial(run, i)).await;
                answers.push((i, t.elapsed(), caught));
            }
            answers
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    let cpu = cpu_time(server.pid, server.threads).saturating_sub(cpu_before);
    let mut intervened = vec![false; corpus.messages.len()];
    let mut latencies: Vec<Duration> = Vec::with_capacity(answers.len());
    for (i, latency, caught) in answers {
        intervened[i] = caught;
        latencies.push(latency);
    }
    latencies.sort();
    let at = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    Figures {
        rate: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.5).as_secs_f64() * 1e3,
        p99_ms: at(0.99).as_secs_f64() * 1e3,
        cpu_us: cpu.as_secs_f64() * 1e6 / latencies.len() as f64,
        intervened,
    }
}

/// The `Random` of message `i` of a run: every webhook of the bench is a
/// message of its own (IM redelivering one is another matter).
fn serial(run: u64, i: usize) -> u64 {
    (run + 1) * 1_000_000 + i as u64
}

/// Sends one signed before-send webhook; whether the answer intervened.
async fn send(client: &reqwest::Client, base: &str, text: &str, random: u64) -> bool {
    let url = signed_webhook_url(base, "Group.CallbackBeforeSendMsg");
    let response = client
        .post(url)
        .json(&before_send_body(text, random))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{base}");
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(answer["ErrorCode"].is_i64(), "{base}: {answer}");
    intervened(&answer)
}

/// The Node server, installed and started; stopped when dropped.
struct NodeServer {
    child: Child,
    url: String,
}

impl NodeServer {
    fn start() -> Self {
        let source = root().join("tests/benches/versus-node");
        let dir = root().join("target/bench-node");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["package.json", "package-lock.json", "server.mjs"] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        switchboard_tests::node::npm_ci(&dir);
        let mut child = Command::new("node")
            .arg("server.mjs")
            .current_dir(&dir)
            .env("PORT", "0")
            .env("CALLBACK_TOKEN", EMULATOR_CALLBACK_TOKEN)
            .stdout(Stdio::piped())
            .spawn()
            .expect("node is installed");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("node server said {line:?}"));
        println!(
            "node server (obscenity, node {}) on port {port}",
            node_version()
        );
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

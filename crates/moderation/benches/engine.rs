//! Engine benchmark: build, compiled size, load and memory per lexicon
//! size, then per-message latency and throughput for 100-character and
//! 2 KB messages — with all normalizations on, with them off, and plain
//! `aho-corasick` (no normalization) on the same lexicon and corpus. With
//! `--peer <python>` the same lexicon and corpus go to `better-profanity`
//! and `pyahocorasick` in the same run (`benches/peer.py`). Last, for
//! run-time overlays of each `--overlays` size (that many terms and as
//! many allowlist entries): compiling one from its JSON, against loading
//! its kept compiled form (`overlay::unpack`, digest of the JSON included),
//! which is what a fresh instance does instead.
//!
//! ```text
//! cargo bench -p moderation --features synthetic --bench engine -- \
//!     [--terms 1000,10000,100000] [--messages 2000] [--rounds 5] [--peer python3] [--peer-terms 1000] \
//!     [--overlays 10,100,1000,10000]
//! ```
//!
//! Figures are medians over rounds; each round scans every message once
//! with each scanner, in turn, and the throughput ratio is the median of
//! the rounds' own ratios.

use moderation::overlay::{JsonDigest, Overlay, pack, unpack};
use moderation::synthetic::{Counting, Figures, Generator, measure, measure_load, median};
use moderation::{Lexicon, Options, Term};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One matcher under test: a message in, a hit count out.
type Scanner<'a> = dyn Fn(&str) -> usize + 'a;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A comma-separated list of numbers (empty for none).
fn sizes_arg(name: &str, default: &str) -> Vec<usize> {
    arg(name)
        .unwrap_or_else(|| default.into())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("comma-separated numbers"))
        .collect()
}

fn main() {
    let sizes = sizes_arg("--terms", "1000,10000,100000");
    let overlays = sizes_arg("--overlays", "10,100,1000,10000");
    let messages: usize = arg("--messages").map_or(2000, |s| s.parse().expect("--messages"));
    let rounds: usize = arg("--rounds").map_or(5, |s| s.parse().expect("--rounds"));
    let peer = arg("--peer");
    let peer_terms: usize = arg("--peer-terms").map_or(1000, |s| s.parse().expect("--peer-terms"));
    let off = Options::none();

    println!("moderation engine, {messages} messages per corpus, medians of {rounds} rounds");
    for &size in &sizes {
        let mut generator = Generator::new(size as u64);
        let terms = generator.terms(size);
        let started = Instant::now();
        let lexicon = Lexicon::new(terms.clone(), vec![]).expect("synthetic lexicon builds");
        let build = started.elapsed();
        let bytes: &'static [u8] = Box::leak(lexicon.to_bytes().into_boxed_slice());
        drop(lexicon);
        let (load, lexicon) = measure_load(bytes, rounds);
        let plain_off = Lexicon::with_options(terms.clone(), vec![], off).expect("builds");
        let aho = aho_corasick::AhoCorasick::new(terms.iter().map(|t| t.text.as_str()))
            .expect("aho-corasick builds");
        println!(
            "\n{size} terms: build {:.1} ms, compiled {:.2} MB; load in place {:.4} ms ({:.3} MB heap), by copy {:.2} ms ({:.2} MB heap); aho-corasick heap {:.2} MB",
            build.as_secs_f64() * 1e3,
            bytes.len() as f64 / 1e6,
            load.in_place_ms,
            load.in_place_heap as f64 / 1e6,
            load.copy_ms,
            load.copy_heap as f64 / 1e6,
            aho.memory_usage() as f64 / 1e6,
        );
        for (label, chars) in [("100-char", 100), ("2 KB", 1000)] {
            let corpus: Vec<String> = (0..messages)
                .map(|i| generator.message(chars, &terms, i % 2 == 0))
                .collect();
            let avg = corpus.iter().map(String::len).sum::<usize>() / corpus.len();
            println!("  {label} messages (avg {avg} bytes):");
            // Rounds interleave the three scanners (in alternating order),
            // so a slow spell of the machine hits them alike and each
            // round gives a ratio of its own.
            let mut scanners: [(&str, Box<Scanner>); 3] = [
                (
                    "switchboard, all normalizations",
                    Box::new(|m| lexicon.scan(m).len()),
                ),
                (
                    "switchboard, normalization off",
                    Box::new(|m| plain_off.scan(m).len()),
                ),
                (
                    "aho-corasick crate, no normalization",
                    Box::new(|m| aho.find_overlapping_iter(m).count()),
                ),
            ];
            let mut figures: [Vec<Figures>; 3] = Default::default();
            let mut ratios = Vec::new();
            for round in 0..rounds.max(1) {
                let mut order = [0, 1, 2];
                if round % 2 == 1 {
                    order.reverse();
                }
                for i in order {
                    figures[i].push(measure(1, &corpus, &mut scanners[i].1));
                }
                ratios.push(figures[0][round].mb_per_s / figures[2][round].mb_per_s);
            }
            for ((name, _), f) in scanners.iter().zip(&figures) {
                let of = |field: fn(&Figures) -> f64| median(f.iter().map(field).collect());
                let (p50, p99, rate) = (of(|f| f.p50_us), of(|f| f.p99_us), of(|f| f.mb_per_s));
                println!("    {name:<38} p50 {p50:>8.2} µs  p99 {p99:>8.2} µs  {rate:>8.1} MB/s");
            }
            let spread = ratios
                .iter()
                .copied()
                .fold((f64::MAX, 0.0f64), |(lo, hi), r| (lo.min(r), hi.max(r)));
            println!(
                "    all normalizations / aho-corasick throughput: {:.2}× (median of {} rounds' ratios, {:.2}–{:.2})",
                median(ratios.clone()),
                ratios.len(),
                spread.0,
                spread.1
            );
            if let Some(python) = &peer
                && size == peer_terms
            {
                run_peers(python, &terms, &corpus);
            }
        }
    }
    if !overlays.is_empty() {
        println!("\nrun-time overlays, per fresh instance (medians of {rounds} rounds)");
    }
    for &size in &overlays {
        overlay_load(size, rounds);
    }
}

/// Compiling an overlay of `size` terms and `size` allowlist entries from
/// its JSON, against loading its kept compiled form.
fn overlay_load(size: usize, rounds: usize) {
    let overlay = Generator::new(u64::MAX).overlay(size);
    let json = serde_json::to_vec(&overlay).expect("an overlay serializes");
    let options = Options::default();
    let compile = || {
        let parsed: Overlay = serde_json::from_slice(&json).expect("parses");
        parsed.compile(options).expect("compiles")
    };
    let kept = pack(JsonDigest::of(&json), &compile());
    let time = |f: &dyn Fn()| {
        let started = Instant::now();
        f();
        started.elapsed()
    };
    let mut compiled = Vec::new();
    let mut loaded = Vec::new();
    for _ in 0..rounds {
        compiled.push(time(&|| drop(compile())));
        loaded.push(time(&|| {
            unpack(JsonDigest::of(&json), &options, &kept).expect("loads");
        }));
    }
    let ms = |d: Vec<Duration>| median(d.iter().map(|d| d.as_secs_f64() * 1e3).collect());
    let (compiled, loaded) = (ms(compiled), ms(loaded));
    println!(
        "  {size} terms + {size} entries ({:.0} KB JSON, {:.0} KB kept): compile {compiled:.3} ms, load kept {loaded:.4} ms ({:.0}× faster)",
        json.len() as f64 / 1e3,
        kept.len() as f64 / 1e3,
        compiled / loaded,
    );
}

/// Writes the lexicon and corpus to files and runs the Python peers on them.
fn run_peers(python: &str, terms: &[Term], corpus: &[String]) {
    let dir = std::env::temp_dir().join(format!("moderation-peer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let terms_path = dir.join("terms.txt");
    let corpus_path = dir.join("corpus.txt");
    let lines: Vec<&str> = terms.iter().map(|t| t.text.as_str()).collect();
    std::fs::write(&terms_path, lines.join("\n")).expect("write terms");
    std::fs::write(&corpus_path, corpus.join("\n")).expect("write corpus");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peer.py");
    for library in ["better-profanity", "pyahocorasick"] {
        let output = std::process::Command::new(python)
            .args([
                script,
                terms_path.to_str().unwrap(),
                corpus_path.to_str().unwrap(),
                library,
            ])
            .output();
        match output {
            Ok(out) if out.status.success() => {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    println!("    peer: {line}");
                }
            }
            Ok(out) => println!(
                "    peer {library} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => println!("    peer {library}: cannot run {python}: {e}"),
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

//! The moderation engine measured inside wasm, with the same generator and
//! measurement as the native bench (`moderation::synthetic`), so the two
//! are comparable. `GET /?terms=N&messages=M&rounds=R` answers JSON:
//! build and load times, heap after load, and per-message figures for
//! 100-character and 2 KB messages.

use bytes::Bytes;
use connector::edge::{Request, Response};
use moderation::Lexicon;
use moderation::synthetic::{Counting, Generator, measure, measure_load};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn param(query: &str, name: &str, default: usize) -> usize {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(default)
}

#[spin_sdk::http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    connector::edge::serve(req, out, bench).await
}

async fn bench(req: Request) -> Response {
    let query = req.uri().query().unwrap_or("").to_string();
    let size = param(&query, "terms", 1000);
    let messages = param(&query, "messages", 1000);
    let rounds = param(&query, "rounds", 3);
    let mut generator = Generator::new(size as u64);
    let terms = generator.terms(size);
    let started = Instant::now();
    let built = Lexicon::new(terms.clone(), vec![]).expect("synthetic lexicon builds");
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let bytes: &'static [u8] = Box::leak(built.to_bytes().into_boxed_slice());
    drop(built);
    let (load, lexicon) = measure_load(bytes, rounds);
    let mut corpora = serde_json::Map::new();
    for (label, chars) in [("100-char", 100), ("2 KB", 1000)] {
        let corpus: Vec<String> = (0..messages)
            .map(|i| generator.message(chars, &terms, i % 2 == 0))
            .collect();
        let figures = measure(rounds, &corpus, |m| lexicon.scan(m).len());
        corpora.insert(
            label.to_string(),
            serde_json::json!({
                "avg_bytes": corpus.iter().map(String::len).sum::<usize>() / corpus.len().max(1),
                "p50_us": figures.p50_us, "p99_us": figures.p99_us, "mb_per_s": figures.mb_per_s,
            }),
        );
    }
    let body = serde_json::json!({
        "terms": size, "build_ms": build_ms, "compiled_bytes": bytes.len(),
        "load_in_place_ms": load.in_place_ms, "heap_in_place_bytes": load.in_place_heap,
        "load_copy_ms": load.copy_ms, "heap_copy_bytes": load.copy_heap, "corpora": corpora,
    });
    Response::new(Bytes::from(body.to_string()))
}

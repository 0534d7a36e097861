"""Peer libraries on the engine bench's own lexicon and corpus.

Run by `cargo bench -p moderation --features synthetic --bench engine -- --peer <python>`
with a Python that has `better-profanity` and `pyahocorasick` installed;
prints one JSON object per library on stdout.
"""
import json
import sys
import time


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def measure(name, load, check, messages):
    started = time.perf_counter()
    state = load()
    load_s = time.perf_counter() - started
    samples = []
    total_bytes = sum(len(m.encode("utf-8")) for m in messages)
    found = 0
    started = time.perf_counter()
    for message in messages:
        t = time.perf_counter()
        found += check(state, message)
        samples.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "library": name,
        "load_ms": load_s * 1e3,
        "mb_per_s": total_bytes / elapsed / 1e6,
        "p50_us": percentile(samples, 0.5) * 1e6,
        "p99_us": percentile(samples, 0.99) * 1e6,
        "messages_with_hits": found,
    }), flush=True)


def main():
    terms_path, corpus_path, which = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(terms_path, encoding="utf-8") as f:
        terms = [line.rstrip("\n") for line in f if line.strip()]
    with open(corpus_path, encoding="utf-8") as f:
        messages = [line.rstrip("\n") for line in f]

    if which == "better-profanity":
        from better_profanity import Profanity

        def load():
            profanity = Profanity()
            profanity.load_censor_words(terms)
            return profanity

        measure("better-profanity", load,
                lambda p, m: int(p.contains_profanity(m)), messages)
    elif which == "pyahocorasick":
        import ahocorasick

        def load():
            automaton = ahocorasick.Automaton()
            for i, term in enumerate(terms):
                automaton.add_word(term, i)
            automaton.make_automaton()
            return automaton

        measure("pyahocorasick (no normalization)", load,
                lambda a, m: int(next(a.iter(m), None) is not None), messages)


main()

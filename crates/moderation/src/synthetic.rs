//! Synthetic lexicons and chat messages of any size, for benchmarks: the
//! shipped lexicons are small, and the interesting question is how the
//! engine behaves with 10k or 100k terms. Deterministic for a given seed,
//! so every run (and every peer library) sees the same input.

use crate::{Action, Term};

const LATIN: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
/// Common CJK characters, so generated terms and messages overlap the way
/// real Chinese text does.
const CJK: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴";

/// A generator with a fixed seed.
pub struct Generator {
    rng: fastrand::Rng,
    cjk: Vec<char>,
}

impl Generator {
    /// A generator; the same seed gives the same output.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            cjk: CJK.chars().collect(),
        }
    }

    /// `count` distinct terms: about half Latin words of 4–10 letters,
    /// half CJK phrases of 2–4 characters, in four categories.
    pub fn terms(&mut self, count: usize) -> Vec<Term> {
        let mut seen = std::collections::HashSet::new();
        let mut terms = Vec::with_capacity(count);
        while terms.len() < count {
            let text = if self.rng.bool() {
                self.latin_word(4..=10)
            } else {
                self.cjk_phrase(2..=4)
            };
            if seen.insert(text.clone()) {
                let category = ["profanity", "insult", "spam", "politics"][terms.len() % 4];
                let mut term = Term::new(&text, category, (terms.len() % 3) as u8 + 1);
                term.action = [Action::Mask, Action::Reject, Action::Drop][terms.len() % 3];
                term.whole_word = text.is_ascii() && text.len() < 6;
                terms.push(term);
            }
        }
        terms
    }

    /// A run-time overlay of `count` terms (as written, mask, severity 1)
    /// and `count` allowlist entries, as an operator's grows.
    pub fn overlay(&mut self, count: usize) -> crate::overlay::Overlay {
        crate::overlay::Overlay {
            terms: self
                .terms(count)
                .into_iter()
                .map(|t| crate::overlay::OverlayTerm {
                    text: t.text,
                    category: t.category,
                    severity: 1,
                    action: Action::Mask,
                    whole_word: false,
                    regex: false,
                })
                .collect(),
            allow: (0..count).map(|i| format!("allowed phrase {i}")).collect(),
        }
    }

    /// A chat message of about `chars` characters: mixed Chinese and
    /// English, digits, punctuation and an emoji now and then; with
    /// `plant`, one of `terms` (disguised with separators or full width
    /// half the time) is placed in it.
    pub fn message(&mut self, chars: usize, terms: &[Term], plant: bool) -> String {
        let mut out = String::new();
        let mut count = 0;
        let planted_at = self.rng.usize(0..chars.max(1));
        let mut planted = !plant || terms.is_empty();
        while count < chars {
            if !planted && count >= planted_at {
                let term = &terms[self.rng.usize(0..terms.len())].text;
                let disguised: String = match self.rng.u8(0..3) {
                    0 => term.chars().map(|c| format!("{c}.")).collect(),
                    1 => term.chars().map(full_width).collect(),
                    _ => term.clone(),
                };
                count += disguised.chars().count();
                out.push_str(&disguised);
                out.push(' ');
                planted = true;
                continue;
            }
            let piece = match self.rng.u8(0..10) {
                0..=4 => self.cjk_phrase(2..=6),
                5..=7 => {
                    let word = self.latin_word(2..=7);
                    format!("{word} ")
                }
                8 => format!("{}，", self.rng.u32(0..10_000)),
                _ => ["😀", "！", "? ", "🎉", "…"][self.rng.usize(0..5)].to_string(),
            };
            count += piece.chars().count();
            out.push_str(&piece);
        }
        out
    }

    fn latin_word(&mut self, length: std::ops::RangeInclusive<usize>) -> String {
        let n = self.rng.usize(length);
        (0..n)
            .map(|_| LATIN[self.rng.usize(0..LATIN.len())] as char)
            .collect()
    }

    fn cjk_phrase(&mut self, length: std::ops::RangeInclusive<usize>) -> String {
        let n = self.rng.usize(length);
        (0..n)
            .map(|_| self.cjk[self.rng.usize(0..self.cjk.len())])
            .collect()
    }
}

fn full_width(c: char) -> char {
    if c.is_ascii_graphic() {
        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
    } else {
        c
    }
}

/// Per-message latency and throughput of one matcher over a corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Median over rounds of the per-message median, µs.
    pub p50_us: f64,
    /// Median over rounds of the per-message 99th percentile, µs.
    pub p99_us: f64,
    /// Median over rounds of bytes scanned per second, MB/s.
    pub mb_per_s: f64,
}

/// Scans every message of `corpus` once per round with `scan` (which
/// returns a hit count, kept from being optimized away).
pub fn measure(rounds: usize, corpus: &[String], mut scan: impl FnMut(&str) -> usize) -> Figures {
    let bytes: usize = corpus.iter().map(String::len).sum();
    let (mut p50, mut p99, mut rate) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let mut samples = Vec::with_capacity(corpus.len());
        let mut found = 0;
        let started = std::time::Instant::now();
        for message in corpus {
            let t = std::time::Instant::now();
            found += scan(message);
            samples.push(t.elapsed());
        }
        let elapsed = started.elapsed().as_secs_f64();
        std::hint::black_box(found);
        samples.sort();
        let at = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
        p50.push(at(0.5).as_secs_f64() * 1e6);
        p99.push(at(0.99).as_secs_f64() * 1e6);
        rate.push(bytes as f64 / elapsed / 1e6);
    }
    Figures {
        p50_us: median(p50),
        p99_us: median(p99),
        mb_per_s: median(rate),
    }
}

/// The median of `values` (upper median for even counts).
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

/// A global allocator that counts live heap bytes, so a benchmark can say
/// what a loaded lexicon occupies: declare it with `#[global_allocator]`
/// and read [`Counting::live`].
pub struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Counting {
    /// Heap bytes allocated and not yet freed.
    pub fn live() -> usize {
        LIVE.load(std::sync::atomic::Ordering::Relaxed)
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

/// Writes `terms` in the lexicon file format (headers whenever the
/// metadata changes), so a build can compile a synthetic lexicon.
pub fn to_lexicon_file(terms: &[Term]) -> String {
    let mut out = String::from("# source: synthetic (benchmarks)\n");
    let mut last: Option<(&str, u8, Action, bool)> = None;
    for term in terms {
        let key = (
            term.category.as_str(),
            term.severity,
            term.action,
            term.whole_word,
        );
        if last != Some(key) {
            out.push_str(&format!(
                "# category: {}\n# severity: {}\n# action: {}\n# whole_word: {}\n",
                key.0,
                key.1,
                key.2.name(),
                key.3
            ));
            last = Some(key);
        }
        out.push_str(&term.text);
        out.push('\n');
    }
    out
}

/// What loading a compiled lexicon costs, per instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadFigures {
    /// [`Lexicon::from_static`](crate::Lexicon::from_static), median ms.
    pub in_place_ms: f64,
    /// Heap it allocates, bytes (needs [`Counting`] as the global allocator).
    pub in_place_heap: usize,
    /// [`Lexicon::from_bytes`](crate::Lexicon::from_bytes) (copy and
    /// check), median ms.
    pub copy_ms: f64,
    /// Heap it allocates, bytes.
    pub copy_heap: usize,
}

/// Loads `bytes` both ways, `rounds` times each; returns the figures and
/// the lexicon used in place.
pub fn measure_load(bytes: &'static [u8], rounds: usize) -> (LoadFigures, crate::Lexicon) {
    let timed = |load: &dyn Fn() -> crate::Lexicon| {
        let mut times = Vec::new();
        let mut heap = 0;
        let mut last = None;
        for _ in 0..rounds.max(1) {
            drop(last.take());
            let before = Counting::live();
            let started = std::time::Instant::now();
            let lexicon = load();
            times.push(started.elapsed().as_secs_f64() * 1e3);
            heap = Counting::live().saturating_sub(before);
            last = Some(lexicon);
        }
        (median(times), heap, last.expect("at least one round"))
    };
    let (copy_ms, copy_heap, _) =
        timed(&|| crate::Lexicon::from_bytes(bytes).expect("compiled lexicon loads"));
    let (in_place_ms, in_place_heap, lexicon) =
        timed(&|| crate::Lexicon::from_static(bytes).expect("compiled lexicon loads"));
    (
        LoadFigures {
            in_place_ms,
            in_place_heap,
            copy_ms,
            copy_heap,
        },
        lexicon,
    )
}

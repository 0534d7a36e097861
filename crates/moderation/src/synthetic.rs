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

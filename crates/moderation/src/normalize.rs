//! Normalization that undoes common evasions, keeping a map from every
//! normalized character back to the span of the original text it came from,
//! so matches can be reported and masked in the original exactly.
//!
//! Each step is switchable ([`Options`]): Traditional → Simplified Chinese,
//! compatibility forms (NFKC: full width, circled, parenthesized,
//! superscript and math-styled letters and digits), case folding, confusable
//! look-alikes (Cyrillic/Greek), Chinese numerals, leetspeak, zero-width and
//! format characters, separators between characters (`f.u.c.k`, `傻@逼`,
//! `s h i t`), and repeated characters (`fuuuck`).

use unicode_normalization::UnicodeNormalization;

/// Which normalizations run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Traditional → Simplified Chinese.
    pub traditional_to_simplified: bool,
    /// NFKC compatibility forms (full width, circled, math-styled, …).
    pub compatibility: bool,
    /// Lowercase.
    pub case_fold: bool,
    /// Cyrillic/Greek look-alikes of Latin letters.
    pub confusables: bool,
    /// Chinese numerals (零一二…九) as digits.
    pub numerals: bool,
    /// `@`→a, `4`→a, `3`→e, `1`→i, `0`→o, `$`/`5`→s, `7`→t.
    pub leetspeak: bool,
    /// Drop zero-width and other format characters.
    pub strip_format: bool,
    /// Drop separators (spaces, punctuation, symbols) between characters.
    pub skip_separators: bool,
    /// Collapse runs of the same character.
    pub collapse_repeats: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            traditional_to_simplified: true,
            compatibility: true,
            case_fold: true,
            confusables: true,
            numerals: true,
            leetspeak: true,
            strip_format: true,
            skip_separators: true,
            collapse_repeats: true,
        }
    }
}

impl Options {
    /// Every step off: text is matched as written.
    pub fn none() -> Self {
        Self {
            traditional_to_simplified: false,
            compatibility: false,
            case_fold: false,
            confusables: false,
            numerals: false,
            leetspeak: false,
            strip_format: false,
            skip_separators: false,
            collapse_repeats: false,
        }
    }

    /// The subset used for regular-expression rules: width, case, format
    /// characters and numerals, but separators, repeats and leetspeak kept
    /// (`.`, `@` and digits are what URLs, addresses and numbers are made
    /// of) and no script conversion.
    pub fn for_patterns(&self) -> Self {
        Self {
            traditional_to_simplified: false,
            confusables: false,
            leetspeak: false,
            skip_separators: false,
            collapse_repeats: false,
            ..*self
        }
    }

    /// The switches as bits, in field order (for the compiled form).
    pub(crate) fn bits(&self) -> u16 {
        [
            self.traditional_to_simplified,
            self.compatibility,
            self.case_fold,
            self.confusables,
            self.numerals,
            self.leetspeak,
            self.strip_format,
            self.skip_separators,
            self.collapse_repeats,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, on)| bits | (u16::from(*on) << i))
    }

    /// The inverse of [`bits`](Self::bits).
    pub(crate) fn from_bits(bits: u16) -> Self {
        let on = |i: u16| bits & (1 << i) != 0;
        Self {
            traditional_to_simplified: on(0),
            compatibility: on(1),
            case_fold: on(2),
            confusables: on(3),
            numerals: on(4),
            leetspeak: on(5),
            strip_format: on(6),
            skip_separators: on(7),
            collapse_repeats: on(8),
        }
    }
}

/// Normalized text with its map back to the original.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    /// For each character of `text`, in order: its byte offset in `text` and
    /// the byte range of the original it came from.
    pub origin: Vec<(usize, std::ops::Range<usize>)>,
}

impl Normalized {
    /// The original byte range covered by normalized bytes `start..end`.
    pub fn original_span(&self, start: usize, end: usize) -> Option<std::ops::Range<usize>> {
        let first = self.origin.partition_point(|(at, _)| *at < start);
        let last = self.origin.partition_point(|(at, _)| *at < end);
        if first >= last {
            return None;
        }
        Some(self.origin[first].1.start..self.origin[last - 1].1.end)
    }
}

fn confusable(c: char) -> char {
    match c {
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'ɡ' => 'g',
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        other => other,
    }
}

fn chinese_numeral(c: char) -> char {
    match c {
        '零' | '〇' => '0',
        '一' | '壹' => '1',
        '二' | '贰' | '两' => '2',
        '三' | '叁' => '3',
        '四' | '肆' => '4',
        '五' | '伍' => '5',
        '六' | '陆' => '6',
        '七' | '柒' => '7',
        '八' | '捌' => '8',
        '九' | '玖' => '9',
        other => other,
    }
}

fn leet(c: char) -> char {
    match c {
        '@' | '4' => 'a',
        '3' => 'e',
        '1' | '!' => 'i',
        '0' => 'o',
        '$' | '5' => 's',
        '7' | '+' => 't',
        other => other,
    }
}

/// A character a reader sees as a gap between letters: whitespace, or
/// punctuation and symbols that are not leetspeak letters. Zero-width
/// characters are not: they are invisible, an evasion rather than a gap.
pub(crate) fn is_visible_separator(c: char) -> bool {
    c.is_whitespace() || (!c.is_alphanumeric() && !is_format(c) && leet(c) == c)
}

/// A CJK unified ideograph of the main block (U+4E00–U+9FFF).
fn is_ideograph(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

/// Zero-width and format characters (Unicode category Cf, the common ones).
fn is_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FE00}'..='\u{FE0F}')
}

/// A separator: not a letter or digit of any script (and not a leet
/// character when leetspeak is on: `@` in `f@ck` is a letter).
fn is_separator(c: char, options: &Options) -> bool {
    if c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric()) {
        return false;
    }
    if options.leetspeak && leet(c) != c {
        return false;
    }
    true
}

/// Normalizes `text`.
pub fn normalize(text: &str, options: &Options) -> Normalized {
    let simplified;
    let source: &str = if options.traditional_to_simplified {
        simplified = fast2s::convert(text);
        &simplified
    } else {
        text
    };
    let mut out = String::with_capacity(text.len());
    let mut origin: Vec<(usize, std::ops::Range<usize>)> = Vec::with_capacity(text.len());
    // The conversion maps one character to one character, so the original
    // positions can be walked in step.
    let mut originals = text.char_indices();
    for converted in source.chars() {
        let Some((start, original)) = originals.next() else {
            break;
        };
        let span = start..start + original.len_utf8();
        if options.strip_format && is_format(converted) {
            continue;
        }
        let push =
            |c: char, out: &mut String, origin: &mut Vec<(usize, std::ops::Range<usize>)>| {
                let mut c = c;
                // A symbol that could be leetspeak (`@`, `$`) is a letter only
                // next to Latin letters; after a CJK character it separates.
                if options.leetspeak
                    && options.skip_separators
                    && !c.is_alphanumeric()
                    && leet(c) != c
                    && out.chars().next_back().is_some_and(|last| !last.is_ascii())
                {
                    return;
                }
                if is_ideograph(c) {
                    // Most of Chinese chat: no case, no look-alikes, no leet,
                    // never a separator — only numerals apply.
                    if options.numerals {
                        c = chinese_numeral(c);
                    }
                } else {
                    if options.case_fold {
                        c = if c.is_ascii() {
                            c.to_ascii_lowercase()
                        } else {
                            c.to_lowercase().next().unwrap_or(c)
                        };
                    }
                    if options.confusables {
                        c = confusable(c);
                    }
                    if options.leetspeak {
                        c = leet(c);
                    }
                    if options.skip_separators && is_separator(c, options) {
                        return;
                    }
                }
                // Only a repeat written next to its twin collapses: across
                // a separator it is two words meeting (`is shit`), not `fuuuck`.
                if options.collapse_repeats
                    && let Some(last) = out.chars().next_back()
                    && last == c
                    && origin
                        .last()
                        .is_some_and(|(_, r)| r.end == span.start || *r == span)
                {
                    // Extend the previous character's span over the repeat.
                    if let Some((_, r)) = origin.last_mut() {
                        r.end = span.end;
                    }
                    return;
                }
                origin.push((out.len(), span.clone()));
                out.push(c);
            };
        // ASCII and the main CJK block are their own compatibility forms;
        // skipping the decomposer for them keeps ordinary chat fast.
        if options.compatibility && !converted.is_ascii() && !is_ideograph(converted) {
            for c in std::iter::once(converted).nfkc() {
                push(c, &mut out, &mut origin);
            }
        } else {
            push(converted, &mut out, &mut origin);
        }
    }
    Normalized { text: out, origin }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s, &Options::default()).text
    }

    #[test]
    fn each_evasion_is_undone() {
        assert_eq!(norm("ＦＵＣＫ"), "fuck", "full width");
        assert_eq!(norm("ⓕⓤⓒⓚ"), "fuck", "circled");
        assert_eq!(norm("𝐟𝐮𝐜𝐤"), "fuck", "math bold");
        assert_eq!(
            norm("fսck".replace('ս', "υ").as_str()),
            "fuck",
            "greek upsilon"
        );
        assert_eq!(norm("раssword"), norm("password"), "cyrillic р and а");
        assert_eq!(norm("f\u{200B}u\u{200D}c\u{FEFF}k"), "fuck", "zero-width");
        assert_eq!(norm("f.u.c.k"), "fuck", "dots");
        assert_eq!(norm("s h i t"), "shit", "spaces");
        assert_eq!(norm("傻@逼"), "傻逼", "@ separates CJK");
        assert_eq!(
            norm("f@ck"),
            "fack",
            "@ is a leet letter between Latin letters"
        );
        assert_eq!(norm("傻*逼"), "傻逼", "symbol separator");
        assert_eq!(norm("fuuuuuck"), "fuck", "repeats");
        assert_eq!(norm("is shit"), "isshit", "no collapse across a separator");
        assert_eq!(norm("sh1t"), "shit", "leet");
        assert_eq!(norm("⑤"), "s", "circled five is 5, and 5 is leet s");
        assert_eq!(norm("發票"), "发票", "traditional to simplified");
    }

    #[test]
    fn switches_turn_steps_off() {
        let plain = Options {
            leetspeak: false,
            collapse_repeats: false,
            ..Options::default()
        };
        assert_eq!(normalize("⑤五㈤", &plain).text, "555");
        let none = Options::none();
        assert_eq!(normalize("ＡB.發", &none).text, "ＡB.發");
    }

    #[test]
    fn spans_map_back_exactly() {
        let text = "say f.u.c.k 😀 now";
        let n = normalize(text, &Options::default());
        let at = n.text.find("fuck").unwrap();
        let span = n.original_span(at, at + 4).unwrap();
        assert_eq!(&text[span], "f.u.c.k");
        let text = "ＦＵＣＫ!";
        let n = normalize(text, &Options::default());
        assert_eq!(&text[n.original_span(0, 4).unwrap()], "ＦＵＣＫ");
        let text = "fuuuuck";
        let n = normalize(text, &Options::default());
        assert_eq!(&text[n.original_span(0, n.text.len()).unwrap()], "fuuuuck");
    }
}

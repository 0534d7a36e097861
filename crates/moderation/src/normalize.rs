//! Normalization that undoes common evasions, keeping a map from every
//! normalized character back to the span of the original text it came from,
//! so matches can be reported and masked in the original exactly.
//!
//! Each step is switchable ([`Options`]): Traditional → Simplified Chinese,
//! compatibility forms (NFKC: full width, circled, parenthesized,
//! superscript and math-styled letters and digits), combining marks
//! (accents, strike-through and underline overlays), case folding,
//! look-alike letters (Unicode's confusables data, UTS #39, plus the
//! enclosed, squared and small-capital Latin letters it leaves alone),
//! emoji standing for a character, Chinese numerals, leetspeak,
//! zero-width and format characters, separators between characters
//! (`f.u.c.k`, `傻@逼`, `s h i t`), and repeated characters (`fuuuck`).
//!
//! The switches that work on the lexicon's side instead — phonetic
//! respellings, pinyin, homophones and self-censored spellings such as
//! `b*tch` — are described in the [`variants`](crate::variants) module.
//!
//! ```
//! use moderation::normalize::{normalize, Options};
//!
//! let text = "Ｆ.ù.ç.ᴋ";
//! let n = normalize(text, &Options::default());
//! assert_eq!(n.text, "fuck");
//! // Every character of the result knows where it came from.
//! assert_eq!(n.original_span(0, 4), Some(0..text.len()));
//! ```

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Declares [`Options`] once: its fields, their names in lexicon files,
/// their defaults and their bit in the compiled form all come from here.
macro_rules! options {
    ($($(#[doc = $doc:literal])* $field:ident = $default:literal,)*) => {
        /// Which normalizations run (and which variants of the lexicon's
        /// terms are compiled in).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Options {
            $($(#[doc = $doc])* pub $field: bool,)*
        }

        impl Default for Options {
            fn default() -> Self {
                Self { $($field: $default,)* }
            }
        }

        impl Options {
            /// The switches' names, as lexicon files spell them
            /// (`# normalize: pinyin_initials=on`).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field),)*];

            /// Every step off: text is matched as written.
            pub fn none() -> Self {
                Self { $($field: false,)* }
            }

            /// Turns the switch called `name` on or off; `None` when no
            /// switch has that name.
            pub fn set(&mut self, name: &str, on: bool) -> Option<()> {
                match name {
                    $(stringify!($field) => self.$field = on,)*
                    _ => return None,
                }
                Some(())
            }

            /// The switches as bits, in declaration order (for the
            /// compiled form).
            pub(crate) fn bits(&self) -> u32 {
                [$(self.$field,)*]
                    .iter()
                    .enumerate()
                    .fold(0, |bits, (i, on)| bits | (u32::from(*on) << i))
            }

            /// The inverse of [`bits`](Self::bits).
            pub(crate) fn from_bits(bits: u32) -> Self {
                let mut i = 0;
                let mut next = || {
                    let on = bits & (1 << i) != 0;
                    i += 1;
                    on
                };
                Self { $($field: next(),)* }
            }
        }
    };
}

options! {
    /// Traditional → Simplified Chinese.
    traditional_to_simplified = true,
    /// NFKC compatibility forms (full width, circled, math-styled, …).
    compatibility = true,
    /// Lowercase.
    case_fold = true,
    /// Look-alike letters of other scripts and symbol sets: the UTS #39
    /// skeleton of every non-ASCII character (Cyrillic `а`, Greek `ο`,
    /// `ſ`, `ℓ`, katakana `ロ` for `口`, …), lowercased, plus the Latin
    /// letters that data does not reduce: small capitals (`ᴀ`, `ʜ`),
    /// squared, negative circled and negative squared letters (`🄰`, `🅐`,
    /// `🅰`) and regional indicators (`🇦`).
    confusables = true,
    /// Drop combining marks — accents (`fück`), strike-through (`f̶u̶c̶k̶`)
    /// and underline overlays — keeping the letters they sit on; the
    /// marks stay inside the span of their letter, so masking covers them.
    marks = true,
    /// Chinese numerals (零一二…九) as digits.
    numerals = true,
    /// `@`→a, `4`→a, `3`→e, `1`→i, `0`→o, `$`/`5`→s, `7`→t.
    leetspeak = true,
    /// Emoji that stand for a character in evasions (`草泥🐴`, `🐔`, `❌`,
    /// `⭕`): see [`emoji`].
    emoji = true,
    /// Drop zero-width and other format characters.
    strip_format = true,
    /// Drop separators (spaces, punctuation, symbols) between characters.
    skip_separators = true,
    /// Collapse runs of the same character.
    collapse_repeats = true,
    /// Compile common English respellings of Latin terms (`phuk` for
    /// `fuck`); they match at the start of a word only.
    phonetic = true,
    /// Compile the pinyin of Chinese terms (`shabi`, `sha bi` for 傻逼);
    /// it matches as a whole word only.
    pinyin = true,
    /// With `pinyin`, also the initials (`sb`): short and ambiguous, so
    /// off unless a deployment asks for it.
    pinyin_initials = false,
    /// Compile the homophones and look-alikes of the lexicon's table
    /// (`~逼 比 笔`) into its Chinese terms.
    homophones = true,
    /// Compile self-censored spellings of Latin terms, a symbol standing
    /// for one or two inner letters (`b*tch`, `a**hole`, `sh#t`).
    self_censored = true,
}

impl Options {
    /// The subset used for regular-expression rules: width, case, format
    /// characters and numerals, but separators, repeats and leetspeak kept
    /// (`.`, `@` and digits are what URLs, addresses and numbers are made
    /// of) and no script conversion.
    pub fn for_patterns(&self) -> Self {
        Self {
            traditional_to_simplified: false,
            confusables: false,
            marks: false,
            leetspeak: false,
            emoji: false,
            skip_separators: false,
            collapse_repeats: false,
            ..*self
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

/// The character an emoji stands for in evasions, when it is one of the
/// common ones: animals and things whose Chinese name is a homophone of a
/// term's character (`🐴` 马 as in 草泥马, `🐔` 鸡, `🌿` 草), and symbols
/// read as a Latin letter (`❌` x, `⭕` o).
///
/// ```
/// assert_eq!(moderation::normalize::emoji('🐴'), Some('马'));
/// assert_eq!(moderation::normalize::emoji('😀'), None);
/// ```
pub fn emoji(c: char) -> Option<char> {
    Some(match c {
        '🐴' | '🐎' => '马',
        '🐔' | '🐓' => '鸡',
        '🌿' | '🌱' => '草',
        '🐮' | '🐂' | '🐄' => '牛',
        '🐶' | '🐕' => '狗',
        '🐷' | '🐖' => '猪',
        '🐢' => '龟',
        '🥚' => '蛋',
        '💩' => '屎',
        '🔫' => '枪',
        '💊' => '药',
        '💰' => '钱',
        '🔪' => '刀',
        '❌' | '✖' => 'x',
        '⭕' => 'o',
        _ => return None,
    })
}

/// The Latin letter a character outside the confusables data is read as:
/// small capitals, squared and negative circled/squared capitals, and
/// regional indicator symbols (each named "… LETTER X" in Unicode).
fn latin_look_alike(c: char) -> Option<char> {
    let offset = |first: char| char::from(b'a' + (c as u32 - first as u32) as u8);
    Some(match c {
        '\u{1F130}'..='\u{1F149}' => offset('\u{1F130}'),
        '\u{1F150}'..='\u{1F169}' => offset('\u{1F150}'),
        '\u{1F170}'..='\u{1F189}' => offset('\u{1F170}'),
        '\u{1F1E6}'..='\u{1F1FF}' => offset('\u{1F1E6}'),
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ꜰ' => 'f',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ꞯ' => 'q',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        _ => return None,
    })
}

/// Calls `each` with what a non-ASCII, non-ideograph character looks like
/// in Latin or CJK terms: its UTS #39 skeleton (marks dropped when `marks`
/// is on, letters lowercased), or the look-alike letter the skeleton does
/// not know.
fn look_alikes(c: char, marks: bool, mut each: impl FnMut(char)) {
    if let Some(letter) = latin_look_alike(c) {
        return each(letter);
    }
    let mut buffer = [0; 4];
    for p in unicode_security::skeleton(c.encode_utf8(&mut buffer)) {
        if marks && is_combining_mark(p) {
            continue;
        }
        let p = latin_look_alike(p).unwrap_or(p);
        each(if p.is_ascii() {
            p.to_ascii_lowercase()
        } else {
            p
        });
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

/// A symbol that stands for a hidden letter in self-censored words
/// (`b*tch`, `sh#t`, `a**hole`), kept as `*` in the self-censored pass.
pub(crate) fn is_censor_symbol(c: char) -> bool {
    matches!(c, '*' | '#' | '%' | '∗' | '•' | '✱' | '✲')
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

include!(concat!(env!("OUT_DIR"), "/traditional_to_simplified.rs"));

/// The simplified form of a traditional Chinese character; any other
/// character as it is. Character by character, whatever its neighbours
/// (a term cannot hide behind a word in which its character would stay
/// traditional), from `fast2s`'s table.
///
/// ```
/// assert_eq!(moderation::normalize::simplified('說'), '说');
/// assert_eq!(moderation::normalize::simplified('说'), '说');
/// assert_eq!(moderation::normalize::simplified('a'), 'a');
/// ```
pub fn simplified(c: char) -> char {
    let code = c as u32;
    if code > 0xFFFF || HAS_SIMPLIFIED[(code >> 6) as usize] & (1 << (code & 63)) == 0 {
        return c;
    }
    TRADITIONAL_TO_SIMPLIFIED
        .binary_search_by_key(&c, |&(from, _)| from)
        .map_or(c, |i| TRADITIONAL_TO_SIMPLIFIED[i].1)
}

/// Normalizes `text`.
pub fn normalize(text: &str, options: &Options) -> Normalized {
    normalize_as(text, options, false)
}

/// Normalizes `text`; with `keep_censored`, a censor symbol
/// ([`is_censor_symbol`]) becomes `*` and counts as a letter instead of
/// a separator (the pass that finds `b*tch`).
pub(crate) fn normalize_as(text: &str, options: &Options, keep_censored: bool) -> Normalized {
    let mut out = Output {
        text: String::with_capacity(text.len()),
        // One entry per character written, rarely more than the text has
        // (a compatibility form may decompose into several).
        origin: Vec::with_capacity(text.chars().count()),
        options,
        keep_censored,
    };
    for (start, original) in text.char_indices() {
        let converted = if options.traditional_to_simplified {
            simplified(original)
        } else {
            original
        };
        let span = start..start + original.len_utf8();
        if converted.is_ascii() || is_ideograph(converted) {
            // Most chat: no decomposition, no marks, no format characters.
            out.letter(converted, &span);
            continue;
        }
        if options.strip_format && is_format(converted) {
            continue;
        }
        if options.marks && is_combining_mark(converted) {
            // A mark written after its letter (`f̶`) belongs to that
            // letter's span, so masking the letter masks the mark.
            out.extend_last(&span);
            continue;
        }
        match (options.compatibility, options.marks) {
            // Decomposed when marks are dropped (`ü` is `u` and a mark).
            (true, true) => std::iter::once(converted)
                .nfkd()
                .filter(|c| !is_combining_mark(*c))
                .for_each(|c| out.letter(c, &span)),
            (true, false) => std::iter::once(converted)
                .nfkc()
                .for_each(|c| out.letter(c, &span)),
            (false, true) => std::iter::once(converted)
                .nfd()
                .filter(|c| !is_combining_mark(*c))
                .for_each(|c| out.letter(c, &span)),
            (false, false) => out.letter(converted, &span),
        }
    }
    Normalized {
        text: out.text,
        origin: out.origin,
    }
}

/// The text being built, with the steps that apply per character.
struct Output<'a> {
    text: String,
    origin: Vec<(usize, std::ops::Range<usize>)>,
    options: &'a Options,
    keep_censored: bool,
}

impl Output<'_> {
    /// Widens the last character's span over `span` when they touch.
    fn extend_last(&mut self, span: &std::ops::Range<usize>) {
        if let Some((_, last)) = self.origin.last_mut()
            && last.end == span.start
        {
            last.end = span.end;
        }
    }

    /// Emoji, case and look-alikes, then [`push`](Self::push).
    fn letter(&mut self, c: char, span: &std::ops::Range<usize>) {
        let options = self.options;
        let mut c = c;
        if options.emoji
            && !c.is_ascii()
            && let Some(stands_for) = emoji(c)
        {
            c = stands_for;
        }
        if is_ideograph(c) {
            // Most of Chinese chat: no case, no look-alikes, no leet,
            // never a separator — only numerals apply.
            if options.numerals {
                c = chinese_numeral(c);
            }
            return self.push(c, span, false);
        }
        if options.case_fold {
            c = if c.is_ascii() {
                c.to_ascii_lowercase()
            } else {
                c.to_lowercase().next().unwrap_or(c)
            };
        }
        if options.confusables && !c.is_ascii() {
            let marks = options.marks;
            return look_alikes(c, marks, |p| self.push(p, span, !is_ideograph(p)));
        }
        self.push(c, span, true)
    }

    /// Leetspeak and separators (for a character that is not from an
    /// ideograph), repeats, then the character itself.
    fn push(&mut self, c: char, span: &std::ops::Range<usize>, latin: bool) {
        let options = self.options;
        let mut c = c;
        if self.keep_censored && is_censor_symbol(c) {
            c = '*';
        } else if latin {
            // A symbol that could be leetspeak (`@`, `$`) is a letter only
            // next to Latin letters; after a CJK character it separates.
            if options.leetspeak
                && options.skip_separators
                && !c.is_alphanumeric()
                && leet(c) != c
                && self
                    .text
                    .chars()
                    .next_back()
                    .is_some_and(|last| !last.is_ascii())
            {
                return;
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
            && let Some(last) = self.text.chars().next_back()
            && last == c
            && self
                .origin
                .last()
                .is_some_and(|(_, r)| r.end == span.start || r == span)
        {
            // Extend the previous character's span over the repeat.
            if let Some((_, r)) = self.origin.last_mut() {
                r.end = span.end;
            }
            return;
        }
        self.origin.push((self.text.len(), span.clone()));
        self.text.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize(s, &Options::default()).text
    }

    #[test]
    fn the_built_in_table_is_sorted_and_agrees_with_fast2s_character_by_character() {
        assert!(
            TRADITIONAL_TO_SIMPLIFIED
                .windows(2)
                .all(|pair| pair[0].0 < pair[1].0)
        );
        for code in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let expected = fast2s::convert(c.encode_utf8(&mut [0; 4]));
            assert_eq!(simplified(c).to_string(), expected, "U+{code:04X}");
        }
        assert_eq!(norm("這個傻逼說謊"), "这个傻逼说谎");
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
    fn harder_evasions_are_undone() {
        assert_eq!(norm("fück"), "fuck", "accent");
        assert_eq!(
            norm("f\u{336}u\u{336}c\u{336}k\u{336}"),
            "fuck",
            "strike-through"
        );
        assert_eq!(norm("ᴀꜱꜱ"), "as", "small capitals, repeat collapsed");
        assert_eq!(norm("🅵🆄🅲🅺"), "fuck", "negative squared");
        assert_eq!(norm("🇫🇺🇨🇰"), "fuck", "regional indicators");
        assert_eq!(norm("ſhit"), "shit", "long s, from the confusables data");
        assert_eq!(norm("ℓ"), "l");
        assert_eq!(norm("ロ"), "口", "katakana ro as the ideograph");
        assert_eq!(norm("草泥🐴"), "草泥马", "emoji for a character");
        assert_eq!(norm("三五"), "35", "numerals are not leetspeak");
        let text = "say f\u{336}u\u{336}c\u{336}k\u{336} now";
        let n = normalize(text, &Options::default());
        let at = n.text.find("fuck").unwrap();
        let span = n.original_span(at, at + 4).unwrap();
        assert_eq!(
            &text[span], "f\u{336}u\u{336}c\u{336}k\u{336}",
            "marks inside the span"
        );
    }

    #[test]
    fn the_censored_pass_keeps_symbols_as_letters() {
        let options = Options::default();
        assert_eq!(normalize_as("b*tch", &options, true).text, "b*tch");
        assert_eq!(normalize_as("a**hole", &options, true).text, "a*hole");
        assert_eq!(normalize("b*tch", &options).text, "btch");
    }

    #[test]
    fn options_round_trip_by_name_and_bits() {
        let mut options = Options::default();
        assert!(options.set("pinyin_initials", true).is_some());
        assert!(options.set("no_such_switch", true).is_none());
        assert_eq!(Options::from_bits(options.bits()), options);
        assert_eq!(Options::NAMES.len(), 16);
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

//! A plain word-list screen for outgoing text (the chatbot relay's answers),
//! used until the moderation engine is available: case-insensitive for
//! ASCII, exact for other scripts.

/// Masks every occurrence of each word with `*` (one per character).
/// Returns the text and whether anything was masked.
pub fn mask_words(text: &str, words: &[String]) -> (String, bool) {
    let lower = text.to_ascii_lowercase();
    let mut masked = vec![false; text.len()];
    let mut found = false;
    for word in words.iter().filter(|w| !w.is_empty()) {
        let needle = word.to_ascii_lowercase();
        let mut from = 0;
        while let Some(at) = lower[from..].find(&needle) {
            let start = from + at;
            masked[start..start + needle.len()]
                .iter_mut()
                .for_each(|m| *m = true);
            found = true;
            from = start + needle.len();
        }
    }
    if !found {
        return (text.to_string(), false);
    }
    let out = text
        .char_indices()
        .map(|(i, c)| if masked[i] { '*' } else { c })
        .collect();
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_case_insensitively_and_keeps_the_rest() {
        let words = vec!["darn".to_string(), "坏词".to_string()];
        assert_eq!(
            mask_words("Well DARN it 😀, 坏词!", &words),
            ("Well **** it 😀, **!".to_string(), true)
        );
        assert_eq!(mask_words("clean", &words), ("clean".to_string(), false));
        assert_eq!(mask_words("darndarn", &words).0, "********");
    }
}

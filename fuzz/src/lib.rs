//! What the fuzz targets share: cutting one fuzzer input into the several
//! values a parser takes (a command and a body, a header and a secret).

/// The first `n` parts of `data` cut at NUL bytes (missing parts empty), so
/// the fuzzer can grow each value on its own.
pub fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut parts: Vec<&[u8]> = data.splitn(n, |b| *b == 0).collect();
    parts.resize(n, &[]);
    parts
}

/// A part as text, as an HTTP header or a query string would be: invalid
/// UTF-8 replaced.
pub fn text(part: &[u8]) -> String {
    String::from_utf8_lossy(part).into_owned()
}

/// Up to eight bytes of `part` as a number (clock readings, windows).
pub fn number(part: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let n = part.len().min(8);
    bytes[..n].copy_from_slice(&part[..n]);
    u64::from_le_bytes(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_are_cut_at_nul_and_padded() {
        assert_eq!(super::parts(b"a\0b\0c\0d", 3), [&b"a"[..], b"b", b"c\0d"]);
        assert_eq!(super::parts(b"a", 3), [&b"a"[..], b"", b""]);
    }
}

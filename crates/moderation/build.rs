//! Writes the traditional → simplified Chinese table as a sorted static
//! array, taken from `fast2s` at build time.
//!
//! `fast2s` keeps its table serialized and deserializes it into a hash map
//! on first use. Every request gets a fresh wasm instance, so "first use"
//! is every request: profiled, that one-time set-up was a third of the
//! moderator's own time on a message. A sorted array in the binary costs
//! nothing to set up and a binary search to read, behind a bit set that
//! answers "not in the table" for most characters at once.

use std::fmt::Write;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `fast2s` converts only characters of three UTF-8 bytes.
    let mut table = String::from(
        "/// Traditional Chinese characters and their simplified forms, sorted.\n\
         pub(crate) static TRADITIONAL_TO_SIMPLIFIED: &[(char, char)] = &[\n",
    );
    let mut count = 0;
    // One bit per BMP code point, set where the table has an entry: most
    // characters of a message (simplified Chinese among them) are told
    // apart by one bit instead of a binary search.
    let mut bits = [0u64; 1024];
    for code in 0x800u32..=0xFFFF {
        let Some(c) = char::from_u32(code) else {
            continue;
        };
        let converted = fast2s::convert(c.encode_utf8(&mut [0; 4]));
        let mut chars = converted.chars();
        if let (Some(to), None) = (chars.next(), chars.next())
            && to != c
        {
            writeln!(
                table,
                "    ('\\u{{{:x}}}', '\\u{{{:x}}}'),",
                c as u32, to as u32
            )
            .unwrap();
            bits[(code >> 6) as usize] |= 1 << (code & 63);
            count += 1;
        }
    }
    table.push_str("];\n");
    table.push_str(
        "/// Bit `c % 64` of word `c / 64` is set when `c` is in\n\
         /// [`TRADITIONAL_TO_SIMPLIFIED`].\n\
         pub(crate) static HAS_SIMPLIFIED: [u64; 1024] = [\n",
    );
    for word in bits {
        writeln!(table, "    {word:#x},").unwrap();
    }
    table.push_str("];\n");
    assert!(count > 2000, "fast2s converted only {count} characters");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::write(out.join("traditional_to_simplified.rs"), table).unwrap();
}

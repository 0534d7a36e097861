//! Compiles the lexicons (`lexicons/*.txt` at the repository root, or the
//! directory in `SWITCHBOARD_LEXICONS`) into the automaton's binary form,
//! embedded by `src/lib.rs`: an instance loads it, no request ever
//! builds it. A lexicon error fails the build with the file and line.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=SWITCHBOARD_LEXICONS");
    let dir = std::env::var_os("SWITCHBOARD_LEXICONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../lexicons")
        });
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("lexicons: cannot read {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    let mut parsed = moderation::lexicon_file::Parsed::default();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("lexicons: cannot read {}: {e}", file.display()));
        moderation::lexicon_file::parse(&text, &mut parsed)
            .unwrap_or_else(|e| panic!("lexicons: {}: {e}", file.display()));
    }
    let lexicon = moderation::Lexicon::from_parsed(&parsed)
        .unwrap_or_else(|e| panic!("lexicons in {}: {e}", dir.display()));
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("lexicon.bin");
    std::fs::write(&out, lexicon.to_bytes()).expect("write the compiled lexicon");
}

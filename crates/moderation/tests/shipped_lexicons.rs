//! The lexicons the moderator ships (`lexicons/*.txt`): they compile, catch
//! what they are for, and leave ordinary chat alone.

use moderation::lexicon_file::{Parsed, parse};
use moderation::{Action, Lexicon};

fn shipped() -> (Lexicon, Parsed) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lexicons");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let mut parsed = Parsed::default();
    for file in &files {
        parse(&std::fs::read_to_string(file).unwrap(), &mut parsed)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    let lexicon = Lexicon::new(parsed.terms.clone(), parsed.allow.clone()).unwrap();
    (lexicon, parsed)
}

#[test]
fn every_file_names_its_source() {
    let (_, parsed) = shipped();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../lexicons"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "txt")
        })
        .count();
    assert_eq!(parsed.sources.len(), files, "one `# source:` line per file");
}

#[test]
fn catches_what_it_is_for() {
    let (lexicon, _) = shipped();
    for (text, action) in [
        ("what the f.u.c.k", Action::Mask),
        ("ＳＨＩＴ", Action::Mask),
        ("this is shit", Action::Mask),
        ("bass shit", Action::Mask),
        ("你个傻@逼", Action::Mask),
        ("操你媽", Action::Reject),
        ("go kill yourself", Action::Reject),
        ("代開發票", Action::Drop),
        ("加我微信，兼职刷单", Action::Drop),
        ("mail me at bob@example.com", Action::Mask),
        ("call 138 0013 8000", Action::Mask),
        ("see https://evil.example/x", Action::Mask),
    ] {
        let hits = lexicon.scan(text);
        let strongest = hits.iter().map(|h| h.action).max();
        assert_eq!(strongest, Some(action), "{text}: {hits:?}");
    }
}

#[test]
fn leaves_ordinary_chat_alone() {
    let (lexicon, _) = shipped();
    for text in [
        "Hello, my order has not arrived yet",
        "I live in Scunthorpe and love shiitake",
        "This hit song is a classic; I assess the bass",
        "Please check the cocktail menu, Mr Dickens",
        "你好，我的订单还没有到，能帮我查一下吗？",
        "我们下午三点开会，记得带上发票和合同",
        "The order number is 20261126",
        "Grass is green and the class passed the exam",
    ] {
        let hits = lexicon.scan(text);
        assert!(
            hits.is_empty(),
            "{text}: {:?}",
            hits.iter()
                .map(|h| &text[h.span.clone()])
                .collect::<Vec<_>>()
        );
    }
}

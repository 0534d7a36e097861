//! What the benches share: the moderator built with a large synthetic
//! lexicon, the shipped manifest pointing at it, signed before-send
//! webhooks, and the CPU time a set of threads or a process has used.

use crate::{config, root, scratch_dir};
use moderation::synthetic::{Generator, to_lexicon_file};
use spin_local_host::AppConfig;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Builds the moderator with `terms` synthetic terms beside the shipped
/// lexicons (compiled in through `SWITCHBOARD_LEXICONS`), together with
/// the engine bench component, in their own target directory
/// (`target/bench-components`) so the test build is left alone; returns
/// the directory holding the `.wasm` files.
pub fn moderator_components(terms: usize) -> PathBuf {
    let root = root();
    let lexicons = root.join(format!("target/bench-lexicons/{terms}"));
    std::fs::create_dir_all(&lexicons).unwrap();
    // Files are only written when they change, so that a second run does
    // not rebuild the moderator for the same lexicon.
    let mut wanted = vec![(
        "synthetic.txt".to_string(),
        to_lexicon_file(&Generator::new(terms as u64).terms(terms)),
    )];
    for entry in std::fs::read_dir(root.join("lexicons")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            wanted.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    for entry in std::fs::read_dir(&lexicons).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !wanted.iter().any(|(n, _)| *n == name) {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for (name, text) in &wanted {
        let path = lexicons.join(name);
        if std::fs::read_to_string(&path).ok().as_ref() != Some(text) {
            std::fs::write(&path, text).unwrap();
        }
    }
    let target = root.join("target/bench-components");
    let started = Instant::now();
    let status =
        std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .env("SWITCHBOARD_LEXICONS", &lexicons)
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("RUSTFLAGS")
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "-p",
                "moderator",
                "-p",
                "moderation-engine-bench",
                "--target-dir",
            ])
            .arg(&target)
            .status()
            .expect("cargo runs");
    assert!(status.success(), "building the bench components failed");
    let dir = target.join("wasm32-wasip2/release");
    let size = std::fs::metadata(dir.join("moderator.wasm")).unwrap().len();
    println!(
        "built the moderator with {terms} synthetic terms + the shipped lexicons in {:.1} s: moderator.wasm {:.1} MB",
        started.elapsed().as_secs_f64(),
        size as f64 / 1e6
    );
    dir
}

/// The shipped manifest with the moderator taken from `components` and
/// every other component from `target/components`, in a scratch directory
/// of its own.
pub fn moderator_app(components: &Path, label: &str) -> AppConfig {
    let root = root();
    let text = std::fs::read_to_string(root.join("spin.toml")).unwrap();
    let text = text
        .replace(
            "\"target/components/wasm32-wasip2/release/moderator.wasm\"",
            &format!("\"{}\"", components.join("moderator.wasm").display()),
        )
        .replace(
            "\"target/components/",
            &format!("\"{}/target/components/", root.display()),
        );
    let dir = scratch_dir(label);
    std::fs::write(dir.join("spin.toml"), text).unwrap();
    // Decision logs (one per non-allowed message) go to stderr as in
    // production; the figures go to stdout (`2>/dev/null` to see only them).
    config(dir.join("spin.toml"), label)
}

/// A `Group.CallbackBeforeSendMsg` body carrying one text element;
/// `random` is the message's `Random`, which with the group names the
/// message (a decision is kept once per message).
pub fn before_send_body(text: &str, random: u64) -> serde_json::Value {
    serde_json::json!({
        "CallbackCommand": "Group.CallbackBeforeSendMsg",
        "GroupId": "bench-room", "Type": "Public", "From_Account": "alice", "Operator_Account": "alice",
        "Random": random, "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    })
}

/// Whether a before-send answer is anything but a plain "deliver as sent":
/// a replacement body, or a refusal (`ErrorCode` other than 0).
pub fn intervened(answer: &serde_json::Value) -> bool {
    answer["ErrorCode"].as_i64() != Some(0) || answer.get("MsgBody").is_some()
}

/// User plus system CPU time this process has used so far, by every
/// thread it has had (from `/proc/self/stat`, so threads that have exited
/// still count).
pub fn process_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    ticks_to_duration(stat_cpu_ticks(&stat))
}

/// User plus system CPU time used so far by the threads of process `pid`
/// whose name starts with `thread_prefix` (every thread with `""`), read
/// from `/proc/<pid>/task/*/stat`. Threads that have exited are not
/// counted, so measure over spans in which the threads live throughout.
pub fn cpu_time(pid: u32, thread_prefix: &str) -> Duration {
    let mut ticks = 0;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.starts_with(thread_prefix) {
            continue;
        }
        if let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
            ticks += stat_cpu_ticks(&stat);
        }
    }
    ticks_to_duration(ticks)
}

/// utime plus stime, in clock ticks, from a `/proc/…/stat` line (0 when it
/// cannot be read).
fn stat_cpu_ticks(stat: &str) -> u64 {
    // The name, field 2, is in parentheses and may hold spaces: count the
    // fields after its closing one (utime and stime are 14 and 15).
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // Clock ticks per second: 100 on every Linux the benches run on.
    const TICKS_PER_SECOND: u64 = 100;
    Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_grows_with_work_and_filters_by_thread_name() {
        let pid = std::process::id();
        // Busy until the thread itself has used 150 ms of CPU (however
        // loaded the machine is), or 30 s have passed.
        let spin = std::thread::Builder::new()
            .name("bench-spin".into())
            .spawn(move || {
                let started = Instant::now();
                let mut x = 0u64;
                loop {
                    for _ in 0..1_000_000 {
                        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                    }
                    let used = cpu_time(pid, "bench-spin");
                    if used >= Duration::from_millis(150) || started.elapsed().as_secs() > 30 {
                        return used;
                    }
                }
            })
            .unwrap();
        let used = spin.join().unwrap();
        assert!(used >= Duration::from_millis(150), "{used:?}");
        assert_eq!(cpu_time(pid, "no-such-thread"), Duration::ZERO);
    }

    #[test]
    fn intervened_tells_a_plain_delivery_from_a_decision() {
        let plain = serde_json::json!({"ActionStatus": "OK", "ErrorCode": 0});
        let masked = serde_json::json!({"ErrorCode": 0, "MsgBody": []});
        let refused = serde_json::json!({"ErrorCode": 1});
        assert!(!intervened(&plain));
        assert!(intervened(&masked));
        assert!(intervened(&refused));
    }
}

//! Several `switchboard up` processes in front of one Redis, sharing one
//! `switchboard emulators` process, as replicas behind a load balancer:
//! copies of one delivery split across both processes apply once, and a
//! process killed in the middle of a request leaves nothing the other
//! cannot finish without duplicates.
//!
//! Needs Debian's `redis-server` on the `PATH` (`.ci/run` installs it).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A base port whose next four are free too (the emulators' ports).
fn free_base_port() -> u16 {
    loop {
        let base = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if base < 60_000 && (0..5).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

/// Runs `switchboard args…`, its output to `log` (read it when a test fails).
fn switchboard(args: &[&str], log: &Path) -> Process {
    let log = std::fs::File::create(log).unwrap();
    Process(
        Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .current_dir(root())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot run switchboard"),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `name='value'` lines of the emulators' env file.
fn env_values(path: &Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_processes_on_one_redis_apply_duplicates_once_and_survive_a_kill() {
    // The components are built by the test suite's build script (`cargo
    // test` builds them before any test runs).
    let wasm = root().join("target/components/wasm32-wasip2/release/im_gateway.wasm");
    assert!(
        wasm.exists(),
        "{} is missing: run the whole suite (`cargo test`) or `switchboard build` first",
        wasm.display()
    );

    let dir = root().join(format!(
        "target/test-scratch/processes-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let redis_port = free_base_port();
    let _redis = Process(
        Command::new("redis-server")
            .args([
                "--port",
                &redis_port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server not found: install Debian's redis-server package"),
    );
    // The hosts connect once at start-up: a Redis still starting (a cold
    // first run takes over a second) would stop them.
    until("redis-server accepting connections", || {
        std::net::TcpStream::connect(("127.0.0.1", redis_port)).ok()
    });
    let runtime_config = dir.join("runtime-config.toml");
    std::fs::write(
        &runtime_config,
        format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:{redis_port}\"\n"),
    )
    .unwrap();

    let base = free_base_port();
    let env_file = dir.join("emulators.env");
    let _emulators = switchboard(
        &[
            "emulators",
            "--listen",
            &format!("127.0.0.1:{base}"),
            "--env-file",
            env_file.to_str().unwrap(),
        ],
        &dir.join("emulators.log"),
    );
    until("the env file", || env_file.exists().then_some(()));
    let values = env_values(&env_file);
    let host = |port: u16, name: &str| {
        switchboard(
            &[
                "up",
                "--env-file",
                env_file.to_str().unwrap(),
                "--runtime-config-file",
                runtime_config.to_str().unwrap(),
                "--state-dir",
                dir.join(name).to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ],
            &dir.join(format!("{name}.log")),
        )
    };
    // The emulators deliver webhooks to the base address: host A is there.
    let ports = [base, free_base_port()];
    let mut a = Some(host(ports[0], "a"));
    let _b = host(ports[1], "b");
    let client = reqwest::Client::new();
    for port in ports {
        let url = format!("http://127.0.0.1:{port}/health");
        let mut ready = false;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready {
            assert!(Instant::now() < deadline, "host on {port} never answered");
            ready = client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let state = |emulator: u16| {
        let client = client.clone();
        async move {
            client
                .get(format!(
                    "http://127.0.0.1:{}/emulator/state",
                    base + emulator
                ))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };

    // 1. A hundred copies of one robot message, half to each process.
    let token = &values["im_callback_token"];
    let body = serde_json::json!({
        "CallbackCommand": "Bot.OnC2CMessage", "From_Account": "alice", "To_Account": "@RBT#assistant",
        "MsgKey": "processes-1", "MsgSeq": 1, "MsgTime": now(),
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello from two processes"}}],
    });
    let copies = (0..100).map(|i| {
        let (client, body) = (client.clone(), body.clone());
        let port = ports[i % 2];
        let time = now().to_string();
        let url = format!(
            "http://127.0.0.1:{port}/im/webhook?SdkAppid={}&CallbackCommand=Bot.OnC2CMessage&contenttype=json&ClientIP=127.0.0.1&OptPlatform=Web&Sign={}&RequestTime={time}",
            values["im_sdk_app_id"],
            tim::webhook::sign(token, &time)
        );
        async move { client.post(url).json(&body).send().await.unwrap().status().as_u16() }
    });
    let statuses = futures::future::join_all(copies).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let replies = |state: &serde_json::Value| {
        state["c2c"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["from"] == "@RBT#assistant")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while replies(&state(1).await) == 0 {
        assert!(Instant::now() < deadline, "no reply");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(replies(&state(1).await), 1, "one reply from two processes");

    // 2. A ticket request to A, A killed while it runs, the app's retry to B.
    let signer = tim::usersig::Signer::new(
        values["im_sdk_app_id"].parse().unwrap(),
        &values["im_secret_key"],
    );
    let usersig = signer.generate("alice", now(), 3600);
    let request = serde_json::json!({
        "subject": "Cannot log in", "description": "It says my password is wrong.",
        "name": "Alice Example", "email": "alice@example.com", "idempotency_key": "killed-1",
    });
    let send = |port: u16| {
        client
            .post(format!("http://127.0.0.1:{port}/zendesk/requests"))
            .header("x-im-user-id", "alice")
            .header("authorization", format!("UserSig {usersig}"))
            .json(&request)
            .send()
    };
    let in_flight = tokio::spawn(send(ports[0]));
    tokio::time::sleep(Duration::from_millis(30)).await;
    drop(a.take());
    let _ = in_flight.await;
    let answer = send(ports[1]).await.unwrap();
    assert_eq!(
        answer.status().as_u16() / 100,
        2,
        "{:?}",
        answer.text().await
    );
    let tickets = state(2).await["tickets"].as_object().unwrap().len();
    assert_eq!(tickets, 1, "one ticket, whatever A did before it died");
    let groups = state(1).await["groups"].clone();
    let group = groups.as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(group["members"], serde_json::json!(["alice"]));
    assert_eq!(group["notifications"].as_array().unwrap().len(), 1);
}

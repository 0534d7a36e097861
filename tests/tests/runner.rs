//! The runner's Spin behaviour, through the `switchboard-probe` test
//! component over real HTTP.

use spin_local_host::SpinTarget;
use std::time::{Duration, Instant};
use switchboard_tests::{Runner, Upstream, config, fixture};

fn runner_config(label: &str) -> spin_local_host::AppConfig {
    let mut config = config(fixture("runner"), label);
    config
        .variables
        .add_command_line("api_token=s3cr3t-token-value")
        .unwrap();
    config
}

#[tokio::test]
async fn routing_precedence_and_spin_headers() {
    let runner = Runner::start(&runner_config("routing")).await.unwrap();

    // Wildcard route, path info after the base.
    let (status, body) = runner.get("/probe/headers?x=1").await;
    assert_eq!(status, 200);
    assert_eq!(body["spin-matched-route"], "/probe/...");
    assert_eq!(body["spin-component-route"], "/probe");
    assert_eq!(body["spin-path-info"], "/headers");
    assert_eq!(body["spin-base-path"], "/");
    assert_eq!(
        body["spin-full-url"],
        format!("{}/probe/headers?x=1", runner.url)
    );
    assert!(
        body["spin-client-addr"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );

    // The exact route beats the wildcard that also matches it.
    let (_, body) = runner.get("/probe/exact").await;
    assert_eq!(body["path_info"], "");
    assert_eq!(body["path"], "/probe/exact");

    // Anything else falls to the catch-all; the catch-all's path info is the path.
    let (_, body) = runner.get("/elsewhere/x").await;
    assert_eq!(body["path_info"], "/elsewhere/x");

    // A client cannot forge the spin-* headers.
    let (_, body) = runner
        .send(
            runner
                .client
                .get(format!("{}/probe/headers", runner.url))
                .header("spin-path-info", "/forged"),
        )
        .await;
    assert_eq!(body["spin-path-info"], "/headers");
}

#[tokio::test]
async fn no_catch_all_means_404() {
    let dir = switchboard_tests::scratch_dir("no-catch-all");
    let manifest = dir.join("spin.toml");
    let wasm = switchboard_tests::root()
        .join("target/components/wasm32-wasip2/release/switchboard_probe.wasm");
    std::fs::write(
        &manifest,
        format!(
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/only\"\ncomponent = \"p\"\n[component.p]\nsource = {:?}\n",
            wasm.display().to_string()
        ),
    )
    .unwrap();
    let runner = Runner::start(&config(manifest, "no-catch-all"))
        .await
        .unwrap();
    assert_eq!(runner.get("/only").await.0, 200);
    assert_eq!(runner.get("/other").await.0, 404);
    assert_eq!(runner.get("/only/deeper").await.0, 404);
}

#[tokio::test]
async fn variables_templates_defaults_and_overrides() {
    let runner = Runner::start(&runner_config("vars")).await.unwrap();
    let (status, body) = runner.get("/probe/var/greeting").await;
    assert_eq!(
        (status, body["value"].as_str()),
        (200, Some("hello, world"))
    );
    let (_, body) = runner.get("/probe/var/token").await;
    assert_eq!(body["value"], "s3cr3t-token-value");
    // Only the component's own variables are visible.
    let (status, body) = runner.get("/probe/var/greeting_word").await;
    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("Undefined"),
        "{body}"
    );
    // Another component declares no variables at all.
    assert_eq!(runner.get("/restricted/var/greeting").await.0, 404);
    drop(runner);

    // Environment beats the default; --variable beats the environment.
    let mut config = runner_config("vars-env");
    config
        .variables
        .environment
        .insert("SPIN_VARIABLE_GREETING_WORD".into(), "bonjour".into());
    let runner = Runner::start(&config).await.unwrap();
    assert_eq!(
        runner.get("/probe/var/greeting").await.1["value"],
        "bonjour, world"
    );
    drop(runner);
    config
        .variables
        .add_command_line("greeting_word=hola")
        .unwrap();
    let runner = Runner::start(&config).await.unwrap();
    assert_eq!(
        runner.get("/probe/var/greeting").await.1["value"],
        "hola, world"
    );
}

#[tokio::test]
async fn missing_required_variable_stops_start_up() {
    let config = config(fixture("runner"), "vars-missing");
    let error = Runner::start(&config).await.err().expect("start must fail");
    let text = format!("{error:#}");
    assert!(
        text.contains("api_token") && text.contains("SPIN_VARIABLE_API_TOKEN"),
        "{text}"
    );
}

#[tokio::test]
async fn secret_values_never_reach_the_log() {
    let runner = Runner::start(&runner_config("secret")).await.unwrap();
    // Exercise the paths that log: a refused host, a trap, component output.
    runner.get("/probe/fetch?url=http://10.255.255.1:9/").await;
    runner.get("/probe/trap").await;
    runner.get("/probe/log/hello").await;
    let lines = runner.logger.captured();
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|l| !l.contains("s3cr3t-token-value")),
        "{lines:#?}"
    );
    let app = spin_local_host::App::load(&runner_config("secret-debug")).unwrap();
    assert!(!format!("{:?}", app.variables()).contains("s3cr3t-token-value"));
}

#[tokio::test]
async fn key_value_persists_across_restart_and_is_scoped() {
    let config = runner_config("kv");
    let runner = Runner::start(&config).await.unwrap();
    let put = runner
        .client
        .put(format!("{}/probe/kv/ticket-7", runner.url))
        .body("case-500");
    assert_eq!(runner.send(put).await.0, 200);
    assert_eq!(
        runner.get("/probe/kv/ticket-7").await.1["value"],
        "case-500"
    );
    // A component that lists no store cannot open one.
    let (status, body) = runner.get("/restricted/kv/ticket-7").await;
    assert_eq!(status, 403);
    assert!(
        body["error"].as_str().unwrap().contains("AccessDenied"),
        "{body}"
    );
    runner.server.shutdown().await;

    // Same state directory, new runner: the value is still there.
    let runner = Runner::start(&config).await.unwrap();
    assert_eq!(
        runner.get("/probe/kv/ticket-7").await.1["value"],
        "case-500"
    );
    let delete = runner
        .client
        .delete(format!("{}/probe/kv/ticket-7", runner.url));
    assert_eq!(runner.send(delete).await.0, 200);
    assert_eq!(runner.get("/probe/kv/ticket-7").await.0, 404);
}

#[tokio::test]
async fn outbound_allow_list_with_templates() {
    let upstream = Upstream::start("upstream says hi").await;
    let mut config = runner_config("outbound");
    config
        .variables
        .add_command_line(&format!("upstream_port={}", upstream.addr.port()))
        .unwrap();
    let runner = Runner::start(&config).await.unwrap();

    // Allowed through the `{{ upstream_port }}` template.
    let url = format!("http://127.0.0.1:{}/x", upstream.addr.port());
    let (status, body) = runner.get(&format!("/probe/fetch?url={url}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["body"], "upstream says hi");
    assert_eq!(upstream.hits.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The restricted component may not call the same host: the request fails
    // inside the component, never reaches the upstream, and the runner says why.
    let (status, body) = runner.get(&format!("/restricted/fetch?url={url}")).await;
    assert_eq!(status, 502);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("HttpRequestDenied"),
        "{body}"
    );
    assert_eq!(upstream.hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(runner.logged(&format!(
        "[restricted] outbound request to http://127.0.0.1:{} refused",
        upstream.addr.port()
    )));
}

#[tokio::test]
async fn service_chaining_dispatches_in_process() {
    let runner = Runner::start(&runner_config("chain")).await.unwrap();
    // `hidden` has only a private route: reachable by chaining, not publicly.
    let (status, body) = runner
        .get("/probe/fetch?url=http://hidden.spin.internal/echo/me")
        .await;
    assert_eq!(status, 200, "{body}");
    let inner: serde_json::Value = serde_json::from_str(body["body"].as_str().unwrap()).unwrap();
    assert_eq!(inner["path"], "/echo/me");
    assert_eq!(inner["path_info"], "/echo/me");
    // Chaining to `exact`, which has a public route, matches Spin's
    // synthetic `/...` route instead (Spin 4.0.2 `RouteMatch::synthetic`):
    // the path info is the whole path.
    let (_, body) = runner
        .get("/probe/fetch?url=http://exact.spin.internal/probe/exact")
        .await;
    let inner: serde_json::Value = serde_json::from_str(body["body"].as_str().unwrap()).unwrap();
    assert_eq!(inner["path_info"], "/probe/exact");
    // Not in the allow-list: refused.
    let (status, _) = runner
        .get("/probe/fetch?url=http://fallback.spin.internal/x")
        .await;
    assert_eq!(status, 502);
    assert!(runner.logged("fallback.spin.internal refused"));
}

#[tokio::test]
async fn spawned_work_completes_after_the_response() {
    let runner = Runner::start(&runner_config("spawn")).await.unwrap();
    let started = Instant::now();
    let (status, _) = runner.get("/probe/spawn/after?ms=400").await;
    let answered = started.elapsed();
    assert_eq!(status, 202);
    assert!(
        answered < Duration::from_millis(400),
        "response waited for the spawned work: {answered:?}"
    );
    assert_eq!(
        runner.get("/probe/kv/after").await.0,
        404,
        "work ran before the response"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if runner.get("/probe/kv/after").await.1["value"] == "done" {
            break;
        }
        assert!(Instant::now() < deadline, "spawned work never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_trap_is_a_500_and_the_next_request_works() {
    let runner = Runner::start(&runner_config("trap")).await.unwrap();
    let (status, _) = runner.get("/probe/trap").await;
    assert_eq!(status, 500);
    assert!(runner.logged("[probe] GET /probe/trap failed"));
    let (status, body) = runner.get("/probe/headers").await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn component_output_is_prefixed_with_its_id() {
    let runner = Runner::start(&runner_config("output")).await.unwrap();
    runner.get("/probe/log/abc").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !(runner.logged("[probe stdout] stdout line: abc")
        && runner.logged("[probe stderr] stderr line: abc"))
    {
        assert!(Instant::now() < deadline, "{:#?}", runner.logger.captured());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn wasip2_components_get_a_fresh_instance_per_request() {
    // Spin's reuse settings apply to WASIp3 only: they are on here.
    let runner = Runner::start(&runner_config("fresh")).await.unwrap();
    for _ in 0..5 {
        assert_eq!(runner.get("/probe/instance").await.1["served"], 1);
    }
}

fn p3_config(label: &str, spin: SpinTarget) -> spin_local_host::AppConfig {
    let mut config = config(fixture("runner-p3"), label);
    config.spin = spin;
    config
}

#[tokio::test]
async fn spin_4_0_and_spinkube_refuse_a_spin_sdk_7_component_with_spins_reason() {
    for (target, name) in [
        (SpinTarget::V4_0, "Spin 4.0.2"),
        (SpinTarget::SpinKube, "SpinKube"),
    ] {
        let error = Runner::start(&p3_config("p3-refused", target))
            .await
            .err()
            .expect("refused at start-up");
        let text = format!("{error:#}");
        assert!(text.contains("component `p3`"), "{text}");
        assert!(text.contains(name), "{text}");
        assert!(
            text.contains("component imports instance `wasi:")
                && text
                    .contains("@0.3.0`, but a matching implementation was not found in the linker"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn spin_main_serves_wasip3_with_reused_instances_and_chaining() {
    let runner = Runner::start(&p3_config("p3-main", SpinTarget::Main))
        .await
        .unwrap();
    let mut counts = Vec::new();
    for _ in 0..5 {
        let (status, body) = runner.get("/p3/instance").await;
        assert_eq!(status, 200);
        counts.push(body.as_str().unwrap().to_string());
    }
    assert!(
        counts.iter().any(|c| c != "served=1"),
        "no reuse: {counts:?}"
    );
    let (_, body) = runner
        .get("/p3/fetch?url=http://echo.spin.internal/chained")
        .await;
    let body = body.as_str().unwrap();
    assert!(body.starts_with("status=200 "), "{body}");
    assert!(body.contains(r#""path_info":"/chained""#), "{body}");
    drop(runner);

    let mut config = p3_config("p3-main-no-reuse", SpinTarget::Main);
    config.reuse.max_instance_reuse_count = 1;
    let runner = Runner::start(&config).await.unwrap();
    for _ in 0..5 {
        assert_eq!(runner.get("/p3/instance").await.1, "served=1");
    }
}

#[tokio::test]
async fn an_outbound_host_template_that_resolves_empty_or_with_a_path_stops_start_up() {
    let probe = switchboard_tests::root()
        .join("target/components/wasm32-wasip2/release/switchboard_probe.wasm");
    for (value, says) in [
        ("", "is empty"),
        ("http://127.0.0.1:9/api", "has a path (`/api`)"),
    ] {
        let dir = switchboard_tests::scratch_dir("outbound-template");
        let manifest = dir.join("spin.toml");
        std::fs::write(
            &manifest,
            format!(
                "spin_manifest_version = 2\n[application]\nname = \"x\"\n\
                 [variables]\nupstream_url = {{ required = true }}\n\
                 [[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n\
                 [component.c]\nsource = {probe:?}\n\
                 allowed_outbound_hosts = [\"{{{{ upstream_url }}}}\"]\n"
            ),
        )
        .unwrap();
        let mut config = config(manifest, "outbound-template");
        config
            .variables
            .add_command_line(&format!("upstream_url={value}"))
            .unwrap();
        let text = format!("{:#}", Runner::start(&config).await.err().unwrap());
        assert!(text.contains(says), "{text}");
        assert!(
            text.contains("`upstream_url`"),
            "names the variable: {text}"
        );
        assert!(
            text.contains("Spin 4.0.2 would deny every outbound request"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn fifty_concurrent_requests_are_all_answered() {
    let runner = Runner::start(&runner_config("concurrent")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..50 {
        let client = runner.client.clone();
        let url = format!("{}/probe/echo/{i}", runner.url);
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(url)
                .body(format!("body-{i}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap();
            (i, status, body)
        }));
    }
    for task in tasks {
        let (i, status, body) = task.await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body["body"], format!("body-{i}"));
        assert_eq!(body["path_info"], format!("/echo/{i}"));
    }
}

#[tokio::test]
async fn start_up_errors_say_what_to_do() {
    // Missing .wasm: say to build.
    let dir = switchboard_tests::scratch_dir("startup-errors");
    let manifest = dir.join("spin.toml");
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[[trigger.http]]\nroute = \"/...\"\ncomponent = \"c\"\n[component.c]\nsource = \"missing.wasm\"\n",
    )
    .unwrap();
    let text = format!(
        "{:#}",
        Runner::start(&config(manifest.clone(), "e1"))
            .await
            .err()
            .unwrap()
    );
    assert!(
        text.contains("missing.wasm") && text.contains("switchboard build"),
        "{text}"
    );

    // Unknown key: named.
    std::fs::write(
        &manifest,
        "spin_manifest_version = 2\n[application]\nname = \"x\"\n[component.c]\nsource = \"m.wasm\"\nallowed_http_hostz = []\n",
    )
    .unwrap();
    let text = format!(
        "{:#}",
        Runner::start(&config(manifest, "e2")).await.err().unwrap()
    );
    assert!(text.contains("allowed_http_hostz"), "{text}");

    // Port in use.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_config = runner_config("e3");
    let text = format!(
        "{:#}",
        spin_local_host::start(&app_config, taken.local_addr().unwrap())
            .await
            .err()
            .unwrap()
    );
    assert!(
        text.contains("cannot listen") && text.contains("--listen"),
        "{text}"
    );
}

#[tokio::test]
async fn p2_components_get_a_fresh_instance_per_request() {
    let runner = Runner::start(&runner_config("p2")).await.unwrap();
    for i in 0..3 {
        let (status, body) = runner.get(&format!("/p2/item/{i}")).await;
        assert_eq!(status, 200);
        assert_eq!(body, format!("p2 Method::Get /p2/item/{i} served=1"));
    }
}

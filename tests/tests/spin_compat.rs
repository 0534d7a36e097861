//! Would the shipped components deploy? Each `.wasm` the shipped `spin.toml`
//! names is decoded and its imports and exports, name and version, held
//! against what Spin 4.0.x, Spin main and SpinKube's shim provide (the
//! profiles under `runner/spin-profiles/`, read from Spin's source). A
//! component that one of them would not load fails here, naming the
//! interface — independently of what our own host happens to link.

use spin_local_host::manifest::LoadedManifest;
use spin_local_host::spin_compat::{Handler, Interfaces, SpinTarget};
use switchboard_tests::root;

fn shipped_components() -> Vec<(String, Interfaces)> {
    let loaded = LoadedManifest::load(&root().join("spin.toml")).expect("spin.toml loads");
    loaded
        .manifest
        .component
        .keys()
        .map(|id| {
            let path = loaded.component_source(id).expect("a source path");
            let wasm = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{} (component `{id}`): {e}", path.display()));
            let interfaces = Interfaces::decode(&wasm)
                .unwrap_or_else(|e| panic!("{} (component `{id}`): {e:#}", path.display()));
            (id.clone(), interfaces)
        })
        .collect()
}

#[test]
fn every_shipped_component_loads_on_every_spin_we_support() {
    let components = shipped_components();
    assert_eq!(components.len(), 7, "the seven connectors");
    let mut refusals = Vec::new();
    for target in SpinTarget::ALL {
        let profile = target.profile();
        for (id, interfaces) in &components {
            match profile.check(interfaces) {
                // WASI 0.2 everywhere: the one ABI all of them run.
                Ok(Handler::Wasip2) => {}
                Ok(other) => refusals.push(format!(
                    "{}: `{id}` exports a {other:?} handler, not WASI 0.2",
                    profile.name()
                )),
                Err(e) => refusals.push(format!("`{id}`: {e:#}")),
            }
        }
    }
    assert!(refusals.is_empty(), "{}", refusals.join("\n"));
}

#[test]
fn components_export_the_wasi_0_2_0_handler_and_import_only_spin_2_interfaces() {
    for (id, interfaces) in shipped_components() {
        assert!(
            interfaces
                .exports
                .contains(&"wasi:http/incoming-handler@0.2.0".to_string()),
            "`{id}` exports {:?}",
            interfaces.exports
        );
        for import in &interfaces.imports {
            assert!(
                !import.contains("@0.3") && !import.starts_with("spin:"),
                "`{id}` imports `{import}`: WASIp3 and spin:*@3 interfaces do not load on \
                 SpinKube's shim"
            );
        }
    }
}

/// The check can fail: a spin-sdk 7 component is what Spin 4.0.x refuses.
#[test]
fn a_spin_sdk_7_component_is_refused_by_spin_4_0_naming_the_interface() {
    let path = root().join("target/components/wasm32-wasip2/release/switchboard_probe_p3.wasm");
    let interfaces = Interfaces::decode(&std::fs::read(&path).unwrap()).unwrap();
    let refused = SpinTarget::V4_0
        .profile()
        .check(&interfaces)
        .unwrap_err()
        .to_string();
    assert!(
        refused.starts_with("Spin 4.0.2 would refuse it"),
        "{refused}"
    );
    assert!(
        refused.contains("@0.3.0`, but a matching implementation"),
        "{refused}"
    );
    assert!(
        refused.contains("then: Expected component to export one of `wasi:http/incoming-handler"),
        "names what Spin expected: {refused}"
    );
    assert!(SpinTarget::SpinKube.profile().check(&interfaces).is_err());
    assert_eq!(
        SpinTarget::Main.profile().check(&interfaces).unwrap(),
        Handler::Wasip3
    );
}

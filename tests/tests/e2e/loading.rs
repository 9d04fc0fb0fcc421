//! Loading: only real tool components are accepted, with errors that name
//! what is wrong.

use std::time::Duration;

use warden::{CallError, Grant, LoadError, TOOLS_INTERFACE};
use warden_tests::{block_on, builtin, fixture, runtime, with_timeout};

#[test]
fn first_party_components_list_their_tools_with_json_schemas() {
    for (name, expected) in [
        ("fs", vec!["read_file", "list_dir", "write_file"]),
        ("grep", vec!["grep"]),
        ("http-fetch", vec!["fetch"]),
    ] {
        let list = block_on(runtime().list_tools(&builtin(name), &Grant::default())).expect("list");
        let names: Vec<&str> = list.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, expected, "{name}");
        for tool in &list.tools {
            let schema: serde_json::Value =
                serde_json::from_str(&tool.input_schema).expect("schema is JSON");
            assert_eq!(schema["type"], "object", "{name}/{}", tool.name);
            assert!(!tool.description.is_empty());
        }
    }
}

#[test]
fn a_component_without_the_tool_export_is_refused_naming_what_is_missing() {
    let err = runtime()
        .load_tool_file(&fixture("not-a-tool.wat"))
        .expect_err("not a tool");
    match &err {
        LoadError::MissingExport {
            expected, found, ..
        } => {
            assert_eq!(expected, TOOLS_INTERFACE);
            assert!(found.is_empty());
        }
        other => panic!("expected a missing export, got {other:?}"),
    }
    assert!(
        err.to_string().contains("warden:plugin/tools@0.1.0"),
        "{err}"
    );
}

#[test]
fn a_core_module_is_refused_with_how_to_build_a_component() {
    let err = runtime()
        .load_tool_file(&fixture("core-module.wat"))
        .expect_err("core module");
    assert!(matches!(err, LoadError::CoreModule { .. }), "{err:?}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");
}

#[test]
fn bytes_that_are_not_wasm_are_refused() {
    let err = runtime()
        .load_tool("junk", b"\x7fELF not wasm")
        .expect_err("junk");
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err:?}");
    let err = runtime()
        .load_tool_file(&fixture("does-not-exist.wasm"))
        .expect_err("missing");
    assert!(matches!(err, LoadError::Read { .. }), "{err:?}");
}

#[test]
fn a_component_importing_what_the_host_does_not_provide_is_refused() {
    let err = runtime()
        .load_tool_file(&fixture("unknown-import.wat"))
        .expect_err("unknown import");
    match &err {
        LoadError::Link { reason, .. } => {
            assert!(reason.contains("acme:evil/backdoor"), "{reason}")
        }
        other => panic!("expected a link error, got {other:?}"),
    }
}

#[test]
fn a_tool_export_with_the_wrong_types_is_refused() {
    let err = runtime()
        .load_tool_file(&fixture("wrong-export-types.wat"))
        .expect_err("wrong types");
    assert!(matches!(err, LoadError::Link { .. }), "{err:?}");
    assert!(err.to_string().contains("wrong type"), "{err}");
}

#[test]
fn a_hand_written_wat_tool_that_spins_is_stopped() {
    let spin = runtime()
        .load_tool_file(&fixture("spin.wat"))
        .expect("valid tool component");
    let list = block_on(runtime().list_tools(&spin, &Grant::default())).expect("list");
    assert!(list.tools.is_empty());
    let grant = with_timeout(Grant::default(), Duration::from_millis(200));
    let err = block_on(runtime().call_tool(&spin, "anything", "{}", &grant)).expect_err("spins");
    assert!(matches!(err, CallError::Timeout { .. }), "{err:?}");
}

#[test]
fn the_readme_example_tool_builds_and_runs() {
    let greet = runtime()
        .load_tool_file(std::path::Path::new(warden_tests::components::GREET))
        .expect("the SDK example is a tool");
    let list = block_on(runtime().list_tools(&greet, &Grant::default())).expect("list");
    assert_eq!(list.tools.len(), 1);
    assert_eq!(list.tools[0].description, "Greets someone by name.");
    let schema: serde_json::Value =
        serde_json::from_str(&list.tools[0].input_schema).expect("json");
    assert_eq!(schema["properties"]["name"]["description"], "Who to greet.");
    assert_eq!(schema["required"], serde_json::json!(["name"]));

    let report =
        block_on(runtime().call_tool(&greet, "greet", r#"{"name":"Ada"}"#, &Grant::default()))
            .expect("call");
    assert_eq!(report.output, "Hello, Ada!");
    assert_eq!(report.log.lines[0].message, "greeting Ada");

    let err = block_on(runtime().call_tool(&greet, "greet", r#"{"name":""}"#, &Grant::default()))
        .expect_err("empty");
    assert_eq!(err.kind(), "invalid-input");
    let err = block_on(runtime().call_tool(&greet, "greet", r#"{"nom":"Ada"}"#, &Grant::default()))
        .expect_err("bad");
    assert_eq!(err.kind(), "invalid-input");
}

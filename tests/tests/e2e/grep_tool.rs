//! The `grep` tool: real searches, bounded output, denials.

use warden::bindings::{Capability, ToolError};
use warden::{CallError, DirMode};
use warden_tests::{block_on, builtin, grant_dirs, runtime};

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("src/nested")).expect("mkdir");
    std::fs::write(
        dir.path().join("src/main.rs"),
        "fn main() {\n    // TODO: greet\n    println!(\"hi\");\n}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("src/nested/lib.rs"),
        "// todo later\npub fn f() {}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("notes.md"), "TODO: write docs\n").expect("write");
    std::fs::write(dir.path().join("blob.bin"), b"TODO\0binary").expect("write");
    dir
}

fn grep(grant: &warden::Grant, input: serde_json::Value) -> Result<serde_json::Value, CallError> {
    block_on(runtime().call_tool(&builtin("grep"), "grep", &input.to_string(), grant))
        .map(|r| r.output)
}

#[test]
fn finds_matches_with_paths_and_line_numbers() {
    let t = tree();
    let grant = grant_dirs(&[(t.path(), "/src-tree", DirMode::ReadOnly)]);
    let out = grep(&grant, serde_json::json!({"pattern": "TODO"})).expect("grep");
    let found: Vec<(String, u64)> = out["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| {
            (
                m["path"].as_str().unwrap_or("").to_string(),
                m["line_number"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        found.contains(&("/src-tree/src/main.rs".to_string(), 2)),
        "{found:?}"
    );
    assert!(
        found.contains(&("/src-tree/notes.md".to_string(), 1)),
        "{found:?}"
    );
    assert!(
        !found.iter().any(|(p, _)| p.ends_with("blob.bin")),
        "binary files are skipped: {found:?}"
    );
    assert!(
        !found.iter().any(|(p, _)| p.ends_with("lib.rs")),
        "case-sensitive by default: {found:?}"
    );

    let out = grep(
        &grant,
        serde_json::json!({"pattern": "todo", "ignore_case": true, "glob": "*.rs"}),
    )
    .expect("grep");
    let paths: Vec<&str> = out["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .filter_map(|m| m["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        ["/src-tree/src/main.rs", "/src-tree/src/nested/lib.rs"]
    );
}

#[test]
fn output_is_bounded_by_max_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text: String = (0..500).map(|i| format!("match {i}\n")).collect();
    std::fs::write(dir.path().join("many.txt"), text).expect("write");
    let grant = grant_dirs(&[(dir.path(), "/d", DirMode::ReadOnly)]);
    let out = grep(
        &grant,
        serde_json::json!({"pattern": "match", "max_matches": 10}),
    )
    .expect("grep");
    assert_eq!(out["matches"].as_array().expect("matches").len(), 10);
    assert_eq!(out["truncated"], true);
}

#[test]
fn an_invalid_regex_is_invalid_input() {
    let t = tree();
    let grant = grant_dirs(&[(t.path(), "/t", DirMode::ReadOnly)]);
    match grep(&grant, serde_json::json!({"pattern": "(unclosed"})) {
        Err(CallError::Tool {
            error: ToolError::InvalidInput(msg),
            ..
        }) => assert!(msg.contains("unclosed") || msg.contains("regex"), "{msg}"),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[test]
fn searching_outside_the_grant_is_denied() {
    let t = tree();
    let grant = grant_dirs(&[(&t.path().join("src"), "/src", DirMode::ReadOnly)]);
    for path in ["/etc", "../notes.md", "/src/../notes.md"] {
        match grep(&grant, serde_json::json!({"pattern": "root", "path": path})) {
            Err(CallError::Denied { denial, .. }) => {
                assert_eq!(denial.capability, Capability::Filesystem)
            }
            other => panic!("expected a denial for {path}, got {other:?}"),
        }
    }
}

#[test]
fn symlinks_out_of_the_grant_are_not_followed() {
    let t = tree();
    std::os::unix::fs::symlink("/etc", t.path().join("src/etc-link")).expect("symlink");
    let grant = grant_dirs(&[(&t.path().join("src"), "/src", DirMode::ReadOnly)]);
    let out = grep(&grant, serde_json::json!({"pattern": "root"})).expect("grep");
    assert!(
        out["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .all(|m| !m["path"].as_str().unwrap_or("").contains("etc-link")),
        "{out}"
    );
}

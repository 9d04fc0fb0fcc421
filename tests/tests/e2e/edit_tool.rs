//! The `edit` component (edit, apply_patch, glob, read_lines) inside and
//! outside its grant: each refuses what it must, says why, and writes
//! nothing when it refuses.

use serde_json::{Value, json};
use warden::bindings::{Capability, ToolError};
use warden::{CallError, DirMode};
use warden_tests::{block_on, builtin, grant_dirs, runtime};

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("data/src/deep")).expect("mkdir");
    std::fs::write(
        dir.path().join("data/src/lib.rs"),
        "fn add(a: u32, b: u32) -> u32 {\n    a - b\n}\n\nfn twice() {}\nfn twice() {}\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("data/src/deep/mod.rs"), "// deep\n").expect("write");
    std::fs::write(dir.path().join("data/README.md"), "# readme\n").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "outside the grant\n").expect("write");
    dir
}

fn call(grant: &warden::Grant, tool: &str, input: Value) -> Result<Value, CallError> {
    let edit = builtin("edit");
    block_on(runtime().call_tool(&edit, tool, &input.to_string(), grant)).map(|r| r.output)
}

fn invalid(result: Result<Value, CallError>) -> String {
    match result {
        Err(CallError::Tool {
            error: ToolError::InvalidInput(msg),
            ..
        }) => msg,
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

fn denied(result: Result<Value, CallError>, target: &str) {
    match result {
        Err(CallError::Denied { denial, component }) => {
            assert_eq!(component, "edit");
            assert_eq!(denial.capability, Capability::Filesystem);
            assert!(
                denial.target.contains(target),
                "{} vs {target}",
                denial.target
            );
        }
        other => panic!("expected a filesystem denial for {target}, got {other:?}"),
    }
}

fn read(ws: &tempfile::TempDir, rel: &str) -> String {
    std::fs::read_to_string(ws.path().join(rel)).expect("read")
}

#[test]
fn edit_replaces_a_unique_match_and_refuses_missing_or_repeated_ones() {
    let ws = workspace();
    let grant = grant_dirs(&[(&ws.path().join("data"), "/data", DirMode::ReadWrite)]);
    let out = call(
        &grant,
        "edit",
        json!({"path": "/data/src/lib.rs", "old_string": "    a - b\n", "new_string": "    a + b\n"}),
    )
    .expect("edit");
    assert_eq!(out["line"], 2);
    assert!(read(&ws, "data/src/lib.rs").contains("    a + b\n"));

    let before = read(&ws, "data/src/lib.rs");
    let msg = invalid(call(
        &grant,
        "edit",
        json!({"path": "/data/src/lib.rs", "old_string": "fn twice() {}", "new_string": "x"}),
    ));
    assert!(
        msg.contains("occurs 2 times (starting on lines 5, 6)"),
        "{msg}"
    );
    let msg = invalid(call(
        &grant,
        "edit",
        json!({"path": "src/lib.rs", "old_string": "a * b", "new_string": "x"}),
    ));
    assert!(msg.contains("does not occur"), "{msg}");
    assert_eq!(read(&ws, "data/src/lib.rs"), before, "a refused edit wrote");
}

#[test]
fn edit_and_apply_patch_are_denied_outside_a_writable_grant() {
    let ws = workspace();
    let data = ws.path().join("data");
    let ro = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    denied(
        call(
            &ro,
            "edit",
            json!({"path": "/data/README.md", "old_string": "readme", "new_string": "x"}),
        ),
        "/data/README.md",
    );
    denied(
        call(
            &ro,
            "apply_patch",
            json!({"patch": "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# readme\n+# changed\n"}),
        ),
        "README.md",
    );
    let rw = grant_dirs(&[(&data, "/data", DirMode::ReadWrite)]);
    denied(
        call(
            &rw,
            "edit",
            json!({"path": "/data/../secret.txt", "old_string": "outside", "new_string": "x"}),
        ),
        "secret.txt",
    );
    denied(
        call(
            &rw,
            "apply_patch",
            json!({"patch": "--- a/../secret.txt\n+++ b/../secret.txt\n@@ -1 +1 @@\n-outside the grant\n+owned\n"}),
        ),
        "secret.txt",
    );
    assert_eq!(read(&ws, "data/README.md"), "# readme\n");
    assert_eq!(read(&ws, "secret.txt"), "outside the grant\n");
}

#[test]
fn apply_patch_applies_all_files_or_writes_nothing() {
    let ws = workspace();
    let grant = grant_dirs(&[(&ws.path().join("data"), "/data", DirMode::ReadWrite)]);
    let good = "--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,3 +1,3 @@\n fn add(a: u32, b: u32) -> u32 {\n-    a - b\n+    a + b\n }\n--- /dev/null\n+++ b/NOTES.md\n@@ -0,0 +1 @@\n+fixed add\n";
    let out = call(&grant, "apply_patch", json!({ "patch": good })).expect("patch");
    assert_eq!(out["files"][0]["action"], "modified", "{out}");
    assert_eq!(out["files"][1]["action"], "created", "{out}");
    assert!(read(&ws, "data/src/lib.rs").contains("a + b"));
    assert_eq!(read(&ws, "data/NOTES.md"), "fixed add\n");

    // The first file's hunk applies, the second's does not: neither is written.
    let bad = "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# readme\n+# changed\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -2 +2 @@\n-    a * b\n+    a / b\n";
    let msg = invalid(call(&grant, "apply_patch", json!({ "patch": bad })));
    assert!(msg.contains("hunk 1 of `/data/src/lib.rs`"), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert_eq!(read(&ws, "data/README.md"), "# readme\n");
    let msg = invalid(call(&grant, "apply_patch", json!({"patch": "not a diff"})));
    assert!(msg.contains("not a unified diff"), "{msg}");
}

#[test]
fn glob_finds_files_with_sizes_and_mtimes_inside_the_grant_only() {
    let ws = workspace();
    let grant = grant_dirs(&[(&ws.path().join("data"), "/data", DirMode::ReadOnly)]);
    let out = call(&grant, "glob", json!({"pattern": "**/*.rs"})).expect("glob");
    let paths: Vec<&str> = out["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        ["/data/src/deep/mod.rs", "/data/src/lib.rs"],
        "{out}"
    );
    assert_eq!(out["files"][0]["size"], 8);
    assert!(
        out["files"][0]["modified"]
            .as_u64()
            .is_some_and(|t| t > 1_600_000_000),
        "{out}"
    );
    assert_eq!(out["truncated"], false);
    let out = call(
        &grant,
        "glob",
        json!({"pattern": "*.rs", "path": "/data/src"}),
    )
    .expect("glob");
    assert_eq!(out["files"].as_array().map(Vec::len), Some(1), "{out}");
    denied(
        call(&grant, "glob", json!({"pattern": "*", "path": "/data/.."})),
        "..",
    );
    denied(
        call(&grant, "glob", json!({"pattern": "*", "path": "/etc"})),
        "/etc",
    );
    let msg = invalid(call(&grant, "glob", json!({"pattern": "[unclosed"})));
    assert!(msg.contains("invalid"), "{msg}");
}

#[test]
fn read_lines_pages_a_large_file_and_is_denied_outside_the_grant() {
    let ws = workspace();
    let text: String = (1..=5000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(ws.path().join("data/big.txt"), &text).expect("write");
    let grant = grant_dirs(&[(&ws.path().join("data"), "/data", DirMode::ReadOnly)]);
    let out = call(&grant, "read_lines", json!({"path": "/data/big.txt"})).expect("read");
    assert_eq!(out["start_line"], 1);
    assert_eq!(out["end_line"], 200);
    assert_eq!(out["total_lines"], 5000);
    assert_eq!(out["next_line"], 201);
    let out = call(
        &grant,
        "read_lines",
        json!({"path": "big.txt", "start_line": 4999, "max_lines": 100000}),
    )
    .expect("read");
    assert_eq!(out["content"], "line 4999\nline 5000\n");
    assert_eq!(out["next_line"], Value::Null);
    denied(
        call(&grant, "read_lines", json!({"path": "/data/../secret.txt"})),
        "secret.txt",
    );
}

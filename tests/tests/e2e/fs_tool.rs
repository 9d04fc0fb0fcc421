//! The `fs` tool inside and outside its grant.

use warden::bindings::Capability;
use warden::{CallError, DirMode};
use warden_tests::{block_on, builtin, grant_dirs, runtime};

fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("data/sub")).expect("mkdir");
    std::fs::write(dir.path().join("data/notes.txt"), "line one\nline two\n").expect("write");
    std::fs::write(dir.path().join("data/sub/deep.txt"), "deep").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "outside the grant").expect("write");
    dir
}

fn call(
    grant: &warden::Grant,
    tool: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, CallError> {
    let fs = builtin("fs");
    block_on(runtime().call_tool(&fs, tool, &input.to_string(), grant)).map(|r| r.output)
}

fn assert_fs_denied(result: Result<serde_json::Value, CallError>, target: &str) {
    match result {
        Err(CallError::Denied { denial, component }) => {
            assert_eq!(component, "fs");
            assert_eq!(denial.capability, Capability::Filesystem);
            assert!(
                denial.target.contains(target),
                "target {} should name {target}",
                denial.target
            );
            assert!(!denial.reason.is_empty());
        }
        other => panic!("expected a filesystem denial for {target}, got {other:?}"),
    }
}

#[test]
fn reads_lists_and_writes_inside_the_grant() {
    let ws = workspace();
    let data = ws.path().join("data");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadWrite)]);

    let out = call(
        &grant,
        "read_file",
        serde_json::json!({"path": "/data/notes.txt"}),
    )
    .expect("read");
    assert_eq!(out["content"], "line one\nline two\n");

    let out = call(
        &grant,
        "read_file",
        serde_json::json!({"path": "notes.txt"}),
    )
    .expect("relative read");
    assert_eq!(out["content"], "line one\nline two\n");

    let out = call(&grant, "list_dir", serde_json::json!({"path": "/data"})).expect("list");
    let names: Vec<&str> = out["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["notes.txt", "sub"]);

    call(
        &grant,
        "write_file",
        serde_json::json!({"path": "/data/out/new.md", "content": "# hi\n", "create_dirs": true}),
    )
    .expect("write");
    assert_eq!(
        std::fs::read_to_string(data.join("out/new.md")).expect("written on host"),
        "# hi\n"
    );
}

#[test]
fn parent_dir_escape_is_denied_and_the_next_call_works() {
    let ws = workspace();
    let data = ws.path().join("data");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    assert_fs_denied(
        call(
            &grant,
            "read_file",
            serde_json::json!({"path": "../secret.txt"}),
        ),
        "../secret.txt",
    );
    assert_fs_denied(
        call(
            &grant,
            "read_file",
            serde_json::json!({"path": "/data/../secret.txt"}),
        ),
        "secret.txt",
    );
    let out = call(
        &grant,
        "read_file",
        serde_json::json!({"path": "/data/sub/deep.txt"}),
    )
    .expect("next call works");
    assert_eq!(out["content"], "deep");
}

#[test]
fn absolute_path_outside_the_grant_is_denied() {
    let ws = workspace();
    let data = ws.path().join("data");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    assert_fs_denied(
        call(
            &grant,
            "read_file",
            serde_json::json!({"path": "/etc/passwd"}),
        ),
        "/etc/passwd",
    );
    let host_path = ws.path().join("secret.txt");
    let host_path = host_path.to_str().expect("utf-8");
    assert_fs_denied(
        call(&grant, "read_file", serde_json::json!({"path": host_path})),
        host_path,
    );
}

#[test]
fn symlink_out_of_the_grant_is_denied() {
    let ws = workspace();
    let data = ws.path().join("data");
    std::os::unix::fs::symlink(ws.path().join("secret.txt"), data.join("link.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink("/etc", data.join("etc")).expect("symlink");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    assert_fs_denied(
        call(
            &grant,
            "read_file",
            serde_json::json!({"path": "/data/link.txt"}),
        ),
        "link.txt",
    );
    assert_fs_denied(
        call(
            &grant,
            "read_file",
            serde_json::json!({"path": "/data/etc/passwd"}),
        ),
        "etc/passwd",
    );
    assert_fs_denied(
        call(&grant, "list_dir", serde_json::json!({"path": "/data/etc"})),
        "/data/etc",
    );
}

#[test]
fn writing_to_a_read_only_grant_is_denied_and_nothing_changes() {
    let ws = workspace();
    let data = ws.path().join("data");
    let grant = grant_dirs(&[(&data, "/data", DirMode::ReadOnly)]);
    assert_fs_denied(
        call(
            &grant,
            "write_file",
            serde_json::json!({"path": "/data/notes.txt", "content": "overwritten"}),
        ),
        "notes.txt",
    );
    assert_fs_denied(
        call(
            &grant,
            "write_file",
            serde_json::json!({"path": "/data/new.txt", "content": "x"}),
        ),
        "new.txt",
    );
    assert_eq!(
        std::fs::read_to_string(data.join("notes.txt")).expect("read"),
        "line one\nline two\n"
    );
    assert!(!data.join("new.txt").exists());
}

#[test]
fn with_no_directory_granted_everything_is_denied() {
    let grant = warden::Grant::default();
    assert_fs_denied(
        call(&grant, "list_dir", serde_json::json!({"path": "/"})),
        "/",
    );
}

#[test]
fn bad_input_is_a_typed_invalid_input_error() {
    let ws = workspace();
    let grant = grant_dirs(&[(ws.path(), "/ws", DirMode::ReadOnly)]);
    match call(&grant, "read_file", serde_json::json!({"wrong": 1})) {
        Err(CallError::Tool {
            error: warden::bindings::ToolError::InvalidInput(msg),
            ..
        }) => assert!(msg.contains("path"), "{msg}"),
        other => panic!("expected invalid input, got {other:?}"),
    }
    match call(&grant, "no_such_tool", serde_json::json!({})) {
        Err(CallError::Tool {
            error: warden::bindings::ToolError::UnknownTool(name),
            ..
        }) => assert_eq!(name, "no_such_tool"),
        other => panic!("expected unknown tool, got {other:?}"),
    }
    match call(
        &grant,
        "read_file",
        serde_json::json!({"path": "/ws/missing.txt"}),
    ) {
        Err(CallError::Tool {
            error: warden::bindings::ToolError::NotFound(_),
            ..
        }) => {}
        other => panic!("expected not-found, got {other:?}"),
    }
}

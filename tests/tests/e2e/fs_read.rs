//! `builtin:fs` `read_file` against real files: windows that join up into
//! the whole file, text checks, the grant a path is opened through, and
//! files that are not regular.

use warden::bindings::{Capability, ToolError};
use warden::{CallError, DirMode, Grant};
use warden_tests::{block_on, builtin, grant_dirs, runtime};

fn read(grant: &Grant, input: serde_json::Value) -> Result<serde_json::Value, CallError> {
    let fs = builtin("fs");
    block_on(runtime().call_tool(&fs, "read_file", &input.to_string(), grant)).map(|r| r.output)
}

fn invalid_input(result: Result<serde_json::Value, CallError>) -> String {
    match result {
        Err(CallError::Tool {
            error: ToolError::InvalidInput(message),
            ..
        }) => message,
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[test]
fn a_long_file_read_in_windows_joins_up_into_the_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Multi-byte characters everywhere, so window edges fall inside them.
    let text: String = (0..2_000).map(|i| format!("{i}:é€😀\n")).collect();
    std::fs::write(dir.path().join("long.txt"), &text).expect("write");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);

    let mut joined = String::new();
    let mut offset = 0u64;
    let mut windows = 0;
    loop {
        let out = read(
            &grant,
            serde_json::json!({"path": "/data/long.txt", "offset": offset, "max_bytes": 4093}),
        )
        .expect("read a window");
        windows += 1;
        assert_eq!(out["size"], text.len() as u64);
        assert_eq!(out["offset"], offset, "each window starts where asked");
        let content = out["content"].as_str().expect("content");
        assert!(content.len() <= 4093);
        joined.push_str(content);
        if out["truncated"] == false {
            assert_eq!(out["next_offset"], serde_json::Value::Null);
            break;
        }
        let next = out["next_offset"].as_u64().expect("next_offset");
        assert_eq!(next, offset + content.len() as u64);
        offset = next;
        assert!(windows < 100, "the windows never reach the end");
    }
    assert_eq!(joined, text, "the windows join up into the file");
    assert!(windows > text.len() / 4093, "it took {windows} windows");

    // Without a limit, a file under the default is one whole read.
    let out = read(&grant, serde_json::json!({"path": "long.txt"})).expect("read whole");
    assert_eq!(out["content"], text.as_str());
    assert_eq!(out["truncated"], false);
}

#[test]
fn an_offset_inside_a_character_starts_at_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("t.txt"), "aé€z").expect("write");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    let at = |offset: u64| {
        let input = serde_json::json!({"path": "/data/t.txt", "offset": offset});
        let out = read(&grant, input).expect("read");
        (
            out["content"].clone(),
            out["offset"].clone(),
            out["truncated"].clone(),
        )
    };
    // Byte 2 is the second byte of `é` (bytes 1-2); `€` is bytes 3-5.
    assert_eq!(at(2), ("€z".into(), 3.into(), false.into()));
    // Byte 4 is inside `€`.
    assert_eq!(at(4), ("z".into(), 6.into(), false.into()));
    // At the end: nothing, and nothing more to read.
    assert_eq!(at(7), ("".into(), 7.into(), false.into()));
}

#[test]
fn files_around_the_size_of_one_read_report_their_whole_size() {
    // `read_file` asks for 16 KiB first and needs no `stat` when the file
    // ends within it: the size it reports must still be the file's.
    let dir = tempfile::tempdir().expect("tempdir");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);
    for size in [0usize, 1, 16_383, 16_384, 16_385, 40_000] {
        let text: String = "abcdefghij\n".chars().cycle().take(size).collect();
        let name = format!("f{size}.txt");
        std::fs::write(dir.path().join(&name), &text).expect("write");
        let out = read(&grant, serde_json::json!({"path": name})).expect("read");
        assert_eq!(out["size"], size, "{name}");
        assert_eq!(out["content"], text.as_str(), "{name}");
        assert_eq!(out["truncated"], false, "{name}");

        // A window that ends exactly at the end, and one at the end.
        let half = size / 2;
        let input = serde_json::json!({"path": name, "offset": half, "max_bytes": size - half});
        let out = read(&grant, input).expect("read the second half");
        assert_eq!(out["content"], &text[half..], "{name}");
        assert_eq!(
            (out["size"].clone(), out["truncated"].clone()),
            (size.into(), false.into())
        );
        let out = read(&grant, serde_json::json!({"path": name, "offset": size})).expect("end");
        assert_eq!(out["content"], "", "{name}");
        assert_eq!(out["size"], size, "{name}");
        let message = invalid_input(read(
            &grant,
            serde_json::json!({"path": name, "offset": size + 1}),
        ));
        assert!(message.contains("past the end"), "{name}: {message}");
    }
}

#[test]
fn directories_binary_files_and_offsets_past_the_end_are_invalid_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("nul.bin"), b"text\0more").expect("write");
    std::fs::write(dir.path().join("latin1.txt"), b"caf\xe9 au lait").expect("write");
    std::fs::write(dir.path().join("ok.txt"), "fine").expect("write");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);

    let message = invalid_input(read(&grant, serde_json::json!({"path": "/data/sub"})));
    assert!(message.contains("`/data/sub` is a directory"), "{message}");
    let message = invalid_input(read(&grant, serde_json::json!({"path": "/data"})));
    assert!(message.contains("is a directory"), "{message}");
    let message = invalid_input(read(&grant, serde_json::json!({"path": "/data/nul.bin"})));
    assert!(message.contains("NUL bytes"), "{message}");
    let message = invalid_input(read(
        &grant,
        serde_json::json!({"path": "/data/latin1.txt"}),
    ));
    assert!(message.contains("not valid UTF-8 at byte 3"), "{message}");
    let message = invalid_input(read(
        &grant,
        serde_json::json!({"path": "/data/ok.txt", "offset": 5}),
    ));
    assert!(message.contains("offset 5 is past the end"), "{message}");
    assert!(message.contains("4 bytes"), "{message}");

    // The same component serves the next read.
    let out = read(&grant, serde_json::json!({"path": "/data/ok.txt"})).expect("read");
    assert_eq!(out["content"], "fine");
}

#[test]
fn a_path_is_read_through_the_innermost_grant_that_holds_it() {
    let outer = tempfile::tempdir().expect("tempdir");
    let inner = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(outer.path().join("docs")).expect("mkdir");
    std::fs::write(outer.path().join("docs/a.md"), "the outer directory's").expect("write");
    std::fs::write(inner.path().join("a.md"), "the inner grant's").expect("write");
    std::fs::write(outer.path().join("top.md"), "top").expect("write");
    let grant = grant_dirs(&[
        (outer.path(), "/repo", DirMode::ReadOnly),
        (inner.path(), "/repo/docs", DirMode::ReadOnly),
    ]);
    let out = read(&grant, serde_json::json!({"path": "/repo/docs/a.md"})).expect("read");
    assert_eq!(out["content"], "the inner grant's");
    let out = read(&grant, serde_json::json!({"path": "docs/../top.md"})).expect("read");
    assert_eq!(out["content"], "top");
    assert_eq!(out["path"], "/repo/top.md");
}

#[test]
fn a_directory_granted_as_the_root_is_read_below_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
    std::fs::write(dir.path().join("etc/hosts"), "not the host's").expect("write");
    let grant = grant_dirs(&[(dir.path(), "/", DirMode::ReadOnly)]);
    let out = read(&grant, serde_json::json!({"path": "/etc/hosts"})).expect("read");
    assert_eq!(out["content"], "not the host's");
    let out = read(&grant, serde_json::json!({"path": "etc/../etc/hosts"})).expect("read");
    assert_eq!(out["content"], "not the host's");
}

#[test]
fn a_fifo_or_a_symlink_out_of_the_grant_is_refused_and_the_next_read_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(outside.path().join("secret.txt"), "outside").expect("write");
    std::fs::write(dir.path().join("ok.txt"), "inside").expect("write");
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("pipe"))
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("link"))
        .expect("symlink");
    let grant = grant_dirs(&[(dir.path(), "/data", DirMode::ReadOnly)]);

    // The host refuses the FIFO (naming the path the guest opened, relative
    // to the grant); the component reports WASI's refusal of the link.
    for (path, target, reason) in [
        ("/data/pipe", "pipe", "special file"),
        ("/data/link", "/data/link", "outside the granted"),
    ] {
        match read(&grant, serde_json::json!({ "path": path })) {
            Err(CallError::Denied { denial, .. }) => {
                assert_eq!(denial.capability, Capability::Filesystem);
                assert!(denial.target.ends_with(target), "{denial:?}");
                assert!(denial.reason.contains(reason), "{path}: {}", denial.reason);
            }
            other => panic!("{path}: expected a filesystem denial, got {other:?}"),
        }
    }
    let out = read(&grant, serde_json::json!({"path": "/data/ok.txt"})).expect("read");
    assert_eq!(out["content"], "inside");
}

//! A granted directory replaced by a symbolic link while `warden mcp` runs
//! is not followed out of the grant: the long-running server resolves the
//! grant's path once, and every call's preopen refuses a path that now goes
//! through a link (`host/src/granted_dir.rs`). Hostile inputs: the granted
//! directory itself swapped for a link to a directory outside the grant,
//! then a directory above it. Driven by a minimal JSON-RPC client over
//! stdio (no prerequisites).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::mcp_stdio::{McpStdio, response, send};

/// The secret outside the grant that no call may read.
const SECRET: &str = "the secret outside the grant";

struct Fs {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    next: u64,
}

impl Fs {
    fn start(home: &Path, dir: &Path) -> Fs {
        let dir = format!("{}:/data", dir.display());
        let McpStdio {
            child,
            stdin,
            lines,
        } = McpStdio::start(home, &["builtin:fs", "--dir", &dir], "swap-test", json!({}));
        Fs {
            child,
            stdin,
            lines,
            next: 2,
        }
    }

    fn call(&mut self, tool: &str, path: &str) -> Value {
        let id = self.next;
        self.next += 1;
        send(
            &mut self.stdin,
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                   "params": {"name": tool, "arguments": {"path": path}}}),
        );
        response(&mut self.lines, id).0
    }
}

impl Drop for Fs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Under `tmp` (canonical: the returned root): a home, the granted
/// directory at `granted` holding `inside.txt`, and a directory at
/// `outside` holding the secret. Returns (root, home, granted, outside).
fn layout(
    tmp: &std::path::Path,
    granted: &str,
    outside: &str,
) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let root = tmp.canonicalize().expect("canonical");
    let home = root.join("home");
    let (granted, outside) = (root.join(granted), root.join(outside));
    for d in [&home, &granted, &outside] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(granted.join("inside.txt"), "inside the grant").expect("write");
    std::fs::write(outside.join("secret.txt"), SECRET).expect("write");
    (root, home, granted, outside)
}

/// Asserts `answer` is a refusal that shows nothing from outside the grant.
fn refused(answer: &Value, what: &str) {
    assert_eq!(answer["result"]["isError"], true, "{what}: {answer}");
    let text = answer.to_string();
    assert!(!text.contains(SECRET), "{what} leaked the secret: {text}");
}

/// Asserts a `list_dir /data` answer is a refusal naming nothing outside.
fn refused_listing(answer: &Value) {
    refused(answer, "list through the link");
    assert!(
        !answer.to_string().contains("secret.txt"),
        "the outside directory was listed: {answer}"
    );
}

#[test]
fn a_granted_directory_swapped_for_a_symlink_is_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (root, home, granted, outside) = layout(tmp.path(), "granted", "outside");

    let mut fs = Fs::start(&home, &granted);
    let ok = fs.call("read_file", "/data/inside.txt");
    assert_eq!(ok["result"]["isError"], false, "{ok}");
    assert!(ok.to_string().contains("inside the grant"), "{ok}");

    // The granted directory becomes a link to the outside.
    std::fs::rename(&granted, root.join("granted.moved")).expect("rename");
    std::os::unix::fs::symlink(&outside, &granted).expect("symlink");
    refused(
        &fs.call("read_file", "/data/secret.txt"),
        "read through the link",
    );
    refused_listing(&fs.call("list_dir", "/data"));

    // Put back, the grant works again: nothing was cached that outlives the
    // swap.
    std::fs::remove_file(&granted).expect("unlink");
    std::fs::rename(root.join("granted.moved"), &granted).expect("rename back");
    let ok = fs.call("read_file", "/data/inside.txt");
    assert_eq!(ok["result"]["isError"], false, "{ok}");
}

#[test]
fn a_directory_above_the_grant_swapped_for_a_symlink_is_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (root, home, granted, _) = layout(tmp.path(), "parent/granted", "outside/granted");

    let mut fs = Fs::start(&home, &granted);
    let ok = fs.call("read_file", "/data/inside.txt");
    assert_eq!(ok["result"]["isError"], false, "{ok}");

    // `parent` becomes a link to `outside`, which has a `granted` too.
    std::fs::rename(root.join("parent"), root.join("parent.moved")).expect("rename");
    std::os::unix::fs::symlink(root.join("outside"), root.join("parent")).expect("symlink");
    refused(
        &fs.call("read_file", "/data/secret.txt"),
        "read through the link",
    );
    refused_listing(&fs.call("list_dir", "/data"));
}

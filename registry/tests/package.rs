//! Package-level refusals: every way a `.wpkg` can be wrong, each with the
//! message a user sees.
//!
//! Archive and signature tests use a component generated from `wit/` (so
//! they need no guest build); capability tests also use the real guests in
//! `target/guests/wasm32-wasip2/release/` when they are built.

mod support;

use std::path::Path;

use support::{http_tool, synthetic, tool};

use warden_registry::SecretKey;
use warden_registry::package::{
    self, ArchiveLimits, COMPONENT_FILE, MANIFEST_FILE, SIGNATURE_FILE,
};
use warden_registry::signature::{self, Statement};
use warden_registry::{Manifest, PackageName};

const MANIFEST: &str = r#"name = "acme:grep"
version = "1.2.0"
kind = "tool"
description = "Regex search over a granted tree"
world = "warden:plugin/tool@0.1.0"

[capabilities]
dirs = [{ path = "/src", mode = "ro", purpose = "the tree to search" }]
"#;

#[track_caller]
fn guest(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/guests/wasm32-wasip2/release")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            warden_test_skip::skip(
                warden_test_skip::Prerequisite::GuestBuild,
                name,
                &format!(
                    "cannot read {} ({e}): build the guests first (cargo build --release \
                     --workspace builds them into target/guests)",
                    path.display()
                ),
            );
            None
        }
    }
}

fn key() -> SecretKey {
    SecretKey::from_seed(&[42; 32])
}

fn good() -> Vec<u8> {
    package::build(MANIFEST, &tool(), &key()).expect("build")
}

/// The message `read` refuses `bytes` with, under the default limits.
fn refusal(bytes: &[u8]) -> String {
    refusal_with(bytes, &ArchiveLimits::default())
}

fn refusal_with(bytes: &[u8], limits: &ArchiveLimits) -> String {
    match package::read(bytes, limits) {
        Ok(p) => panic!("should be refused: {}", p.manifest.id()),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
}

/// The byte range of entry `name`'s data inside the archive.
fn data_range(archive: &[u8], name: &str) -> std::ops::Range<usize> {
    let mut a = tar::Archive::new(archive);
    for entry in a.entries().expect("entries") {
        let entry = entry.expect("entry");
        if entry.path_bytes().as_ref() == name.as_bytes() {
            let start = usize::try_from(entry.raw_file_position()).expect("position");
            let len = usize::try_from(entry.size()).expect("size");
            return start..start + len;
        }
    }
    panic!("no entry {name}");
}

/// A signed package with arbitrary contents, skipping `build`'s checks.
fn signed(manifest_text: &str, component: &[u8], key: &SecretKey) -> Vec<u8> {
    let manifest = Manifest::parse(manifest_text).expect("manifest");
    let statement = Statement::new(
        &manifest.name,
        &manifest.version,
        manifest_text.as_bytes(),
        component,
    );
    let sig = signature::sign(key, &statement);
    package::write_archive(&[
        (COMPONENT_FILE, component),
        (SIGNATURE_FILE, &sig.to_json()),
        (MANIFEST_FILE, manifest_text.as_bytes()),
    ])
    .expect("archive")
}

/// One raw tar entry: any name bytes, type and claimed size.
struct Raw<'a> {
    name: &'a [u8],
    kind: tar::EntryType,
    claimed_size: u64,
    data: &'a [u8],
    link: &'a [u8],
}

impl<'a> Raw<'a> {
    fn file(name: &'a str, data: &'a [u8]) -> Raw<'a> {
        Raw {
            name: name.as_bytes(),
            kind: tar::EntryType::Regular,
            claimed_size: data.len() as u64,
            data,
            link: b"",
        }
    }
}

/// Writes entries byte by byte, so that names `tar::Builder` would refuse
/// (`..`, absolute) and sizes that lie can be crafted.
fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut header = tar::Header::new_ustar();
        {
            let bytes = header.as_mut_bytes();
            bytes[..100].fill(0);
            bytes[..e.name.len()].copy_from_slice(e.name);
            bytes[157..157 + e.link.len()].copy_from_slice(e.link);
        }
        header.set_entry_type(e.kind);
        header.set_size(e.claimed_size);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(e.data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn signature_json(manifest_text: &str, component: &[u8]) -> Vec<u8> {
    let name: PackageName = "acme:grep".parse().expect("name");
    let statement = Statement::new(
        &name,
        &semver::Version::new(1, 2, 0),
        manifest_text.as_bytes(),
        component,
    );
    signature::sign(&key(), &statement).to_json()
}

#[test]
fn a_good_package_reads_back() {
    let package = package::read(&good(), &ArchiveLimits::default()).expect("read");
    assert_eq!(package.manifest.id(), "acme:grep@1.2.0");
    assert_eq!(package.publisher(), &key().public());
    assert!(
        package
            .imports
            .exports
            .contains(&"warden:plugin/tools@0.1.0".to_string())
    );
}

#[test]
fn real_tools_package_and_read_back() {
    let Some(fs) = guest("fs.wasm") else { return };
    // The first-party tools are built with the SDK, for the 0.2.0 tool world.
    let v2 = MANIFEST.replace("tool@0.1.0", "tool@0.2.0");
    let bytes = package::build(&v2, &fs, &key()).expect("build fs");
    let package = package::read(&bytes, &ArchiveLimits::default()).expect("read fs");
    assert_eq!(package.component, fs);

    let Some(http) = guest("http_fetch.wasm") else {
        return;
    };
    let with_hosts = v2.replace(
        "[capabilities]\n",
        "[capabilities]\nhosts = [\"*.example.com:443\"]\n",
    );
    let bytes = package::build(&with_hosts, &http, &key()).expect("build http_fetch");
    package::read(&bytes, &ArchiveLimits::default()).expect("read http_fetch");
}

#[test]
fn a_flipped_byte_in_the_component_is_refused() {
    let mut bytes = good();
    let range = data_range(&bytes, COMPONENT_FILE);
    bytes[range.start + range.len() / 2] ^= 0x01;
    assert_contains(
        &refusal(&bytes),
        &[
            "signature check failed for acme:grep@1.2.0",
            "component.wasm is not the signed component",
        ],
    );
}

#[test]
fn a_flipped_byte_in_the_manifest_is_refused() {
    let mut bytes = good();
    let range = data_range(&bytes, MANIFEST_FILE);
    let at = range.start + MANIFEST.find("Regex").expect("description");
    bytes[at] ^= 0x20; // "Regex" -> "regex": still a valid manifest
    assert_contains(
        &refusal(&bytes),
        &[
            "signature check failed for acme:grep@1.2.0",
            "warden.toml is not the signed manifest",
        ],
    );
}

#[test]
fn a_flipped_byte_in_the_signature_is_refused() {
    let mut bytes = good();
    let range = data_range(&bytes, SIGNATURE_FILE);
    let json = &bytes[range.clone()];
    let field = b"\"signature\": \"";
    let at = range.start
        + json
            .windows(field.len())
            .position(|w| w == field)
            .expect("signature field")
        + field.len();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    assert_contains(
        &refusal(&bytes),
        &[
            "signature check failed for acme:grep@1.2.0",
            &format!("is not a valid signature by {}", key().public()),
        ],
    );
}

#[test]
fn a_signature_naming_another_key_is_refused() {
    let bytes = good();
    let other = SecretKey::from_seed(&[7; 32]).public();
    let range = data_range(&bytes, SIGNATURE_FILE);
    let json = String::from_utf8(bytes[range].to_vec()).expect("utf-8");
    let swapped = json.replace(&key().public().to_string(), &other.to_string());
    assert_ne!(json, swapped);
    let component = tool();
    let bytes = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (SIGNATURE_FILE, swapped.as_bytes()),
        (MANIFEST_FILE, MANIFEST.as_bytes()),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&bytes),
        &[&format!(
            "the signature is not a valid signature by {other} over this package"
        )],
    );
}

#[test]
fn an_unsigned_package_is_refused() {
    let component = tool();
    let bytes = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (MANIFEST_FILE, MANIFEST.as_bytes()),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&bytes),
        &["the package is unsigned (it has no signature.json)"],
    );
}

#[test]
fn missing_unknown_and_duplicate_entries_are_refused() {
    let component = tool();
    let sig = signature_json(MANIFEST, &component);
    let no_component =
        package::write_archive(&[(SIGNATURE_FILE, &sig), (MANIFEST_FILE, MANIFEST.as_bytes())])
            .expect("archive");
    assert_contains(
        &refusal(&no_component),
        &["the package has no `component.wasm`"],
    );

    let no_manifest =
        package::write_archive(&[(COMPONENT_FILE, &component), (SIGNATURE_FILE, &sig)])
            .expect("archive");
    assert_contains(
        &refusal(&no_manifest),
        &["the package has no `warden.toml`"],
    );

    let extra = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (SIGNATURE_FILE, &sig),
        (MANIFEST_FILE, MANIFEST.as_bytes()),
        ("README.md", b"hi"),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&extra),
        &["package entry `README.md` is not part of a warden package"],
    );

    let dotted = raw_tar(&[Raw::file("./warden.toml", MANIFEST.as_bytes())]);
    assert_contains(
        &refusal(&dotted),
        &["`./warden.toml` is not part of a warden package"],
    );

    let twice = package::write_archive(&[
        (MANIFEST_FILE, MANIFEST.as_bytes()),
        (MANIFEST_FILE, MANIFEST.as_bytes()),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&twice),
        &["package entry `warden.toml` appears twice"],
    );
}

#[test]
fn a_path_with_dot_dot_is_refused() {
    let bytes = raw_tar(&[Raw::file("../warden.toml", MANIFEST.as_bytes())]);
    assert_contains(
        &refusal(&bytes),
        &["package entry `../warden.toml` is refused: its path contains `..`"],
    );
    let bytes = raw_tar(&[Raw::file("a/../../warden.toml", MANIFEST.as_bytes())]);
    assert_contains(&refusal(&bytes), &["its path contains `..`"]);
}

#[test]
fn an_absolute_path_is_refused() {
    let bytes = raw_tar(&[Raw::file("/etc/warden.toml", MANIFEST.as_bytes())]);
    assert_contains(
        &refusal(&bytes),
        &["package entry `/etc/warden.toml` is refused: it is an absolute path"],
    );
}

#[test]
fn links_and_other_special_entries_are_refused() {
    for (kind, words) in [
        (tar::EntryType::Symlink, "is a symbolic link"),
        (tar::EntryType::Link, "is a hard link"),
        (tar::EntryType::Directory, "is a directory"),
        (tar::EntryType::Char, "is a character device"),
        (tar::EntryType::Fifo, "is a named pipe"),
        (tar::EntryType::XHeader, "is a PAX extended header"),
        (tar::EntryType::GNULongName, "is a GNU long-name header"),
    ] {
        let bytes = raw_tar(&[Raw {
            name: b"warden.toml",
            kind,
            claimed_size: 0,
            data: b"",
            link: b"/etc/passwd",
        }]);
        assert_contains(
            &refusal(&bytes),
            &[&format!(
                "package entry `warden.toml` {words}; a package holds only regular files"
            )],
        );
    }
}

#[test]
fn an_oversized_archive_is_refused_before_parsing() {
    let bytes = good();
    let limits = ArchiveLimits {
        max_archive_bytes: 4096,
        ..ArchiveLimits::default()
    };
    assert_contains(
        &refusal_with(&bytes, &limits),
        &[&format!(
            "the package is {} bytes, over the limit of 4096 bytes",
            bytes.len()
        )],
    );
}

#[test]
fn an_entry_claiming_a_huge_size_is_refused_before_reading_it() {
    // The header claims 1 TiB; the archive holds 512 bytes of it. Reading
    // first would fail differently (truncated) or exhaust memory.
    let bytes = raw_tar(&[Raw {
        name: b"component.wasm",
        kind: tar::EntryType::Regular,
        claimed_size: 1 << 40,
        data: &[0; 512],
        link: b"",
    }]);
    assert_contains(
        &refusal(&bytes),
        &[
            "package entry `component.wasm` claims 1099511627776 bytes, over the limit of 50331648 bytes",
        ],
    );

    // Metadata entries have a much smaller bound.
    let bytes = raw_tar(&[Raw {
        name: b"warden.toml",
        kind: tar::EntryType::Regular,
        claimed_size: 65537,
        data: b"",
        link: b"",
    }]);
    assert_contains(
        &refusal(&bytes),
        &["package entry `warden.toml` claims 65537 bytes, over the limit of 65536 bytes"],
    );

    // Limits are the caller's to tighten.
    let limits = ArchiveLimits {
        max_component_bytes: 100,
        ..ArchiveLimits::default()
    };
    assert_contains(
        &refusal_with(&good(), &limits),
        &[
            "package entry `component.wasm` claims",
            "over the limit of 100 bytes",
        ],
    );
}

#[test]
fn too_many_entries_are_refused() {
    let limits = ArchiveLimits {
        max_entries: 2,
        ..ArchiveLimits::default()
    };
    assert_contains(
        &refusal_with(&good(), &limits),
        &["the package has more than 2 entries"],
    );
}

#[test]
fn garbage_and_truncated_archives_are_refused() {
    assert_contains(
        &refusal(&[b'A'; 1024]),
        &["the package is not a valid package archive"],
    );
    let bytes = good();
    assert_contains(&refusal(&bytes[..1000]), &["the package"]);
    let empty = [0u8; 1024];
    assert_contains(&refusal(&empty), &["the package has no `warden.toml`"]);
}

#[test]
fn a_malformed_manifest_is_refused() {
    let component = tool();
    let text = format!("{MANIFEST}license = \"MIT\n");
    let bytes = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (SIGNATURE_FILE, &signature_json(&text, &component)),
        (MANIFEST_FILE, text.as_bytes()),
    ])
    .expect("archive");
    assert_contains(&refusal(&bytes), &["invalid warden.toml at line 9"]);

    let not_utf8 = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (SIGNATURE_FILE, &signature_json(MANIFEST, &component)),
        (MANIFEST_FILE, b"name = \"\xff\"\n"),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&not_utf8),
        &["invalid warden.toml: the file is not UTF-8"],
    );

    let err = package::build(&text, &component, &key()).expect_err("build");
    assert!(
        err.to_string().contains("invalid warden.toml at line 9"),
        "{err}"
    );
}

#[test]
fn a_bad_version_is_refused() {
    let component = tool();
    let text = MANIFEST.replace("1.2.0", "1.2");
    let bytes = package::write_archive(&[
        (COMPONENT_FILE, &component),
        (SIGNATURE_FILE, &signature_json(&text, &component)),
        (MANIFEST_FILE, text.as_bytes()),
    ])
    .expect("archive");
    assert_contains(
        &refusal(&bytes),
        &[
            "invalid warden.toml at line 2",
            "`version` `1.2` is not a semantic version",
        ],
    );
}

#[test]
fn a_manifest_hiding_network_access_is_refused() {
    // Signed properly, so only the capability check can catch it.
    let bytes = signed(MANIFEST, &http_tool(), &key());
    assert_contains(
        &refusal(&bytes),
        &[
            "acme:grep@1.2.0 imports `wasi:http/outgoing-handler@0.2.0`",
            "declares no network hosts",
            "add the hosts it connects to",
        ],
    );
    let err = package::build(MANIFEST, &http_tool(), &key()).expect_err("build");
    assert!(
        err.to_string().contains("declares no network hosts"),
        "{err}"
    );

    let Some(http) = guest("http_fetch.wasm") else {
        return;
    };
    // The first-party http-fetch is built against warden:plugin@0.2.0.
    let manifest = MANIFEST.replace("tool@0.1.0", "tool@0.2.0");
    let bytes = signed(&manifest, &http, &key());
    assert_contains(
        &refusal(&bytes),
        &[
            "imports `wasi:http/outgoing-handler@",
            "declares no network hosts",
        ],
    );
}

#[test]
fn a_component_of_the_wrong_kind_is_refused() {
    let skill = synthetic(
        &["package test:t;\nworld w { include warden:plugin/skill@0.1.0; }\n"],
        "w",
    );
    let bytes = signed(MANIFEST, &skill, &key());
    assert_contains(
        &refusal(&bytes),
        &["acme:grep@1.2.0 is a tool but does not export `warden:plugin/tools@0.1.0`"],
    );
}

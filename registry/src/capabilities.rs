//! A component's real imports and exports, checked against its manifest.
//!
//! The manifest says what a package needs; the component's imports say what
//! it can ask the host for. [`check`] refuses a component that:
//!
//! - is a core module rather than a component;
//! - imports anything but WASI (`wasi:*`) and the `warden:plugin`
//!   interfaces a component may import (`log`, `types`, `chat`,
//!   `planning`, `progress`, `stream-sink`, and `broker` for planners only);
//! - uses a `warden:plugin` version other than its manifest's world;
//! - can send HTTP requests (`wasi:http/outgoing-handler`) while its
//!   manifest declares no `hosts`;
//! - does not export the interface of its kind's world
//!   (`warden:plugin/tools` for a tool, `skills`, `model`, `agent`).
//!
//! # What a plain Rust component imports
//!
//! Components built by Rust for `wasm32-wasip2` import only the WASI
//! interfaces the code actually reaches: the linker drops unused functions
//! and the component keeps only the imports left. Inspecting the components
//! built from `components/` and `tests/guests/` (rustc 1.95, wit-bindgen):
//!
//! - **Always**, even in a tool that does nothing with them (`greet`):
//!   `wasi:cli/{environment, exit, stdin, stdout, stderr, terminal-input,
//!   terminal-output, terminal-stdin, terminal-stdout, terminal-stderr}` and
//!   `wasi:io/{error, poll, streams}` (std's runtime start-up, `environ`
//!   and panic output). So importing `wasi:cli/environment` or stdio
//!   implies nothing: it cannot be tied to `env`, and is not checked.
//! - **When used**: `wasi:filesystem/{types, preopens}` (`fs`, `grep`, not
//!   `greet`), `wasi:clocks/*`, `wasi:random/*`.
//! - **Sockets only with `std::net`**: `fs`, `grep`, `greet` and
//!   `http_fetch` (which uses `wasi:http`) import no `wasi:sockets`
//!   interface at all. A single `std::net::TcpStream::connect` (`hostile`)
//!   pulls in the whole set: `network`, `instance-network`, `tcp`,
//!   `tcp-create-socket`, `udp`, `udp-create-socket` and `ip-name-lookup`
//!   (wasi-libc's socket layer references them all). So a socket import
//!   really does mean the component can open connections, and requiring
//!   `hosts` for it does not refuse ordinary tools.
//!
//! # Sockets without hosts: accepted, and said
//!
//! Other language runtimes link the socket layer whether or not the code
//! uses it: a `componentize-py` component (CPython on wasi-libc) imports the
//! whole `wasi:sockets` set even for a tool that only counts words. Refusing
//! those would shut out every Python author, and it buys no safety: the
//! manifest's `hosts` are the ceiling of every grant (user grants and
//! command-line flags are intersected with them), and the host checks each
//! connect against the effective grant. A component that imports sockets but
//! declares no hosts therefore gets no network at all. [`check`] accepts it
//! and reports the import in [`ImportSummary::network_without_hosts`], which
//! `warden package` and `warden install` print, so nobody is surprised.
//! `wasi:http/outgoing-handler` stays strict: no runtime imports it unless
//! the code sends requests, so without `hosts` it is a manifest mistake.
//!
//! Filesystem imports are not tied to `dirs`: without a granted directory
//! the component simply has no preopens, which is safe.

use wit_component::DecodedWasm;
use wit_parser::{Resolve, WorldItem, WorldKey};

use crate::error::CapabilityError;
use crate::manifest::{Kind, Manifest, WIT_PACKAGE};

/// The `warden:plugin` interfaces any component may import (`progress`
/// exists only in the 0.2.0 tool world, `stream-sink` only in the
/// `streaming-model-provider` world; the host links both for everyone, and
/// they do nothing outside a tool call or a completion).
const WARDEN_IMPORTS: [&str; 6] = [
    "log",
    "types",
    "chat",
    "planning",
    "progress",
    "stream-sink",
];
/// The `warden:plugin` interface only planners may import.
const BROKER: &str = "broker";

/// What a component imports and exports (shown by `warden inspect`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Imported interfaces (e.g. `wasi:http/outgoing-handler@0.2.12`), sorted.
    pub imports: Vec<String>,
    /// Exported interfaces (e.g. `warden:plugin/tools@0.1.0`), sorted.
    pub exports: Vec<String>,
    /// Set by [`check`] when the component imports `wasi:sockets` but its
    /// manifest declares no hosts: the first such import and what it does
    /// (`` `wasi:sockets/tcp@0.2.0` (TCP connections) ``). Every connection it
    /// attempts will be refused (see the module docs).
    pub network_without_hosts: Option<String>,
}

impl ImportSummary {
    /// The note `warden package` and `warden install` print for
    /// [`network_without_hosts`](Self::network_without_hosts), if any.
    pub fn network_note(&self, package: &str) -> Option<String> {
        self.network_without_hosts.as_ref().map(|import| {
            format!(
                "{package} imports {import} but declares no network hosts: every connection \
                 it attempts will be refused (language runtimes such as CPython link sockets \
                 whether or not the code uses them)"
            )
        })
    }
}

/// One import or export, named and split into its parts when it is an
/// interface of a package.
struct Item {
    /// The full name as printed (`wasi:http/types@0.2.12`).
    full: String,
    /// `(namespace, package, interface, version)` for a package interface.
    iface: Option<(String, String, String, Option<semver::Version>)>,
}

fn describe(resolve: &Resolve, key: &WorldKey, item: &WorldItem) -> Item {
    let full = resolve.name_world_key(key);
    let iface = match (key, item) {
        (WorldKey::Interface(id), WorldItem::Interface { .. }) => {
            let iface = &resolve.interfaces[*id];
            match (iface.package, &iface.name) {
                (Some(pkg), Some(name)) => {
                    let pkg = &resolve.packages[pkg].name;
                    Some((
                        pkg.namespace.clone(),
                        pkg.name.clone(),
                        name.clone(),
                        pkg.version.clone(),
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    };
    Item { full, iface }
}

/// How a WASI import reaches the network.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Network {
    /// `wasi:http/outgoing-handler`: needs declared hosts.
    Http,
    /// A `wasi:sockets` interface: allowed without hosts, and reported.
    Sockets,
}

/// Whether a WASI import lets the component open network connections, how,
/// and what it does, in words.
fn network_import(package: &str, interface: &str) -> Option<(Network, &'static str)> {
    match (package, interface) {
        ("http", "outgoing-handler") => Some((Network::Http, "outbound HTTP requests")),
        ("sockets", "tcp" | "tcp-create-socket") => Some((Network::Sockets, "TCP connections")),
        ("sockets", "udp" | "udp-create-socket") => Some((Network::Sockets, "UDP sockets")),
        ("sockets", "ip-name-lookup") => Some((Network::Sockets, "DNS lookups")),
        _ => None,
    }
}

/// Decodes `component` and lists its imports and exports, without judging
/// them (for `warden inspect`; [`check`] returns the same summary).
pub fn inspect_component(component: &[u8]) -> Result<ImportSummary, CapabilityError> {
    let (resolve, world) = decode("the package", component)?;
    Ok(summary_of(&resolve, world))
}

fn summary_of(resolve: &Resolve, world: wit_parser::WorldId) -> ImportSummary {
    let w = &resolve.worlds[world];
    let mut imports: Vec<String> = w
        .imports
        .iter()
        .map(|(k, i)| describe(resolve, k, i).full)
        .collect();
    let mut exports: Vec<String> = w
        .exports
        .iter()
        .map(|(k, i)| describe(resolve, k, i).full)
        .collect();
    imports.sort();
    exports.sort();
    ImportSummary {
        imports,
        exports,
        network_without_hosts: None,
    }
}

/// Walks every section of `component` (nested ones too) without decoding
/// it, so that each size it declares fits in the bytes at hand. wit-parser's
/// decoder reads as a stream and preallocates, zero-filled, whatever size a
/// section header declares: found by the `component` fuzz target, a 3 KiB
/// input made it allocate 2.4 GB. Checked first, a size past the end is an
/// "unexpected end-of-file" error here, and every allocation the decoder
/// makes is bounded by the component's length.
fn check_sizes(component: &[u8]) -> Result<(), wasmparser::BinaryReaderError> {
    for payload in wasmparser::Parser::new(0).parse_all(component) {
        payload?;
    }
    Ok(())
}

fn decode(
    package: &str,
    component: &[u8],
) -> Result<(Resolve, wit_parser::WorldId), CapabilityError> {
    // A core module has version 1 (`\0asm 01 00 00 00`); a component has
    // version 0x0d with layer 1.
    if component.len() >= 8 && component[..4] == *b"\0asm" && component[4..8] == [1, 0, 0, 0] {
        return Err(CapabilityError::CoreModule {
            package: package.to_string(),
        });
    }
    check_sizes(component).map_err(|e| CapabilityError::Undecodable {
        package: package.to_string(),
        reason: e.to_string(),
    })?;
    match wit_component::decode(component) {
        Ok(DecodedWasm::Component(resolve, world)) => Ok((resolve, world)),
        Ok(DecodedWasm::WitPackage(..)) => Err(CapabilityError::Undecodable {
            package: package.to_string(),
            reason: "it is a WIT package (interface definitions), not a component".into(),
        }),
        Err(e) => Err(CapabilityError::Undecodable {
            package: package.to_string(),
            reason: format!("{e:#}"),
        }),
    }
}

/// Checks `component`'s imports and exports against `manifest` (see the
/// module docs for the rules) and returns what it imports and exports.
pub fn check(manifest: &Manifest, component: &[u8]) -> Result<ImportSummary, CapabilityError> {
    let package = manifest.id();
    let (resolve, world) = decode(&package, component)?;
    let w = &resolve.worlds[world];
    let (warden_ns, warden_pkg) = WIT_PACKAGE.split_once(':').unwrap_or(("warden", "plugin"));
    let wit_version = &manifest.world.version;
    let is_warden = |ns: &str, pkg: &str| ns == warden_ns && pkg == warden_pkg;
    let version_error = |full: &str| CapabilityError::WitVersion {
        package: package.clone(),
        interface: full.to_string(),
        world: manifest.world.to_string(),
    };

    let mut http = None;
    let mut sockets = None;
    for (key, item) in &w.imports {
        let Item { full, iface } = describe(&resolve, key, item);
        let foreign = || CapabilityError::ForeignImport {
            package: package.clone(),
            import: full.clone(),
            allowed: WARDEN_IMPORTS
                .iter()
                .chain(std::iter::once(&BROKER))
                .map(|i| format!("`{WIT_PACKAGE}/{i}`"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let Some((ns, pkg, name, version)) = iface else {
            return Err(foreign());
        };
        if ns == "wasi" {
            match network_import(&pkg, &name) {
                Some((Network::Http, what)) if http.is_none() => http = Some((full.clone(), what)),
                Some((Network::Sockets, what)) if sockets.is_none() => {
                    sockets = Some(format!("`{full}` ({what})"))
                }
                _ => {}
            }
        } else if is_warden(&ns, &pkg) {
            if version.as_ref() != Some(wit_version) {
                return Err(version_error(&full));
            }
            if name == BROKER {
                if manifest.kind != Kind::Planner {
                    return Err(CapabilityError::BrokerNotAllowed {
                        package: package.clone(),
                        import: full,
                        kind: manifest.kind.to_string(),
                    });
                }
            } else if !WARDEN_IMPORTS.contains(&name.as_str()) {
                return Err(foreign());
            }
        } else {
            return Err(foreign());
        }
    }
    let no_hosts = manifest.capabilities.hosts.is_empty();
    if let Some((import, what)) = http
        && no_hosts
    {
        return Err(CapabilityError::UndeclaredNetwork {
            package,
            import,
            what: what.to_string(),
        });
    }

    let expected = manifest.kind.export_interface();
    let mut exported = false;
    let mut exports = Vec::new();
    for (key, item) in &w.exports {
        let Item { full, iface } = describe(&resolve, key, item);
        if let Some((ns, pkg, name, version)) = &iface
            && is_warden(ns, pkg)
            && name == expected
        {
            if version.as_ref() != Some(wit_version) {
                return Err(version_error(&full));
            }
            exported = true;
        }
        exports.push(full);
    }
    if !exported {
        return Err(CapabilityError::MissingExport {
            package,
            kind: manifest.kind.to_string(),
            expected: format!("{WIT_PACKAGE}/{expected}@{wit_version}"),
            found: if exports.is_empty() {
                "nothing".into()
            } else {
                exports.join(", ")
            },
        });
    }
    let mut summary = summary_of(&resolve, world);
    if no_hosts {
        summary.network_without_hosts = sockets;
    }
    Ok(summary)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    const MANIFEST: &str = r#"
name = "acme:t"
version = "1.0.0"
kind = "KIND"
description = "test"
world = "warden:plugin/KIND@0.1.0"
"#;

    /// A tool manifest for the 0.2.0 tool world (what the SDK builds, so
    /// the first-party tools).
    fn tool_manifest_v2(hosts: &[&str]) -> Manifest {
        let mut text = MANIFEST.replace("KIND", "tool").replace("@0.1.0", "@0.2.0");
        if !hosts.is_empty() {
            text.push_str(&format!("[capabilities]\nhosts = {hosts:?}\n"));
        }
        Manifest::parse(&text).expect("manifest")
    }

    fn manifest(kind: Kind, hosts: &[&str]) -> Manifest {
        let mut text = MANIFEST.replace("KIND", kind.as_str());
        if !hosts.is_empty() {
            text.push_str(&format!("[capabilities]\nhosts = {hosts:?}\n"));
        }
        Manifest::parse(&text).expect("manifest")
    }

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

    /// A component for `world`, defined in the last of `sources` (WIT
    /// documents that may use the real `warden:plugin` package in `wit/`
    /// and the earlier sources).
    pub(crate) fn synthetic(sources: &[&str], world: &str) -> Vec<u8> {
        let mut resolve = Resolve::default();
        let wit: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
        resolve.push_dir(&wit).expect("wit/");
        let mut pkg = None;
        for (i, source) in sources.iter().enumerate() {
            pkg = Some(
                resolve
                    .push_str(format!("test{i}.wit"), source)
                    .expect("test wit"),
            );
        }
        let pkg = pkg.expect("at least one source");
        let world = resolve.select_world(&[pkg], Some(world)).expect("world");
        let mut module =
            wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
        wit_component::embed_component_metadata(
            &mut module,
            &resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .expect("embed");
        wit_component::ComponentEncoder::default()
            .module(&module)
            .expect("module")
            .validate(true)
            .encode()
            .expect("encode")
    }

    fn message(result: Result<ImportSummary, CapabilityError>) -> String {
        match result {
            Ok(s) => panic!("should be refused: {s:?}"),
            Err(e) => e.to_string(),
        }
    }

    const NET: &str = r#"
package wasi:http@0.2.0;
interface outgoing-handler { handle: func(); }
world fetcher {
  include warden:plugin/tool@0.1.0;
  import outgoing-handler;
}
world sockets-user {
  include warden:plugin/tool@0.1.0;
  import wasi:sockets/tcp@0.2.0;
}
world foreign {
  include warden:plugin/tool@0.1.0;
  import acme:evil/backdoor@1.0.0;
}
world brokered-tool {
  include warden:plugin/tool@0.1.0;
  import warden:plugin/broker@0.1.0;
}
world no-export {
  import warden:plugin/log@0.1.0;
}
world bare-function {
  include warden:plugin/tool@0.1.0;
  import secret-door: func();
}
"#;
    const SOCKETS: &str = "package wasi:sockets@0.2.0;\ninterface tcp { connect: func(); }\n";
    const EVIL: &str = "package acme:evil@1.0.0;\ninterface backdoor { open: func(); }\n";

    fn net(world: &str) -> Vec<u8> {
        synthetic(&[SOCKETS, EVIL, NET], world)
    }

    #[test]
    fn every_kind_built_for_its_world_passes() {
        for kind in Kind::ALL {
            let component = synthetic(
                &[&format!(
                    "package test:t;\nworld w {{ include warden:plugin/{kind}@0.1.0; }}\n"
                )],
                "w",
            );
            let summary = check(&manifest(kind, &[]), &component).expect("passes");
            assert!(
                summary
                    .exports
                    .contains(&format!("warden:plugin/{}@0.1.0", kind.export_interface())),
                "{summary:?}"
            );
        }
    }

    #[test]
    fn a_streaming_model_provider_passes_and_lists_its_stream_sink() {
        let component = synthetic(
            &[
                "package test:t;\nworld w { include warden:plugin/streaming-model-provider@0.1.0; }\n",
            ],
            "w",
        );
        let summary = check(&manifest(Kind::ModelProvider, &[]), &component).expect("passes");
        assert!(
            summary
                .imports
                .contains(&"warden:plugin/stream-sink@0.1.0".to_string()),
            "{summary:?}"
        );
        assert!(
            summary
                .exports
                .contains(&"warden:plugin/model@0.1.0".to_string()),
            "{summary:?}"
        );
    }

    /// Regression (fuzz target `component`, out of memory): a section that
    /// declares more bytes than the component holds made wit-parser
    /// allocate them all (4 GiB for these 20 bytes) before noticing.
    #[test]
    fn a_section_size_past_the_end_is_refused_before_it_is_allocated() {
        // A component header, then a custom section declaring 4 GiB - 1.
        let mut lying = b"\0asm\x0d\x00\x01\x00".to_vec();
        lying.extend([0x00, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        lying.extend(b"\x04name");
        let err = message(check(&manifest(Kind::Tool, &[]), &lying));
        assert!(
            err.contains("component.wasm of acme:t@1.0.0 is not a valid WebAssembly component")
                && err.contains("unexpected end-of-file"),
            "{err}"
        );
        // The same lie inside a real component's nested module section.
        let mut real = synthetic(
            &["package test:t;\nworld w { include warden:plugin/tool@0.1.0; }\n"],
            "w",
        );
        real.extend([0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
        let err = message(check(&manifest(Kind::Tool, &[]), &real));
        assert!(
            err.contains("is not a valid WebAssembly component: module section is too large"),
            "{err}"
        );
    }

    #[test]
    fn a_component_for_another_kind_is_refused() {
        let skill = synthetic(
            &["package test:t;\nworld w { include warden:plugin/skill@0.1.0; }\n"],
            "w",
        );
        let err = message(check(&manifest(Kind::Tool, &[]), &skill));
        assert!(
            err.contains("acme:t@1.0.0 is a tool but does not export `warden:plugin/tools@0.1.0`")
                && err.contains("it exports: warden:plugin/skills@0.1.0"),
            "{err}"
        );
        let err = message(check(&manifest(Kind::Tool, &[]), &net("no-export")));
        assert!(err.contains("(it exports: nothing)"), "{err}");
    }

    #[test]
    fn http_imports_need_hosts_and_sockets_are_reported() {
        let fetcher = net("fetcher");
        let err = message(check(&manifest(Kind::Tool, &[]), &fetcher));
        assert!(
            err.contains("imports `wasi:http/outgoing-handler@0.2.0` (outbound HTTP requests)")
                && err.contains("declares no network hosts")
                && err.contains("`hosts`"),
            "{err}"
        );
        check(&manifest(Kind::Tool, &["api.example.com"]), &fetcher).expect("hosts declared");

        let sockets = net("sockets-user");
        let summary = check(&manifest(Kind::Tool, &[]), &sockets).expect("sockets, no hosts");
        assert_eq!(
            summary.network_without_hosts.as_deref(),
            Some("`wasi:sockets/tcp@0.2.0` (TCP connections)")
        );
        let note = summary.network_note("acme:t@1.0.0").expect("a note");
        assert!(
            note.contains("acme:t@1.0.0 imports `wasi:sockets/tcp@0.2.0`")
                && note.contains("every connection it attempts will be refused"),
            "{note}"
        );
        let summary =
            check(&manifest(Kind::Tool, &["10.0.0.1:5432"]), &sockets).expect("hosts declared");
        assert_eq!(summary.network_without_hosts, None, "hosts are declared");
        assert_eq!(summary.network_note("acme:t@1.0.0"), None);
    }

    #[test]
    fn foreign_imports_are_refused() {
        let err = message(check(&manifest(Kind::Tool, &["x.com"]), &net("foreign")));
        assert!(
            err.contains("imports `acme:evil/backdoor@1.0.0`, which warden does not provide"),
            "{err}"
        );
        let err = message(check(&manifest(Kind::Tool, &[]), &net("bare-function")));
        assert!(
            err.contains("imports `secret-door`, which warden does not provide"),
            "{err}"
        );
    }

    #[test]
    fn only_planners_may_import_the_broker() {
        let err = message(check(&manifest(Kind::Tool, &[]), &net("brokered-tool")));
        assert!(
            err.contains("imports `warden:plugin/broker@0.1.0`, which only planners may import")
                && err.contains("kind = \"tool\""),
            "{err}"
        );
        let planner = synthetic(
            &["package test:t;\nworld w { include warden:plugin/planner@0.1.0; }\n"],
            "w",
        );
        let summary = check(&manifest(Kind::Planner, &[]), &planner).expect("planner");
        assert!(
            summary
                .imports
                .contains(&"warden:plugin/broker@0.1.0".to_string()),
            "{summary:?}"
        );
    }

    #[test]
    fn core_modules_and_garbage_are_refused() {
        let err = message(check(&manifest(Kind::Tool, &[]), b"\0asm\x01\0\0\0"));
        assert!(
            err.contains("is a core WebAssembly module, not a component"),
            "{err}"
        );
        let err = message(check(&manifest(Kind::Tool, &[]), b"not wasm at all"));
        assert!(
            err.contains("is not a valid WebAssembly component"),
            "{err}"
        );
    }

    #[test]
    fn inspect_lists_imports_and_exports_without_judging() {
        let summary = inspect_component(&net("foreign")).expect("decodes");
        assert!(
            summary
                .imports
                .contains(&"acme:evil/backdoor@1.0.0".to_string()),
            "{summary:?}"
        );
        assert_eq!(summary.exports, ["warden:plugin/tools@0.1.0"]);
        let err = inspect_component(b"\0asm\x01\0\0\0")
            .expect_err("core")
            .to_string();
        assert!(err.contains("core WebAssembly module"), "{err}");
    }

    #[test]
    fn real_tools_pass_with_their_capabilities() {
        // The first-party tools are built with the SDK, which targets the
        // 0.2.0 tool world; their manifests say so.
        let text = MANIFEST.replace("KIND", "tool").replace("@0.1.0", "@0.2.0");
        let v2 = Manifest::parse(&text).expect("manifest");
        for name in ["fs.wasm", "grep.wasm"] {
            let Some(bytes) = guest(name) else { return };
            let summary = check(&v2, &bytes).expect(name);
            assert!(
                summary
                    .exports
                    .contains(&"warden:plugin/tools@0.2.0".to_string()),
                "{summary:?}"
            );
            // The same component under a manifest that names 0.1.0 is refused.
            assert!(check(&manifest(Kind::Tool, &[]), &bytes).is_err());
            assert!(
                !summary
                    .imports
                    .iter()
                    .any(|i| i.starts_with("wasi:sockets/")),
                "{summary:?}"
            );
            assert_eq!(summary.network_without_hosts, None, "{summary:?}");
        }
    }

    #[test]
    fn real_http_fetch_needs_hosts() {
        let Some(bytes) = guest("http_fetch.wasm") else {
            return;
        };
        let err = message(check(&tool_manifest_v2(&[]), &bytes));
        assert!(
            err.contains("wasi:http/outgoing-handler@") && err.contains("add the hosts"),
            "{err}"
        );
        check(&tool_manifest_v2(&["*.example.com"]), &bytes).expect("with hosts");
    }

    #[test]
    fn real_std_net_user_is_reported_without_hosts() {
        let Some(bytes) = guest("hostile.wasm") else {
            return;
        };
        let summary = check(&manifest(Kind::Tool, &[]), &bytes).expect("no hosts");
        let import = summary.network_without_hosts.expect("reported");
        assert!(import.starts_with("`wasi:sockets/"), "{import}");
        let summary = check(&manifest(Kind::Tool, &["127.0.0.1"]), &bytes).expect("with hosts");
        assert!(
            summary
                .imports
                .iter()
                .any(|i| i.starts_with("wasi:sockets/udp@")),
            "{summary:?}"
        );
    }
}

//! Loading a component as a warden tool: compile once, check that it
//! exports the `tool` world and imports only what the host provides, and keep
//! an `InstancePre` so each call instantiates quickly.

use std::path::Path;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

use crate::bindings::tool::ToolPre;
use warden_core::Digest;

use crate::engine::Runtime;
use crate::error::LoadError;
use crate::sandbox::SandboxState;
use crate::wit_check::check_tools_instance;

/// The interface a 0.1.0 tool component exports.
pub const TOOLS_INTERFACE: &str = "warden:plugin/tools@0.1.0";

/// The interface a 0.2.0 tool component exports (rich results, progress).
pub const TOOLS_INTERFACE_V2: &str = "warden:plugin/tools@0.2.0";

/// A tool ready to instantiate, by the version of the interface it exports.
#[derive(Clone)]
pub(crate) enum Pre {
    /// `warden:plugin/tool@0.1.0`.
    V1(ToolPre<SandboxState>),
    /// `warden:plugin/tool@0.2.0`.
    V2(crate::bindings::tool_v2::ToolPre<SandboxState>),
}

/// A compiled, checked tool component, ready to instantiate.
#[derive(Clone)]
pub struct ToolComponent {
    pub(crate) name: Arc<str>,
    /// The digest of the component's bytes, for its audit records.
    pub(crate) digest: Digest,
    pub(crate) pre: Pre,
    /// Calls in flight and recent starts, shared by every call (and clone).
    pub(crate) admission: Arc<crate::admission::Admission>,
}

impl std::fmt::Debug for ToolComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolComponent")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ToolComponent {
    /// The component's name (its file stem, or the name it was loaded as).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The digest of the component's bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

impl Runtime {
    /// Loads the tool component at `path`, named after its file stem.
    pub fn load_tool_file(&self, path: &Path) -> Result<ToolComponent, LoadError> {
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.load_tool(&name, &bytes)
    }

    /// Compiles `bytes` (binary or WAT text) as the tool component `name`.
    pub fn load_tool(&self, name: &str, bytes: &[u8]) -> Result<ToolComponent, LoadError> {
        let component = self.compile(name, bytes)?;
        self.check_tool(name, Digest::of(bytes), component)
    }

    /// Compiles `bytes` (binary or WAT text) into a component.
    pub(crate) fn compile(&self, name: &str, bytes: &[u8]) -> Result<Component, LoadError> {
        let component_name = name.to_string();
        // WAT text (handy for fixtures and experiments) is compiled to binary first.
        let bytes: std::borrow::Cow<'_, [u8]> = if bytes.starts_with(b"\0asm") {
            bytes.into()
        } else {
            let text_like = bytes
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_some_and(|b| *b == b'(' || *b == b';');
            if !text_like {
                return Err(LoadError::NotWasm {
                    component: component_name,
                });
            }
            wat::parse_bytes(bytes).map_err(|e| LoadError::Compile {
                component: component_name.clone(),
                reason: format!("invalid WebAssembly text: {e}"),
            })?
        };
        // Bytes 4..8 are the version and layer: 1, 0 for a core module.
        if bytes.get(4..8) == Some(&[1, 0, 0, 0]) {
            return Err(LoadError::CoreModule {
                component: component_name,
            });
        }
        let component = Component::new(&self.engine, &bytes).map_err(|e| {
            let reason = format!("{e:#}");
            if reason.contains("expected `component`") || reason.contains("core module") {
                LoadError::CoreModule {
                    component: component_name.clone(),
                }
            } else {
                LoadError::Compile {
                    component: component_name.clone(),
                    reason,
                }
            }
        })?;
        Ok(component)
    }

    /// Checks that `component` is a tool the host can run: its imports are
    /// provided and it exports the `tools` interface with the right types.
    pub(crate) fn check_tool(
        &self,
        name: &str,
        digest: Digest,
        component: Component,
    ) -> Result<ToolComponent, LoadError> {
        let component_name = name.to_string();
        // Imports first: a component that asks for more than the host
        // provides is refused whatever it exports.
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::Link {
                    component: component_name.clone(),
                    reason: format!(
                        "{e:#} (a tool may import `warden:plugin/log` and WASI 0.2 interfaces only)"
                    ),
                })?;
        // Name what is missing before the linker's type check does.
        let ty = component.component_type();
        let exports: Vec<(String, ComponentItem)> = ty
            .exports(&self.engine)
            .map(|(n, i)| (n.to_string(), i.ty))
            .collect();
        if exports.iter().any(|(n, _)| n == TOOLS_INTERFACE_V2) {
            let pre = crate::bindings::tool_v2::ToolPre::new(instance_pre).map_err(|e| {
                LoadError::Link {
                    component: component_name.clone(),
                    reason: format!("its `{TOOLS_INTERFACE_V2}` export has the wrong type: {e:#}"),
                }
            })?;
            return Ok(ToolComponent {
                name: component_name.into(),
                digest,
                pre: Pre::V2(pre),
                admission: Arc::default(),
            });
        }
        let tools = exports.iter().find(|(n, _)| n == TOOLS_INTERFACE);
        match tools {
            None => {
                return Err(LoadError::MissingExport {
                    component: component_name,
                    expected: TOOLS_INTERFACE.to_string(),
                    found: exports.into_iter().map(|(n, _)| n).collect(),
                });
            }
            Some((_, ComponentItem::ComponentInstance(instance))) => {
                if let Err(reason) = check_tools_instance(&self.engine, instance) {
                    return Err(LoadError::Link {
                        component: component_name,
                        reason: format!(
                            "its `{TOOLS_INTERFACE}` export has the wrong type: {reason}"
                        ),
                    });
                }
                let funcs: Vec<String> = instance
                    .exports(&self.engine)
                    .map(|(n, _)| n.to_string())
                    .collect();
                let missing: Vec<&str> = ["list-tools", "call"]
                    .into_iter()
                    .filter(|f| !funcs.iter().any(|n| n == f))
                    .collect();
                if !missing.is_empty() {
                    return Err(LoadError::MissingExport {
                        component: component_name,
                        expected: format!("{TOOLS_INTERFACE}#{}", missing.join(", #")),
                        found: funcs
                            .into_iter()
                            .map(|f| format!("{TOOLS_INTERFACE}#{f}"))
                            .collect(),
                    });
                }
            }
            Some(_) => {
                return Err(LoadError::MissingExport {
                    component: component_name,
                    expected: format!("{TOOLS_INTERFACE} (as an interface instance)"),
                    found: exports.into_iter().map(|(n, _)| n).collect(),
                });
            }
        }

        let pre = ToolPre::new(instance_pre).map_err(|e| LoadError::Link {
            component: component_name.clone(),
            reason: format!("its `{TOOLS_INTERFACE}` export has the wrong type: {e:#}"),
        })?;
        Ok(ToolComponent {
            name: component_name.into(),
            digest,
            pre: Pre::V1(pre),
            admission: Arc::default(),
        })
    }
}

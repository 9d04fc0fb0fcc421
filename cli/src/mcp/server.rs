//! The MCP tool server: the served components, their tools under MCP names,
//! and one `tools/call` → grant → sandbox → audit → tool result.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use rmcp::ErrorData;
#[allow(deprecated)]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestParams, CompleteResult,
    ContentBlock, GetPromptRequestParams, GetPromptResponse, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse, ResourceContents,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use warden::guest_log::CapturedLog;

use super::client_log::ClientLog;
use super::prompts::Skills;
use serde_json::{Value, json};
use warden::error::capability_name;
use warden::resolve::Resolved;
use warden::{CallError, CallReport, Content, EngineConfig, Runtime, SourceKind, ToolSource};
use warden_registry::store::Registry;

use crate::grant_args::GrantArgs;
use crate::output::print_guest_log;
use crate::policy_grant::{DeniedFlags, ParsedFlags, Subject, resolve, resolve_parsed};
use crate::tool::{audit_sink_with, compile, locate_part};
use warden::authorize_memo::AuthorizeMemo;
use warden::policy_cache::PolicyCache;

/// Which components to serve.
#[derive(Debug, Clone)]
pub enum Which {
    /// Every installed package of kind `tool`.
    Installed,
    /// The components named on the command line.
    Named(Vec<String>),
    /// The tools an agent manifest names.
    Agent(PathBuf),
}

/// One served component, compiled once.
struct Served {
    /// The name it was loaded as (`fs`, `acme:grep`, a file's stem).
    name: String,
    /// Who it is, for policy and the audit log.
    subject: Subject,
    /// The host it was compiled for (engine settings come from its grant).
    runtime: Runtime,
    /// The engine settings its grant asked for at start.
    engine: EngineConfig,
    /// The tool source (a compiled component, an MCP server, a command);
    /// its call counters span the server's life.
    source: ToolSource,
    /// Its tools' annotations, from its grant at start.
    annotations: ToolAnnotations,
    /// Its last authorization, reused while the policy is unchanged.
    memo: AuthorizeMemo,
}

/// One tool as MCP clients see it.
struct Exposed {
    /// Index into [`Inner::served`].
    served: usize,
    /// The component's own name for the tool.
    tool: String,
    /// The MCP tool: its (possibly prefixed) name, description and schema.
    spec: Tool,
}

impl Exposed {
    /// Whether the tool declared an output schema (so every successful
    /// result must carry structured content).
    fn has_output_schema(&self) -> bool {
        self.spec.output_schema.is_some()
    }
}

struct Inner {
    registry: Registry,
    /// The policy layers, reloaded when their files change.
    policy: PolicyCache,
    /// The grant flags, parsed once.
    flags: ParsedFlags,
    served: Vec<Served>,
    tools: Vec<Exposed>,
    /// Index into `tools` by MCP name.
    by_name: HashMap<String, usize>,
    /// The skills served as prompts and resources (`--skill`).
    skills: Skills,
}

/// The most tools one `warden mcp` serves in all (each component may list
/// at most [`warden::bounds::MAX_TOOLS`]).
pub const MAX_SERVED_TOOLS: usize = 8 * warden::bounds::MAX_TOOLS;

/// The MCP server handler. Cheap to clone: every HTTP session gets a clone
/// of the same host, so limits such as calls-per-minute bind across them.
#[derive(Clone)]
pub struct ToolServer {
    inner: Arc<Inner>,
    /// This session's `logging/setLevel`.
    log: ClientLog,
    /// How long a client has to answer an approval question.
    approval_wait: std::time::Duration,
}

impl ToolServer {
    /// Locates, checks, compiles and lists the tools of the components
    /// `which` names. Fails if any of them cannot be served (not found, not
    /// a tool, refused by policy, or two tools whose names cannot be told
    /// apart).
    pub async fn load(
        registry: Registry,
        flags: GrantArgs,
        which: &Which,
        skill_specs: &[String],
        durability: warden_audit::Durability,
    ) -> anyhow::Result<ToolServer> {
        let skills = super::skills::load(&registry, &flags, skill_specs).await?;
        // One audit log (and, batched, one syncer) for every runtime.
        let sink = audit_sink_with(&registry, durability);
        let located = find(&registry, which)?;
        let mut runtimes: Vec<(EngineConfig, Runtime)> = Vec::new();
        let mut served: Vec<Served> = Vec::new();
        let mut specs = Vec::new();
        for found in located {
            let (name, subject) = match &found {
                Resolved::Component(loc) => (loc.name.clone(), loc.subject.clone()),
                Resolved::Source { source, subject } => {
                    (source.name().to_string(), subject.clone())
                }
            };
            let same = |s: &Served| s.name == name && s.subject.id.digest == subject.id.digest;
            if served.iter().any(same) {
                continue;
            }
            let resolved = resolve(&registry, &subject, &flags, DeniedFlags::Refuse)
                .with_context(|| format!("cannot serve `{name}`"))?;
            let runtime = match runtimes.iter().find(|(c, _)| *c == resolved.engine) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = Runtime::new(resolved.engine, sink.clone())?;
                    runtimes.push((resolved.engine, r.clone()));
                    r
                }
            };
            let source = match found {
                Resolved::Component(loc) => ToolSource::Component(
                    compile(&runtime, &loc, &registry)
                        .with_context(|| format!("cannot load `{name}` as a tool"))?,
                ),
                Resolved::Source { source, .. } => source,
            };
            let tools = runtime
                .list_source(&source, &resolved.grant)
                .await
                .with_context(|| format!("cannot list the tools of `{name}`"))?;
            if specs.len() + tools.len() > MAX_SERVED_TOOLS {
                bail!(
                    "cannot serve `{name}`: with its {} tools this server would serve {} tools, \
                     over the limit of {MAX_SERVED_TOOLS}; serve fewer components",
                    tools.len(),
                    specs.len() + tools.len()
                );
            }
            let index = served.len();
            specs.extend(tools.into_iter().map(|t| {
                let spec = warden::bindings::ToolSpec {
                    name: t.name,
                    description: t.description,
                    input_schema: t.input_schema.to_string(),
                };
                (index, spec, t.meta)
            }));
            served.push(Served {
                name,
                subject,
                runtime,
                engine: resolved.engine,
                source,
                annotations: super::annotations::from_grant(&resolved.grant),
                memo: AuthorizeMemo::new(),
            });
        }
        let tools = expose(&served, specs)?;
        let by_name = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.spec.name.to_string(), i))
            .collect();
        Ok(ToolServer {
            inner: Arc::new(Inner {
                policy: PolicyCache::new(registry.clone()),
                registry,
                flags: ParsedFlags::parse(&flags, DeniedFlags::Refuse)?,
                served,
                tools,
                by_name,
                skills,
            }),
            log: ClientLog::default(),
            approval_wait: super::approve::WAIT,
        })
    }

    /// Gives clients `wait` to answer an approval question (default
    /// [`super::approve::WAIT`]).
    pub fn with_approval_wait(mut self, wait: std::time::Duration) -> ToolServer {
        self.approval_wait = wait;
        self
    }

    /// The same host for a new session (an HTTP client), with its own
    /// logging level.
    pub fn session(&self) -> ToolServer {
        ToolServer {
            inner: self.inner.clone(),
            log: ClientLog::default(),
            approval_wait: self.approval_wait,
        }
    }

    /// "N tools from M components (a, b)", for the start-up line.
    pub fn summary(&self) -> String {
        let names: Vec<&str> = self.inner.served.iter().map(|s| s.name.as_str()).collect();
        let (t, c) = (self.inner.tools.len(), names.len());
        let mut summary = format!(
            "{t} tool{} from {c} component{} ({})",
            if t == 1 { "" } else { "s" },
            if c == 1 { "" } else { "s" },
            names.join(", ")
        );
        let k = self.inner.skills.len();
        if k > 0 {
            summary.push_str(&format!(
                " and {k} skill{} as prompts",
                if k == 1 { "" } else { "s" }
            ));
        }
        summary
    }
}

/// The tool sources `which` names, resolved (components not compiled).
fn find(registry: &Registry, which: &Which) -> anyhow::Result<Vec<Resolved>> {
    match which {
        Which::Named(specs) => specs
            .iter()
            .map(|spec| {
                warden::resolve::resolve(spec, registry)
                    .with_context(|| format!("cannot find `{spec}`"))
            })
            .collect(),
        Which::Agent(path) => {
            let manifest = warden_agent::AgentManifest::load(path)?;
            if manifest.tools.is_empty() {
                bail!("the agent {} names no tools", path.display());
            }
            manifest
                .tools
                .iter()
                .map(|part| {
                    locate_part(&part.name, &part.req, "tool", registry)
                        .map(Resolved::Component)
                        .with_context(|| format!("cannot find the agent's tool `{}`", part.name))
                })
                .collect()
        }
        Which::Installed => {
            let installed = registry.installed()?;
            let tools: Vec<_> = installed.iter().filter(|i| i.kind == "tool").collect();
            if tools.is_empty() {
                bail!(
                    "no tool packages are installed, so there is nothing to serve: name \
                     components (e.g. `warden mcp builtin:fs --dir .:/repo`) or install some \
                     (`warden install --help`)"
                );
            }
            tools
                .into_iter()
                .map(|i| {
                    let exact = semver::VersionReq::parse(&format!("={}", i.version))?;
                    locate_part(&i.name, &exact, "tool", registry)
                        .map(Resolved::Component)
                        .with_context(|| format!("cannot load the installed `{}`", i.name))
                })
                .collect()
        }
    }
}

/// `name` as a tool-name prefix: lowercase letters, digits, `_` and `-`.
fn slug(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    mapped.trim_matches('-').to_string()
}

/// The MCP tools: each component's tools under their own names, or as
/// `COMPONENT__TOOL` where two components export the same name; an MCP
/// server's tools always under its prefix, `SERVER__TOOL` (gateway mode). Linear in
/// the number of tools: names are counted and checked in hash sets.
fn expose(
    served: &[Served],
    specs: Vec<(usize, warden::bindings::ToolSpec, warden::ToolMeta)>,
) -> anyhow::Result<Vec<Exposed>> {
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, spec, _) in &specs {
        *count.entry(spec.name.as_str()).or_default() += 1;
    }
    let names: Vec<String> = specs
        .iter()
        .map(|(i, spec, _)| {
            let source = &served[*i].source;
            if source.kind() == SourceKind::McpServer {
                let server = served[*i].name.trim_start_matches("server:");
                format!("{}__{}", slug(server), spec.name)
            } else if count.get(spec.name.as_str()).copied().unwrap_or(0) > 1 {
                format!("{}__{}", slug(&served[*i].name), spec.name)
            } else {
                spec.name.clone()
            }
        })
        .collect();
    let mut tools = Vec::with_capacity(specs.len());
    let mut taken: HashSet<String> = HashSet::with_capacity(specs.len());
    for ((index, spec, meta), name) in specs.into_iter().zip(names) {
        if !taken.insert(name.clone()) {
            bail!("two served components both provide the tool `{name}`; serve only one of them");
        }
        let schema = match serde_json::from_str::<Value>(&spec.input_schema) {
            Ok(Value::Object(map)) => map,
            // The host checked each schema when it listed the tools.
            _ => bail!(
                "the input schema of `{}` tool `{}` is not a JSON object",
                served[index].name,
                spec.name
            ),
        };
        let mut tool = Tool::new(name, spec.description, Arc::new(schema)).with_annotations(
            super::annotations::with_meta(served[index].annotations.clone(), &meta),
        );
        tool.title = meta.title;
        if let Some(schema) = meta.output_schema {
            match serde_json::from_str::<Value>(&schema) {
                Ok(Value::Object(map)) => tool.output_schema = Some(Arc::new(map)),
                // The host checked each output schema when it listed the tools.
                _ => bail!(
                    "the output schema of `{}` tool `{}` is not a JSON object",
                    served[index].name,
                    spec.name
                ),
            }
        }
        tools.push(Exposed {
            served: index,
            tool: spec.name,
            spec: tool,
        });
    }
    Ok(tools)
}

impl Inner {
    /// Runs one call: the grant is resolved now (so `warden grant`,
    /// `warden revoke` and policy changes apply without a restart), the call
    /// runs in its own sandbox, and the runtime records it in the audit log.
    ///
    /// When `cancelled` completes first (the client sent
    /// `notifications/cancelled`), the call's future is dropped, which drops
    /// its store and frees its admission slot; the runtime records the
    /// outcome `cancelled`. A successful call's guest log comes back for the
    /// client's `notifications/message`.
    async fn call(
        &self,
        exposed: &Exposed,
        input: String,
        cancelled: impl std::future::Future<Output = ()>,
        progress: Option<warden::ProgressSender>,
        approver: &dyn warden::approval::Approver,
    ) -> (CallToolResult, Option<CapturedLog>) {
        let served = &self.served[exposed.served];
        // The policy layers come from the cache: three `stat`s when no
        // policy file changed, no thread hop; while they are the same, so
        // is the authorization (the memo). What a grants.toml `ask` rule
        // names is put to the client (elicitation) and recorded first.
        let resolved = match self.policy.layers() {
            Ok(layers) => {
                let asking = warden::authorize::Asking {
                    approver,
                    audit: served.runtime.audit(),
                    tool: Some(&exposed.tool),
                };
                resolve_parsed(
                    &layers,
                    &self.registry,
                    &served.subject,
                    &self.flags,
                    &served.memo,
                    asking,
                )
                .await
            }
            Err(e) => Err(anyhow::Error::from(e)),
        };
        let resolved = match resolved {
            Ok(resolved) => {
                if resolved.engine != served.engine {
                    tracing::warn!(
                        "the stack limit of `{}` changed; it applies when `warden mcp` restarts",
                        served.name
                    );
                }
                resolved
            }
            Err(err) => return (refused(&served.name, &exposed.tool, &err), None),
        };
        // The runtime records the call (and any denial, or its
        // cancellation) in the audit log.
        let running = served.runtime.call_source_reporting(
            &served.source,
            &exposed.tool,
            &input,
            &resolved.grant,
            progress,
        );
        let result = tokio::select! {
            result = running => result,
            () = cancelled => return (cancelled_result(&served.name, &exposed.tool), None),
        };
        match result {
            Ok(report) => {
                print_guest_log(served.source.name(), &report.log);
                let log = report.log.clone();
                (success(exposed, report), Some(log))
            }
            Err(err) => (failure(&err), None),
        }
    }
}

/// A successful call: its content blocks (a 0.1.0 tool's output is one text
/// block: a JSON string as itself, anything else as JSON) and its
/// structured content (a 0.1.0 object output, or what a 0.2.0 tool
/// returned). A tool that declared an output schema but returned no
/// structured content gets an `invalid-output` error instead.
fn success(exposed: &Exposed, report: CallReport) -> CallToolResult {
    if exposed.has_output_schema() && report.structured.is_none() {
        let message = format!(
            "tool `{}` declares an output schema but returned no structured content",
            exposed.tool
        );
        let mut result = CallToolResult::error(vec![ContentBlock::text(format!(
            "invalid-output: {message}"
        ))]);
        result.structured_content =
            Some(json!({ "error": { "kind": "invalid-output", "message": message } }));
        return result;
    }
    let blocks = report.content.into_iter().map(block).collect();
    let mut result = CallToolResult::success(blocks);
    result.structured_content = report.structured;
    result
}

/// One content block as MCP's.
fn block(content: Content) -> ContentBlock {
    match content {
        Content::Text { text } => ContentBlock::text(text),
        Content::Image { data, mime_type } => ContentBlock::image(data, mime_type),
        Content::Audio { data, mime_type } => ContentBlock::audio(data, mime_type),
        Content::Resource {
            uri,
            mime_type,
            text,
            blob,
        } => {
            let contents = match (text, blob) {
                (Some(text), _) => ResourceContents::text(text, uri),
                (None, blob) => ResourceContents::blob(blob.unwrap_or_default(), uri),
            };
            let contents = match mime_type {
                Some(m) => contents.with_mime_type(m),
                None => contents,
            };
            ContentBlock::resource(contents)
        }
    }
}

/// A call that failed: `isError`, the host's message (for a denial: the
/// capability, the target and the reason), and the same as structured
/// content (`kind`, and `capability`, `target`, `reason` for a denial).
fn failure(err: &CallError) -> CallToolResult {
    let mut detail = json!({ "kind": err.kind(), "message": err.to_string() });
    if let Some(d) = err.denial() {
        detail["capability"] = json!(capability_name(d.capability));
        detail["target"] = json!(d.target);
        detail["reason"] = json!(d.reason);
    }
    let text = format!("{}: {err}", err.kind());
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    result.structured_content = Some(json!({ "error": detail }));
    result
}

/// The answer to a cancelled call (the client no longer waits for it).
fn cancelled_result(component: &str, tool: &str) -> CallToolResult {
    let message = format!("the client cancelled the call of `{component}` tool `{tool}`");
    let mut result =
        CallToolResult::error(vec![ContentBlock::text(format!("cancelled: {message}"))]);
    result.structured_content =
        Some(json!({ "error": { "kind": "cancelled", "message": message } }));
    result
}

/// A call the grant resolution refused (a flag the org policy denies, an
/// org policy that does not verify, unreadable grants).
fn refused(component: &str, tool: &str, err: &anyhow::Error) -> CallToolResult {
    use warden::authorize::AuthorizeError;
    let cause = err.chain().find_map(|c| c.downcast_ref::<AuthorizeError>());
    let kind = match cause {
        Some(AuthorizeError::Refused { .. } | AuthorizeError::NotApproved { .. }) => "denied",
        _ => "grant",
    };
    let message = format!("warden did not run `{component}` tool `{tool}`: {err:#}");
    let mut result = CallToolResult::error(vec![ContentBlock::text(format!("{kind}: {message}"))]);
    let mut detail = json!({ "kind": kind, "message": message });
    // A grants.toml `ask` rule that was not approved: what was asked, the
    // answer and why.
    if let Some(AuthorizeError::NotApproved {
        capabilities,
        answer,
        reason,
        ..
    }) = cause
    {
        detail["capabilities"] = json!(capabilities);
        detail["approval"] = json!(answer);
        detail["reason"] = json!(reason);
    }
    result.structured_content = Some(json!({ "error": detail }));
    result
}

impl rmcp::ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        let mut capabilities = ServerCapabilities::builder().enable_tools().build();
        capabilities.logging = Some(Default::default());
        capabilities.completions = Some(Default::default());
        if !self.inner.skills.is_empty() {
            capabilities.prompts = Some(Default::default());
            capabilities.resources = Some(Default::default());
        }
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("warden", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Tools served by warden: each runs as a sandboxed WebAssembly component with \
                 only the capabilities its grant allows. A refused access comes back as a tool \
                 error naming the capability, the target and the reason; choose another path \
                 or ask the user for a grant.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            self.inner.tools.iter().map(|t| t.spec.clone()).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(exposed) = self
            .inner
            .by_name
            .get(request.name.as_ref())
            .and_then(|&i| self.inner.tools.get(i))
        else {
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`: tools/list names the tools this server provides",
                    request.name
                ),
                None,
            ));
        };
        let input = Value::Object(request.arguments.unwrap_or_default()).to_string();
        let cancelled = context.ct.cancelled();
        // Who answers an `ask` rule's question: on 2026-07-28 the client, by
        // retrying the call (`input_required`); before, elicitation now.
        let modern = context
            .protocol_version()
            .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
        let elicit = super::approve::Elicit {
            peer: &context.peer,
            wait: self.approval_wait,
        };
        let retry = super::input_required::InputRequired::new(
            request.request_state,
            request.input_responses,
            context
                .client_capabilities()
                .is_some_and(|c| c.elicitation.is_some()),
        );
        let approver: &dyn warden::approval::Approver = if modern { &retry } else { &elicit };
        let (result, log) = match context.meta.get_progress_token() {
            Some(token) => {
                let (sender, reports) = tokio::sync::mpsc::unbounded_channel();
                let call = self
                    .inner
                    .call(exposed, input, cancelled, Some(sender), approver);
                super::progress::forward_during(call, reports, &context.peer, token).await
            }
            None => {
                self.inner
                    .call(exposed, input, cancelled, None, approver)
                    .await
            }
        };
        if let Some(question) = modern.then(|| retry.result()).flatten() {
            return Ok(question.into());
        }
        if let Some(log) = log {
            let component = self.inner.served[exposed.served].source.name();
            self.log.forward(&context.peer, component, &log).await;
        }
        Ok(result.into())
    }

    // Logging is deprecated by SEP-2577 (2026-07-28); 2025-11-25 clients use it.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log.set(request.level);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.inner.skills.complete(&request)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(
            self.inner.skills.prompts(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        Ok(self
            .inner
            .skills
            .prompt(&request.name, request.arguments.as_ref())?
            .into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(
            self.inner.skills.resources(),
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(
            self.inner.skills.templates(),
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        Ok(self.inner.skills.read(&request.uri)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn slugs_are_valid_tool_name_prefixes() {
        assert_eq!(slug("acme:grep"), "acme-grep");
        assert_eq!(slug("fs"), "fs");
        assert_eq!(slug("My Tool.v2"), "my-tool-v2");
    }
}

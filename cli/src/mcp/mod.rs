//! `warden mcp`: serves tool components to MCP clients (Claude Desktop, IDEs,
//! other agents) over stdio or streamable HTTP on a loopback address.
//!
//! One long-lived host: each served component is located, checked and
//! compiled once at start; every `tools/call` then resolves the component's
//! grant exactly as `warden tool call` does (your grants, the manifest, the
//! org policy, and this command's grant flags), runs in a fresh sandbox, is
//! recorded in the audit log, and comes back as an MCP tool result. A denial
//! or any other failure of the call is a tool result with `isError: true`
//! naming what was refused and why, never a protocol error or a crash.

mod annotations;
mod approve;
mod audit_sync;
mod client_log;
mod input_required;
mod progress;
mod prompts;
mod server;
mod skills;
mod stdio_pipes;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::exit;
use super::grant_args::GrantArgs;
use super::registry_args::RegistryArgs;
use server::{ToolServer, Which};

/// The path the streamable HTTP endpoint is served at.
const HTTP_PATH: &str = "/mcp";

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  warden mcp                                     every installed tool package, on stdio
  warden mcp builtin:fs --dir .:/repo            the fs tool, this directory read-only at /repo
  warden mcp builtin:fs acme:grep@^1 ./x.wasm    named components
  warden mcp --agent agent.toml                  the tools an agent manifest names
  warden mcp builtin:fs --dir .:/repo --http 127.0.0.1:8765
  warden mcp builtin:fs --skill ./skills.wasm    skills too, as prompts and resources

Each call runs under its component's grant: grants.toml (`warden grant`), the package \
manifest and the org policy, plus the grant flags given here, which apply to every served \
component. A refused call comes back as a tool result with isError set.")]
pub struct McpArgs {
    /// Tool sources to serve: `.wasm` files, `builtin:NAME`, installed
    /// packages NAME[@RANGE], MCP servers `server:NAME` (gateway mode: their
    /// tools as `NAME__TOOL`) or command tools `command:NAME`. Default:
    /// every installed tool package.
    #[arg(value_name = "COMPONENT", conflicts_with = "agent")]
    components: Vec<String>,

    /// Serve the tools an agent manifest (agent.toml) names.
    #[arg(long, value_name = "AGENT.TOML")]
    agent: Option<PathBuf>,

    /// Also serve the skills of a skill component (a `.wasm` file or an
    /// installed skill package NAME[@RANGE]) as MCP prompts and `skill://`
    /// resources; `{{name}}` in a skill's instructions is a prompt
    /// argument. Repeatable.
    #[arg(long, value_name = "COMPONENT")]
    skill: Vec<String>,

    /// Serve streamable HTTP at ADDR (e.g. 127.0.0.1:8765; port 0 picks a
    /// free one) instead of stdio. The URL is printed on stderr.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,

    /// Allow `--http` on an address other than loopback. There is no
    /// authentication: anyone who can reach it can call the tools under
    /// these grants.
    #[arg(long, requires = "http")]
    allow_remote: bool,

    /// How each call's audit record reaches the disk. `batched` (the
    /// default): written before the client gets its answer (a killed server
    /// loses no record of an answered call), synced within 5 ms, one sync
    /// for all records written meanwhile; a power loss can lose the last
    /// 5 ms. `every-record`: synced before the answer. An org policy with
    /// `[audit] sync = "every-record"` makes that the default and refuses
    /// `batched`.
    #[arg(long, value_enum)]
    audit_sync: Option<AuditSync>,

    /// How long a client has to answer an approval question (a grants.toml
    /// `ask` rule, put through elicitation) before the call is refused,
    /// e.g. 30s or 2m. Default 120s.
    #[arg(long, value_name = "DURATION")]
    approval_timeout: Option<String>,

    #[command(flatten)]
    grant: GrantArgs,

    #[command(flatten)]
    registry: RegistryArgs,
}

/// `--audit-sync`: how the audit log reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditSync {
    /// Written before the answer, synced in groups within 5 ms.
    Batched,
    /// Synced before the answer.
    EveryRecord,
}

impl McpArgs {
    /// Loads the components and serves them until the client disconnects
    /// (stdio) or the process is stopped (HTTP).
    pub async fn execute(self) -> anyhow::Result<ExitCode> {
        let address = match &self.http {
            Some(spec) => Some(listen_address(spec, self.allow_remote)?),
            None => None,
        };
        let which = match (&self.agent, self.components.is_empty()) {
            (Some(path), _) => Which::Agent(path.clone()),
            (None, true) => Which::Installed,
            (None, false) => Which::Named(self.components.clone()),
        };
        let registry = self.registry.open()?;
        let durability = match audit_sync::choose(&registry, self.audit_sync)? {
            AuditSync::Batched => warden_audit::Durability::Batched {
                window: std::time::Duration::from_millis(5),
            },
            AuditSync::EveryRecord => warden_audit::Durability::EveryRecord,
        };
        let approval_wait = match &self.approval_timeout {
            Some(text) => warden::grant::parse_duration(text)
                .with_context(|| format!("invalid --approval-timeout `{text}`"))?,
            None => approve::WAIT,
        };
        if approval_wait.is_zero() {
            bail!("invalid --approval-timeout: it must be greater than zero");
        }
        let server = ToolServer::load(
            registry,
            self.grant.clone(),
            &which,
            &self.skill,
            durability,
        )
        .await
        .context("cannot start the MCP server")?
        .with_approval_wait(approval_wait);
        let summary = server.summary();
        match address {
            None => serve_stdio(server, &summary).await?,
            Some(address) => serve_http(server, address, self.allow_remote, &summary).await?,
        }
        Ok(ExitCode::from(exit::OK))
    }
}

/// Parses `--http`: an `IP:PORT` or `NAME:PORT`; refuses a non-loopback
/// address unless `allow_remote`.
fn listen_address(spec: &str, allow_remote: bool) -> anyhow::Result<SocketAddr> {
    let address = match spec.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => spec
            .to_socket_addrs()
            .with_context(|| {
                format!("--http {spec}: expected an address with a port, e.g. 127.0.0.1:8765")
            })?
            .next()
            .with_context(|| format!("--http {spec}: the name resolves to no address"))?,
    };
    if !address.ip().is_loopback() && !allow_remote {
        bail!(
            "--http {spec}: {} is not a loopback address; the MCP server has no authentication, \
             so it listens on 127.0.0.1 or [::1] only (pass --allow-remote to listen on {} anyway)",
            address.ip(),
            address.ip()
        );
    }
    Ok(address)
}

async fn serve_stdio(server: ToolServer, summary: &str) -> anyhow::Result<()> {
    eprintln!("warden mcp: serving {summary} on stdio");
    let running = server
        .serve(stdio_pipes::stdio())
        .await
        .context("the MCP client did not complete the handshake on stdin/stdout")?;
    running
        .waiting()
        .await
        .context("the MCP stdio service stopped unexpectedly")?;
    Ok(())
}

async fn serve_http(
    server: ToolServer,
    address: SocketAddr,
    allow_remote: bool,
    summary: &str,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // No Nagle: a response goes out as headers, then an SSE chunk, then the
    // end of the stream; with Nagle each round trip waited for the client's
    // delayed ACK (~40 ms, measured by the suite's HTTP row).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let mut config = StreamableHttpServerConfig::default();
    if allow_remote {
        // Any Host header and Origin: the operator chose to expose it.
        config = config.disable_allowed_hosts().disable_allowed_origins();
    } else {
        // Loopback only, and no cross-site browser requests (DNS rebinding).
        config = config.with_allowed_origins([
            "http://localhost:*",
            "http://127.0.0.1:*",
            "http://[::1]:*",
        ]);
    }
    let service = StreamableHttpService::new(
        move || Ok(server.session()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service(HTTP_PATH, service);
    eprintln!("warden mcp: serving {summary} at http://{bound}{HTTP_PATH}");
    if allow_remote && !bound.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bound} with no authentication: anyone who can reach it can \
             call these tools under their grants"
        );
    }
    axum::serve(listener, router)
        .await
        .context("the MCP HTTP server stopped")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::listen_address;

    #[test]
    fn http_listens_on_loopback_unless_remote_is_allowed() {
        assert!(listen_address("127.0.0.1:0", false).is_ok());
        assert!(listen_address("[::1]:8765", false).is_ok());
        let err = listen_address("0.0.0.0:8765", false).expect_err("not loopback");
        assert!(err.to_string().contains("--allow-remote"), "{err}");
        assert!(listen_address("0.0.0.0:8765", true).is_ok());
        let err = listen_address("127.0.0.1", false).expect_err("no port");
        assert!(err.to_string().contains("with a port"), "{err:#}");
    }
}

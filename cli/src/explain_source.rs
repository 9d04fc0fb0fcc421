//! What `warden policy explain` adds for a tool source that is not a
//! component: the limits that apply to it (wall clock, output cap, and for
//! a subprocess its process limits and the kernel's confinement), which of
//! a component's limits do not, and what the org policy says about such
//! sources.

use warden::ToolSource;
use warden::confine::{KernelSupport, ProcessLimits};
use warden_policy::{Capability, Decision, EffectiveGrant, LimitKind, OrgPolicy};

/// Whether `decision` means anything for a source of this kind: memory,
/// fuel and stack bound WebAssembly components only.
pub fn applies(source: Option<&ToolSource>, decision: &Decision) -> bool {
    !matches!(
        (source, &decision.capability),
        (
            Some(ToolSource::McpServer(_) | ToolSource::Command(_)),
            Capability::Limit(LimitKind::Memory | LimitKind::Fuel | LimitKind::Stack, _),
        )
    )
}

/// The lines for `source` (nothing for a component).
pub fn lines(source: &ToolSource, grant: &EffectiveGrant, org: Option<&OrgPolicy>) -> Vec<String> {
    let remote = match source {
        ToolSource::Component(_) => return Vec::new(),
        ToolSource::McpServer(s) => s.declaration().url.is_some(),
        ToolSource::Command(_) => false,
    };
    let defaults = warden::Limits::default();
    let limits = grant.limits();
    let wall = limits
        .wall_clock_ms
        .map_or(defaults.timeout, std::time::Duration::from_millis);
    let output = limits.output_bytes.unwrap_or(defaults.max_output_bytes);
    let mut lines = vec![format!(
        "source   {} {} ({})",
        source.kind(),
        source.name(),
        source.origin()
    )];
    lines.push(format!(
        "applies  wall clock {:?} per call, output cap {} (longer output is cut, tail first)",
        wall,
        warden::error::human_bytes(output)
    ));
    if remote {
        lines.push(
            "applies  network: the URL's scheme, host and port must be granted; the address it \
             connects to is checked (loopback, private and link-local only when granted by IP); \
             granted secrets for its host are sent by warden"
                .into(),
        );
        if let ToolSource::McpServer(server) = source {
            for secret in &server.declaration().secrets {
                let granted = grant
                    .secrets()
                    .iter()
                    .filter(|g| warden_policy::rules::secret_name(g) == secret.name)
                    .map(String::as_str)
                    .collect::<Vec<_>>();
                lines.push(format!(
                    "needs    secret {} in the `{}` header: {}",
                    secret.name,
                    secret.header,
                    if granted.is_empty() {
                        "not granted (the server is refused until it is)".to_string()
                    } else {
                        format!("granted as {}", granted.join(", "))
                    }
                ));
            }
        }
        lines.push(
            "n/a      memory, fuel, stack, processes, kernel confinement: nothing runs locally"
                .into(),
        );
        lines.push(match org.and_then(OrgPolicy::remote_servers) {
            Some(rule) => format!("org      {}", rule.explain()),
            None => "org      the org policy does not limit remote MCP servers".into(),
        });
        return lines;
    }
    let process = ProcessLimits::default();
    lines.push(format!(
        "applies  processes: {} beyond those the user runs (RLIMIT_NPROC), files up to {}, \
         CPU up to the wall clock; its process group is killed at the limit",
        process.processes,
        warden::error::human_bytes(process.file_size)
    ));
    lines.push("n/a      memory, fuel, stack: they bound WebAssembly components".into());
    let kernel = KernelSupport::detect();
    lines.push(match kernel.landlock_abi {
        Some(abi) => format!(
            "confined Landlock ABI {abi}: files limited to the granted directories (and system \
             paths read-only); TCP ports {}; {}",
            if kernel.tcp {
                "limited to the granted ones"
            } else {
                "not confined by this kernel"
            },
            if kernel.scoped {
                "abstract sockets and signals scoped"
            } else {
                "abstract sockets and signals not scoped by this kernel"
            }
        ),
        None => "confined no: this kernel has no Landlock; only the environment, working \
                 directory, process group and rlimits apply"
            .into(),
    });
    lines.push(
        if org.is_some_and(OrgPolicy::requires_confinement) {
            "org      the org policy requires confinement: it does not start without Landlock"
        } else {
            "org      the org policy does not require confinement"
        }
        .into(),
    );
    lines
}

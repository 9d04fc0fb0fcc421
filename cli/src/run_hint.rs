//! `hint:` lines for a `warden run` that ended on a network denial. The
//! denial's own reason names no flags (a model reads it too); `warden run`
//! has no `--allow-host` (unlike `warden tool call`), so these say what it
//! offers instead: the endpoint it is given, and `warden grant`.

use warden::bindings::Capability;
use warden::bindings::planner::warden::plugin::chat::ModelError;
use warden::bindings::planner::warden::plugin::planning::RunError;

use super::run::Assembled;

/// The hints for a run that failed with `error`, if it was a network
/// denial (of the model provider, or reported by the planner).
pub(super) fn network_denial_hints(error: &RunError, assembled: &Assembled) -> Vec<String> {
    let denial = match error {
        RunError::Model(ModelError::Denied(d)) | RunError::Denied(d) => d,
        _ => return Vec::new(),
    };
    if denial.capability != Capability::Network {
        return Vec::new();
    }
    let provider = policy_target(assembled.model.name());
    let mut target = denial.target.clone();
    let mut hints = Vec::new();
    // A name that leads to loopback is reachable only by its address.
    if let Some(addr) = loopback_address_of(&target) {
        hints.push(format!(
            "`{target}` resolves to the loopback address {}: name the server by it, e.g. --endpoint http://{addr}/v1",
            addr.ip()
        ));
        target = addr.to_string();
    }
    let scheme = if is_loopback_target(&target) {
        "http"
    } else {
        "https"
    };
    hints.extend([
        "`warden run` has no --allow-host: it grants the model provider exactly the endpoint \
         it is given (--endpoint URL, WARDEN_MODEL_ENDPOINT, or [model] endpoint in agent.toml; \
         a loopback endpoint such as http://127.0.0.1:8080/v1 is granted as plain http)"
            .to_string(),
        format!(
            "to let {provider} reach {target} in every run: warden grant {provider} network \
             {scheme}://{target}"
        ),
    ]);
    hints
}

/// The loopback address the host name of `target` (`NAME:PORT`) resolves
/// to, if it is a name that does.
fn loopback_address_of(target: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let (host, _) = target.rsplit_once(':')?;
    if host.starts_with('[') || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    target
        .to_socket_addrs()
        .ok()?
        .find(|a| a.ip().is_loopback())
}

/// The name grants target a part run under `name` by.
fn policy_target(name: &str) -> String {
    warden::suggest::policy_name(name)
}

/// Whether `target` (`HOST:PORT`, `[v6]:PORT`) is on loopback.
fn is_loopback_target(target: &str) -> bool {
    let host = match target.rsplit_once(':') {
        Some((host, _)) => host,
        None => target,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_targets_are_recognised() {
        assert!(is_loopback_target("127.0.0.1:11434"));
        assert!(is_loopback_target("localhost:8080"));
        assert!(is_loopback_target("[::1]:1234"));
        assert!(!is_loopback_target("api.example.com:443"));
        assert!(!is_loopback_target("10.0.0.1:80"));
    }
}

//! Which model server `warden run` talks to, and the one network grant its
//! provider gets.
//!
//! - A named endpoint on loopback (`localhost`, `127.0.0.1`, `[::1]`) is
//!   granted as exactly that scheme, address and port.
//! - A named remote endpoint is granted as its scheme, host and port.
//! - With no endpoint named, the usual local servers are probed
//!   (`warden::agent::local_server`); the first that answers is used and
//!   named. There is no cloud default.
//!
//! On a local server with no model named, the model is the one it lists
//! when it lists exactly one.

use anyhow::{Context, bail};
use warden::agent::local_server::{
    LoopbackEndpoint, list_models, probe_local_servers, servers_to_probe,
};

/// The endpoint the provider is configured with.
pub struct ModelEndpoint {
    /// The base URL given to the provider (`WARDEN_MODEL_ENDPOINT`).
    pub base_url: String,
    /// The network grant: `scheme://host:port`.
    pub grant: String,
    /// `host:port`, as secrets and messages name it.
    pub host_port: String,
    /// The model to ask for, if one is named or the server lists only one.
    pub model: Option<String>,
    /// Whether the endpoint is on loopback (a local server, which needs no
    /// API key).
    pub local: bool,
}

/// Resolves the endpoint from what the user named (`None`: probe), saying
/// on stderr what was chosen unless `quiet`.
pub async fn resolve_endpoint(
    named: Option<String>,
    model: Option<String>,
    quiet: bool,
) -> anyhow::Result<ModelEndpoint> {
    tokio::task::spawn_blocking(move || resolve_blocking(named, model, quiet))
        .await
        .context("the endpoint resolution did not finish")?
}

fn resolve_blocking(
    named: Option<String>,
    model: Option<String>,
    quiet: bool,
) -> anyhow::Result<ModelEndpoint> {
    let Some(endpoint) = named else {
        let servers = servers_to_probe()?;
        let server = probe_local_servers(&servers)
            .context("no model endpoint was named and no local model server answered")?;
        if !quiet {
            eprintln!(
                "using {} at {} (found by probing; name another with --endpoint)",
                server.name, server.base_url
            );
        }
        let local =
            LoopbackEndpoint::of(&server.base_url).context("a probed server is not on loopback")?;
        let model = pick_model(model, &server.models, &server.base_url, quiet)?;
        return Ok(ModelEndpoint {
            host_port: local.addr.to_string(),
            grant: local.grant(),
            base_url: local.base_url,
            model,
            local: true,
        });
    };
    if let Some(local) = LoopbackEndpoint::of(&endpoint) {
        let model = match model {
            Some(m) => Some(m),
            None => match list_models(local.addr, &local.path) {
                Ok(models) => pick_model(None, &models, &local.base_url, quiet)?,
                // The server may not list models; it picks one itself.
                Err(_) => None,
            },
        };
        return Ok(ModelEndpoint {
            host_port: local.addr.to_string(),
            grant: local.grant(),
            base_url: local.base_url,
            model,
            local: true,
        });
    }
    let uri: http::Uri = endpoint
        .parse()
        .with_context(|| format!("the model endpoint `{endpoint}` is not a URL"))?;
    let scheme = uri.scheme_str().unwrap_or("https").to_string();
    let host = uri
        .host()
        .with_context(|| format!("the model endpoint `{endpoint}` names no host"))?
        .to_string();
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "http" { 80 } else { 443 });
    let host_port = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(ModelEndpoint {
        grant: format!("{scheme}://{host_port}"),
        host_port,
        base_url: endpoint,
        model,
        local: false,
    })
}

/// The model: the one named, else the only one listed; several listed and
/// none named is an error naming them.
fn pick_model(
    named: Option<String>,
    listed: &[String],
    base_url: &str,
    quiet: bool,
) -> anyhow::Result<Option<String>> {
    if named.is_some() {
        return Ok(named);
    }
    match listed {
        [] => Ok(None),
        [only] => {
            if !quiet {
                eprintln!("using model {only} (the only one {base_url} lists)");
            }
            Ok(Some(only.clone()))
        }
        several => bail!(
            "{base_url} lists {} models and none was named: {}\n\
             hint: pick one with --model NAME (or [model] name in agent.toml)",
            several.len(),
            several.join(", ")
        ),
    }
}

//! `hint:` lines: what the user can do about an error. The library's errors
//! carry the data (which package, which key); the CLI turns it into advice.

use warden::authorize::AuthorizeError;
use warden::bindings::Capability;
use warden::error::SecretGrantProblem;
use warden::{CallError, GrantError};
use warden_registry::error::{LoadError, StoreError};

/// The hints for `err`, one line each (without the `hint: ` prefix).
pub fn hints(err: &anyhow::Error) -> Vec<String> {
    let mut out = Vec::new();
    for cause in err.chain().map(crate::exit::unwrapped) {
        let load = cause.downcast_ref::<LoadError>().or_else(|| {
            cause.downcast_ref::<StoreError>().and_then(|e| match e {
                StoreError::Load(load) => Some(load.as_ref()),
                _ => None,
            })
        });
        if let Some(load) = load {
            out.extend(for_load(load));
            break;
        }
        if let Some(call) = cause.downcast_ref::<CallError>() {
            if let Some(hint) = for_call(call) {
                out.push(hint.into());
                break;
            }
            let denied = for_denial(call);
            if !denied.is_empty() {
                out.extend(denied);
                break;
            }
        }
        if let Some(hint) = cause.downcast_ref::<StoreError>().and_then(for_store) {
            out.push(hint.into());
            break;
        }
        match cause.downcast_ref::<AuthorizeError>() {
            Some(AuthorizeError::Refused { component, .. }) => {
                out.push(format!("see `warden policy explain {component}`"));
                break;
            }
            Some(AuthorizeError::NotApproved {
                component, answer, ..
            }) => {
                if answer == "unavailable" {
                    out.push(
                        "a grants.toml `ask` rule needs someone to answer: run the call in a \
                         terminal (stdin and stderr), or serve it with `warden mcp` to a client \
                         that supports elicitation"
                            .into(),
                    );
                }
                out.push(format!(
                    "to stop asking, change the rule's effect to \"allow\" or \"deny\" in \
                     grants.toml (see `warden policy explain {component}`)"
                ));
                break;
            }
            Some(AuthorizeError::OrgPolicy { .. }) => {
                out.push(
                    "an admin can replace it (`warden policy install`) or remove it \
                     (`warden policy remove`)"
                        .into(),
                );
                break;
            }
            _ => {}
        }
        if let Some(warden::agent::local_server::LocalServerError::NoneAnswered { .. }) =
            cause.downcast_ref()
        {
            out.push(
                "start a local server (e.g. `ollama serve`, or llama.cpp's `llama-server -m \
                 MODEL.gguf`), or name an endpoint: --endpoint URL, WARDEN_MODEL_ENDPOINT, or \
                 [model] endpoint in agent.toml"
                    .into(),
            );
            break;
        }
        let grant = cause.downcast_ref::<GrantError>().or_else(|| {
            cause
                .downcast_ref::<warden::authorize::AuthorizeError>()
                .and_then(warden::authorize::AuthorizeError::grant_error)
        });
        match grant {
            Some(GrantError::ReservedDir { home, .. }) => {
                out.push(format!(
                    "grant a directory that neither is inside nor contains {}; to keep warden's \
                     home somewhere else, set WARDEN_HOME (or pass --home)",
                    home.display()
                ));
                break;
            }
            Some(GrantError::InvalidSecret {
                spec,
                problem: SecretGrantProblem::NoHost { .. },
            }) => {
                out.push(format!(
                    "pass --secret {spec}@https://HOST[:PORT], naming the host it is sent to"
                ));
                break;
            }
            Some(GrantError::InvalidSecret {
                spec,
                problem: SecretGrantProblem::FileExposed { .. },
            }) => {
                out.push(format!("run `chmod 600 {spec}`"));
                break;
            }
            _ => {}
        }
    }
    out
}

/// The flag that raises the limit a call ran into.
fn for_call(err: &CallError) -> Option<&'static str> {
    Some(match err {
        CallError::Timeout { .. } => "raise the limit with --timeout (e.g. --timeout 60s)",
        CallError::OutOfMemory { .. } => "raise the limit with --memory (e.g. --memory 512MiB)",
        CallError::OutOfFuel { .. } => "raise the budget with --fuel",
        CallError::OutputTooLarge { .. } => {
            "raise the limit with --max-output (e.g. --max-output 4MiB)"
        }
        _ => return None,
    })
}

/// How to grant what a call was denied: the flag for this call and the
/// `warden grant` rule for every call. The denial's reason itself names no
/// flags (models and library users read it too).
fn for_denial(err: &CallError) -> Vec<String> {
    let (Some(denial), Some(component)) = (err.denial(), denied_component(err)) else {
        return Vec::new();
    };
    let target = &denial.target;
    let subject = warden::suggest::policy_name(component);
    match denial.capability {
        Capability::Network => vec![format!(
            "to allow it for this call pass --allow-host {target}; for every call: warden grant \
             {subject} network {target}"
        )],
        Capability::Filesystem => vec![format!(
            "grant a directory for this call with --dir HOST_DIR[:GUEST_DIR][:ro|rw], or for \
             every call with `warden grant {subject} dir HOST_DIR[:GUEST_DIR][:ro|rw]`"
        )],
        Capability::Environment => vec![format!(
            "pass --env {target} for this call; for every call: warden grant {subject} env {target}"
        )],
        // A server's declared secret: the target is `NAME@ORIGIN`.
        Capability::Secret if target.contains('@') => vec![format!(
            "pass --secret {target} for this call (its value from the environment or the secrets \
             file); for every call: warden grant {subject} secret {target}"
        )],
        Capability::Secret | Capability::Component => Vec::new(),
    }
}

fn denied_component(err: &CallError) -> Option<&str> {
    match err {
        CallError::Denied { component, .. } | CallError::Tool { component, .. } => Some(component),
        _ => None,
    }
}

/// What to do about a store error: the flag that overrides an install refusal
/// the user may mean to override, or the command that repairs the store.
fn for_store(err: &StoreError) -> Option<&'static str> {
    Some(match err {
        StoreError::Downgrade { .. } => "pass --allow-downgrade if you mean it",
        StoreError::NoGrant { .. } | StoreError::NeedsGrant { .. } => {
            "review what it asks for and pass --yes to grant it"
        }
        StoreError::Corrupt { path, .. } if path.ends_with("index.json") => {
            "run `warden verify --repair` to rebuild the index from the signed packages"
        }
        _ => return None,
    })
}

fn for_load(err: &LoadError) -> Vec<String> {
    let name = err
        .package()
        .split_once('@')
        .map_or(err.package(), |(name, _)| name);
    match err {
        LoadError::Untrusted { key, namespace, .. } => vec![
            format!(
                "the key {key} is not in the trust store for `{namespace}` (see `warden trust \
                 list`); packages it signed are refused until it is trusted again"
            ),
            format!("if you trust this publisher, run `warden trust add {namespace} {key}`"),
        ],
        LoadError::NameMismatch { .. }
        | LoadError::KindMismatch { .. }
        | LoadError::ComponentMismatch { .. }
        | LoadError::PublisherMismatch { .. } => vec![
            "index.json is only a cache of what is installed; `warden verify` lists every entry \
             that does not match its signed package"
                .into(),
            format!("reinstall `{name}` from a source you trust to restore its entry"),
        ],
        LoadError::Unreadable { .. }
        | LoadError::PackageFileChanged { .. }
        | LoadError::Invalid { .. } => vec![format!(
            "the stored package file of `{name}` is damaged; reinstall it from a source you trust"
        )],
    }
}

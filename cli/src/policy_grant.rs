//! The CLI side of the *authorize* step: this call's flags become the
//! library's [`CallGrants`], [`warden::authorize::authorize`] decides, and
//! its notes are printed (with the hints a user needs) on stderr.

use std::sync::Arc;
use warden::authorize::{
    Asking, AuthorizeError, AuthorizeNote, Authorized, CallGrants, DeniedGrants, PolicyLayers,
    authorize, authorize_asking,
};

use warden::authorize_memo::AuthorizeMemo;
use warden_registry::store::Registry;

pub use warden::authorize::Subject;

use super::grant_args::{FlagGrants, GrantArgs};

/// The grant of one call, and how it came about.
pub type Resolved = Authorized;

/// What to do with a flag the policy denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeniedFlags {
    /// Refuse the call: the user asked for it by hand.
    Refuse,
    /// Go on without it, with a warning: the grant was made on the user's
    /// behalf (e.g. the workspace for every tool of an agent).
    Warn,
}

/// The policy layers of a registry: the user's grants and the verified org
/// policy.
pub fn layers(
    registry: &Registry,
) -> anyhow::Result<(warden_policy::GrantsFile, Option<warden_policy::OrgPolicy>)> {
    let layers = PolicyLayers::load(registry).map_err(with_hint)?;
    Ok((layers.user, layers.org))
}

/// The effective grant of `subject` for one call with `flags`.
pub fn resolve(
    registry: &Registry,
    subject: &Subject,
    flags: &GrantArgs,
    denied: DeniedFlags,
) -> anyhow::Result<Resolved> {
    let layers = PolicyLayers::load(registry).map_err(with_hint)?;
    resolve_under(&layers, registry, subject, flags, denied)
}

/// [`resolve`] under policy layers the caller already has (a long-running
/// server keeps them in a [`warden::policy_cache::PolicyCache`]).
pub fn resolve_under(
    layers: &PolicyLayers,
    registry: &Registry,
    subject: &Subject,
    flags: &GrantArgs,
    denied: DeniedFlags,
) -> anyhow::Result<Resolved> {
    let (call, denied) = call_grants(flags, denied)?;
    let authorized = authorize(layers, subject, &call, denied, registry.root(), || {
        flags.stored_secrets()
    })
    .map_err(with_hint)?;
    print_notes(&authorized, subject);
    Ok(authorized)
}

/// [`resolve_under`], putting what a grants.toml `ask` rule names to the
/// user through `asking` first (the question and the answer are recorded
/// in the audit log by the library).
pub async fn resolve_asking(
    layers: &PolicyLayers,
    registry: &Registry,
    subject: &Subject,
    flags: &GrantArgs,
    denied: DeniedFlags,
    asking: Asking<'_>,
) -> anyhow::Result<Resolved> {
    let (call, denied) = call_grants(flags, denied)?;
    let authorized = authorize_asking(
        layers,
        subject,
        &call,
        denied,
        registry.root(),
        || flags.stored_secrets(),
        asking,
    )
    .await
    .map_err(with_hint)?;
    print_notes(&authorized, subject);
    Ok(authorized)
}

/// The flags of a long-running server as call grants, parsed once (a
/// `--dir` is canonicalised when parsed: doing it per call cost a
/// `readlink` per path component). Flags naming secrets are parsed again
/// for every call, so a changed secrets file applies without a restart.
pub struct ParsedFlags {
    flags: GrantArgs,
    once: Option<(CallGrants, DeniedGrants)>,
    denied: DeniedFlags,
}

impl ParsedFlags {
    /// Parses `flags` (checking them now, whatever they name).
    pub fn parse(flags: &GrantArgs, denied: DeniedFlags) -> anyhow::Result<ParsedFlags> {
        let parsed = call_grants(flags, denied)?;
        Ok(ParsedFlags {
            flags: flags.clone(),
            once: flags.secrets.is_empty().then_some(parsed),
            denied,
        })
    }

    /// The call grants for one call.
    fn call_grants(&self) -> anyhow::Result<std::borrow::Cow<'_, (CallGrants, DeniedGrants)>> {
        Ok(match &self.once {
            Some(parsed) => std::borrow::Cow::Borrowed(parsed),
            None => std::borrow::Cow::Owned(call_grants(&self.flags, self.denied)?),
        })
    }
}

/// [`resolve_asking`] for a long-running server: flags parsed once
/// ([`ParsedFlags`]), and the authorization reused from `memo` while
/// nothing it depends on changed ([`AuthorizeMemo`]). Notes are printed
/// when the authorization is made, not again for each call that reuses it.
pub async fn resolve_parsed(
    layers: &Arc<PolicyLayers>,
    registry: &Registry,
    subject: &Subject,
    parsed: &ParsedFlags,
    memo: &AuthorizeMemo,
    asking: Asking<'_>,
) -> anyhow::Result<Arc<Resolved>> {
    let grants = parsed.call_grants()?;
    let (call, denied) = &*grants;
    let flags = &parsed.flags;
    let memoized = memo
        .authorize_asking(
            layers,
            subject,
            call,
            *denied,
            registry.root(),
            || flags.stored_secrets(),
            asking,
        )
        .await
        .map_err(with_hint)?;
    if memoized.fresh {
        print_notes(&memoized.authorized, subject);
    }
    Ok(memoized.authorized)
}

/// This call's flags as the library's call grants.
fn call_grants(
    flags: &GrantArgs,
    denied: DeniedFlags,
) -> anyhow::Result<(CallGrants, DeniedGrants)> {
    let FlagGrants {
        capabilities,
        env_values,
        secrets,
    } = flags.flag_grants()?;
    let call = CallGrants {
        capabilities,
        env_values,
        secrets,
    };
    let denied = match denied {
        DeniedFlags::Refuse => DeniedGrants::Refuse,
        DeniedFlags::Warn => DeniedGrants::Note,
    };
    Ok((call, denied))
}

/// Prints the notes of the authorize step, each with what to do about it.
fn print_notes(authorized: &Authorized, subject: &Subject) {
    for note in &authorized.notes {
        print_note(note, subject);
    }
}

/// Prints one note of the authorize step, with what to do about it.
fn print_note(note: &AuthorizeNote, subject: &Subject) {
    let component = &subject.id.name;
    match note {
        AuthorizeNote::Narrowed { .. } => eprintln!("note: {note}"),
        AuthorizeNote::NotGiven { .. } => {
            eprintln!("warning: {note} (see `warden policy explain {component}`)")
        }
        AuthorizeNote::SecretWithoutHost { name, .. } => eprintln!(
            "warning: {note}\nhint: `warden grant {component} secret {name}@https://api.example.com`"
        ),
        _ => eprintln!("warning: {note}"),
    }
}

/// An authorize error as the CLI reports it (its hints come from
/// [`crate::hint::hints`]).
fn with_hint(e: AuthorizeError) -> anyhow::Error {
    anyhow::Error::new(e)
}

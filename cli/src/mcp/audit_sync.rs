//! `--audit-sync` under the org policy: an org policy with `[audit] sync =
//! "every-record"` makes `every-record` the default and refuses `batched`.

use anyhow::{Context, bail};
use warden_registry::store::Registry;

use super::AuditSync;

/// The durability to serve with: `flag` if given and allowed, else what
/// the org policy requires, else `batched`.
pub fn choose(registry: &Registry, flag: Option<AuditSync>) -> anyhow::Result<AuditSync> {
    let required = registry
        .org_policy()
        .context("cannot read the org policy")?
        .is_some_and(|p| p.requires_every_record_sync());
    match (flag, required) {
        (Some(AuditSync::Batched), true) => bail!(
            "the org policy requires every audit record to be synced before its call is \
             answered, so `--audit-sync batched` is refused: drop `--audit-sync` or pass \
             `--audit-sync every-record`"
        ),
        (Some(flag), _) => Ok(flag),
        (None, true) => Ok(AuditSync::EveryRecord),
        (None, false) => Ok(AuditSync::Batched),
    }
}

//! The host side of the `context` import (`wit/context.wit`): a planner's
//! calls go to the [`ContextAccess`] its run's broker holds, which checks
//! the planner's context grant under the org policy and audits every write.
//! A run without context access answers every call with a typed denial.

use std::time::Duration;

use warden_agent::{ContextEntry, EntryKind};

use super::context::{ContextAccess, ContextFailure};
use crate::bindings::planner_context::warden::plugin::context::{
    self as wit, ContextError, Entry, EntryKind as WitKind,
};
use crate::bindings::{Capability, Denial};
use crate::sandbox::SandboxState;

fn entry_to_wit(e: ContextEntry) -> Entry {
    Entry {
        namespace: e.namespace,
        key: e.key,
        kind: match e.kind {
            EntryKind::Note => WitKind::Note,
            EntryKind::Fact => WitKind::Fact,
            EntryKind::Kv => WitKind::Kv,
        },
        value: e.value,
        updated_ms: u64::try_from(e.updated.as_millisecond()).unwrap_or(0),
        expires_ms: e
            .expires
            .map(|t| u64::try_from(t.as_millisecond()).unwrap_or(0)),
    }
}

fn error_to_wit(f: ContextFailure) -> ContextError {
    match f {
        ContextFailure::Denied(d) => ContextError::Denied(d),
        ContextFailure::Full(m) => ContextError::Full(m),
        ContextFailure::TooLarge(m) => ContextError::TooLarge(m),
        ContextFailure::NotFound(m) => ContextError::NotFound(m),
        ContextFailure::Invalid(m) => ContextError::Invalid(m),
        ContextFailure::Failed(m) => ContextError::Failed(m),
    }
}

impl SandboxState {
    /// The context access of the planner's run, or the denial it gets
    /// when the run has none (recorded like any denial).
    fn context_access(
        &self,
        namespace: &str,
    ) -> wasmtime::Result<Result<ContextAccess, ContextError>> {
        let broker = self.broker.clone().ok_or_else(|| {
            wasmtime::Error::msg(format!(
                "`{}` called the context interface, but it is not running as a planner",
                self.component()
            ))
        })?;
        Ok(match broker.context() {
            Some(access) => Ok(access.clone()),
            None => {
                let denial = Denial {
                    capability: Capability::Component,
                    target: format!("context:{namespace}"),
                    reason: format!(
                        "`{}` is not granted the shared context in this run",
                        self.component()
                    ),
                };
                broker.record_denial(&denial);
                Err(ContextError::Denied(denial))
            }
        })
    }
}

impl wit::Host for SandboxState {
    fn get(
        &mut self,
        namespace: String,
        key: String,
    ) -> wasmtime::Result<Result<Entry, ContextError>> {
        Ok(self.context_access(&namespace)?.and_then(|a| {
            a.require(&namespace, &key)
                .map(entry_to_wit)
                .map_err(error_to_wit)
        }))
    }

    fn put(
        &mut self,
        namespace: String,
        key: String,
        kind: WitKind,
        value: String,
        ttl_ms: Option<u64>,
    ) -> wasmtime::Result<Result<(), ContextError>> {
        let kind = match kind {
            WitKind::Note => EntryKind::Note,
            WitKind::Fact => EntryKind::Fact,
            WitKind::Kv => EntryKind::Kv,
        };
        Ok(self.context_access(&namespace)?.and_then(|a| {
            a.put(
                &namespace,
                &key,
                kind,
                &value,
                ttl_ms.map(Duration::from_millis),
            )
            .map(|_| ())
            .map_err(error_to_wit)
        }))
    }

    fn delete(
        &mut self,
        namespace: String,
        key: String,
    ) -> wasmtime::Result<Result<(), ContextError>> {
        Ok(self
            .context_access(&namespace)?
            .and_then(|a| a.remove(&namespace, &key).map_err(error_to_wit)))
    }

    fn list_entries(
        &mut self,
        namespace: String,
    ) -> wasmtime::Result<Result<Vec<Entry>, ContextError>> {
        Ok(self.context_access(&namespace)?.and_then(|a| {
            a.list(&namespace)
                .map(|entries| entries.into_iter().map(entry_to_wit).collect())
                .map_err(error_to_wit)
        }))
    }
}

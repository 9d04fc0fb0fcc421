//! The host side of the `context` import (`wit/context.wit`): a planner's
//! calls go to its run's broker ([`super::Broker::context_call`]), which
//! checks the planner's context grant under the org policy, audits every
//! write, records the call and carries the data classes of what it read.
//! A run without context access answers every call with a typed denial.

use warden_agent::{ContextEntry, EntryKind};

use super::context::ContextFailure;
use super::context_call::ContextCall;
use crate::bindings::planner_context::warden::plugin::context::{
    self as wit, ContextError, Entry, EntryKind as WitKind,
};
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
    /// Hands `call` to the broker of the planner's run (which checks the
    /// grant, records the call and, in a replay, answers it from the
    /// recording).
    fn context_call(
        &self,
        call: ContextCall,
    ) -> wasmtime::Result<Result<Vec<Entry>, ContextError>> {
        let broker = self.broker.clone().ok_or_else(|| {
            wasmtime::Error::msg(format!(
                "`{}` called the context interface, but it is not running as a planner",
                self.component()
            ))
        })?;
        Ok(broker
            .context_call(self.component(), call)?
            .map(|entries| entries.into_iter().map(entry_to_wit).collect())
            .map_err(error_to_wit))
    }
}

fn one(entries: Vec<Entry>) -> Result<Entry, ContextError> {
    entries
        .into_iter()
        .next()
        .ok_or_else(|| ContextError::Failed("the host answered `get` with no entry".into()))
}

impl wit::Host for SandboxState {
    fn get(
        &mut self,
        namespace: String,
        key: String,
    ) -> wasmtime::Result<Result<Entry, ContextError>> {
        Ok(self
            .context_call(ContextCall::Get { namespace, key })?
            .and_then(one))
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
        Ok(self
            .context_call(ContextCall::Put {
                namespace,
                key,
                kind,
                value,
                ttl_ms,
            })?
            .map(|_| ()))
    }

    fn delete(
        &mut self,
        namespace: String,
        key: String,
    ) -> wasmtime::Result<Result<(), ContextError>> {
        Ok(self
            .context_call(ContextCall::Delete { namespace, key })?
            .map(|_| ()))
    }

    fn list_entries(
        &mut self,
        namespace: String,
    ) -> wasmtime::Result<Result<Vec<Entry>, ContextError>> {
        self.context_call(ContextCall::List { namespace })
    }
}

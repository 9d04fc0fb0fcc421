//! One sandboxed run, for every world: a fresh store built from the grant
//! with every limit armed, the guest's work under the wall clock, and every
//! way it can end classified into a [`CallError`]. Tool calls and lists,
//! model completions, planner runs and skill lists all go through
//! [`Runtime::run_sandboxed`]; what differs between them (which export to
//! instantiate and call, what to do with the result) is the `work` closure.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::call::{CallStats, Stage, fuel_used, timeout};
use crate::engine::Runtime;
use crate::error::CallError;
use crate::grant::Grant;
use crate::sandbox::SandboxState;

/// What a guest's work returns: its value, or the engine error and the
/// stage it came from.
pub(crate) type WorkResult<T> = Result<T, (Stage, wasmtime::Error)>;

/// The guest's work on a store (instantiate, call an export), handing the
/// store back with the result. `'c` is what the work borrows from its
/// caller (the component, the arguments).
pub(crate) type Work<'c, T> =
    Pin<Box<dyn Future<Output = (Store<SandboxState>, WorkResult<T>)> + Send + 'c>>;

/// The work of a run that instantiates `$pre` and makes one call: the
/// closure for [`Runtime::run_sandboxed`]. `$instance` and `$store` name
/// the instance and the store inside `$call`, an expression that calls an
/// export (`$instance.warden_plugin_tools().call_list_tools(&mut $store)`).
macro_rules! instantiate_and_call {
    ($pre:expr, |$instance:ident, $store:ident| $call:expr) => {
        |mut $store| {
            Box::pin(async move {
                let result = async {
                    let $instance = $pre
                        .instantiate_async(&mut $store)
                        .await
                        .map_err(|e| (crate::call::Stage::Instantiate, e))?;
                    $call.await.map_err(|e| (crate::call::Stage::Run, e))
                }
                .await;
                ($store, result)
            })
        }
    };
}
pub(crate) use instantiate_and_call;

/// A run that finished: the value, and the store to read what it used.
pub(crate) struct Finished<T> {
    /// What the work returned.
    pub(crate) value: T,
    /// The store, for denials, log and stats.
    pub(crate) store: Store<SandboxState>,
    /// Wall-clock time of the work.
    pub(crate) duration: Duration,
}

impl<T> Finished<T> {
    /// What the run used.
    pub(crate) fn stats(&self, grant: &Grant) -> CallStats {
        CallStats {
            duration: self.duration,
            fuel_used: fuel_used(&self.store, grant.limits.fuel),
            peak_memory_bytes: self.store.data().limiter.peak(),
        }
    }
}

impl Runtime {
    /// Runs `work` for component `name` in a fresh store built from `grant`
    /// (after `setup` has attached anything else the store's host side
    /// needs, such as a planner's broker), under the grant's wall clock.
    /// If the wall clock runs out, the work (and the store in it) is
    /// dropped there and then.
    pub(crate) async fn run_sandboxed<'c, T, S, W>(
        &self,
        name: &Arc<str>,
        grant: &Grant,
        setup: S,
        work: W,
    ) -> Result<Finished<T>, CallError>
    where
        S: FnOnce(&mut SandboxState),
        W: FnOnce(Store<SandboxState>) -> Work<'c, T>,
    {
        let mut store = self.new_store(name, grant)?;
        setup(store.data_mut());
        let started = Instant::now();
        let outcome = tokio::time::timeout(grant.limits.timeout, work(store)).await;
        let duration = started.elapsed();
        match outcome {
            Err(_elapsed) => Err(timeout(name, grant)),
            Ok((store, Err((stage, e)))) => Err(self.classify(name, grant, &store, stage, e)),
            Ok((store, Ok(value))) => Ok(Finished {
                value,
                store,
                duration,
            }),
        }
    }
}

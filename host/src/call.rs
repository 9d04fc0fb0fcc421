//! Calling a tool: a fresh store per call, built from the grant, with every
//! limit armed, and every way it can end mapped to a typed result.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime::{Store, Trap, UpdateDeadline, WasmBacktrace};

use crate::admission::Ticket;
use crate::bindings::{ToolError, ToolSpec};
use crate::bounds::{bound_denial, bound_tool_error};
use crate::component::{Pre, ToolComponent};
use crate::engine::Runtime;
use crate::error::CallError;
use crate::grant::Grant;
use crate::guest_log::CapturedLog;
use crate::limiter::MemoryLimitExceeded;
use crate::record::{CallRecord, CancelGuard};
use crate::sandbox::SandboxState;
use crate::sandboxed::{Finished, instantiate_and_call};
use crate::secret::Redactor;
use crate::tool_result::{GuestResult, ToolMeta};
use warden_core::Digest;

/// What a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Wall-clock time from instantiation to result.
    #[serde(serialize_with = "as_millis")]
    pub duration: Duration,
    /// CPU fuel consumed.
    pub fuel_used: u64,
    /// Peak linear memory, in bytes.
    pub peak_memory_bytes: u64,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The result of a successful tool call.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    /// The tool's output as one JSON value: a 0.1.0 tool's output, parsed;
    /// for a 0.2.0 tool its structured content, else its one text block as
    /// a string, else its blocks as JSON.
    pub output: serde_json::Value,
    /// The result's blocks (a 0.1.0 tool's output is one text block).
    pub content: Vec<crate::tool_result::Content>,
    /// The structured content (a JSON object), if any.
    pub structured: Option<serde_json::Value>,
    /// What the guest logged or printed.
    pub log: CapturedLog,
    /// What the call used.
    pub stats: CallStats,
    /// What the host refused during the call although the tool went on to
    /// succeed (e.g. a name lookup outside the grant the guest recovered
    /// from): the refusal still happened and is reported.
    #[serde(skip)]
    pub denials: Vec<crate::bindings::Denial>,
    /// What the call used of its grant (directories, hosts, environment,
    /// secrets).
    #[serde(skip)]
    pub used: crate::usage::Usage,
}

/// The tools a component provides.
#[derive(Debug, Clone)]
pub struct ToolList {
    /// The specs, in the component's order.
    pub tools: Vec<ToolSpec>,
    /// What each tool declares beyond its spec (0.2.0), in the same order.
    pub meta: Vec<crate::tool_result::ToolMeta>,
    /// What the guest logged or printed while listing.
    pub log: CapturedLog,
}

/// Which stage of a call an engine error came from.
pub(crate) enum Stage {
    Instantiate,
    Run,
}

/// Runs one export of a tool component in a fresh sandbox, on whichever
/// version of the tool world (`Pre::V1`, `Pre::V2`) it was built against:
/// the call is written once, and `v1` / `v2` turn each version's
/// [`Finished`] run into one common value. Store creation, limits, timeout
/// and outcome classification are [`Runtime::run_sandboxed`]'s.
macro_rules! on_tool_world {
    (
        $runtime:expr, $component:expr, $grant:expr, $setup:expr,
        |$instance:ident, $store:ident| $call:expr,
        v1: $v1:expr,
        v2: $v2:expr $(,)?
    ) => {{
        // The same call on each version's pre-instantiated component.
        macro_rules! run_pre {
            ($pre:ident) => {
                $runtime
                    .run_sandboxed(
                        &$component.name,
                        $grant,
                        $setup,
                        instantiate_and_call!($pre, |$instance, $store| $call),
                    )
                    .await?
            };
        }
        match &$component.pre {
            Pre::V1(pre) => ($v1)(run_pre!(pre)),
            Pre::V2(pre) => ($v2)(run_pre!(pre)),
        }
    }};
}

impl Runtime {
    /// Lists the tools `component` provides, running it under `grant`.
    pub async fn list_tools(
        &self,
        component: &ToolComponent,
        grant: &Grant,
    ) -> Result<ToolList, CallError> {
        let (tools, meta, store) = on_tool_world!(
            self,
            component,
            grant,
            |_| {},
            |tool, store| tool.warden_plugin_tools().call_list_tools(&mut store),
            v1: |run: Finished<Vec<ToolSpec>>| {
                let meta = vec![ToolMeta::default(); run.value.len()];
                (run.value, meta, run.store)
            },
            v2: |run: Finished<Vec<_>>| {
                let (tools, meta) = run
                    .value
                    .into_iter()
                    .map(crate::tool_result::split_spec)
                    .unzip();
                (tools, meta, run.store)
            },
        );
        // Bounded first, by lengths alone: nothing is copied or parsed
        // before the list is known to be of a sane size.
        crate::bounds::check_specs(&component.name, &tools)?;
        crate::bounds::check_meta(&component.name, &tools, &meta)?;
        validate_specs(component, &tools)?;
        validate_meta(component, &tools, &meta)?;
        Ok(ToolList {
            tools,
            meta,
            log: store.data().log.finish(),
        })
    }

    /// Calls tool `tool` of `component` with the JSON `input`, under `grant`.
    /// Secret values granted to it are redacted from everything reported.
    ///
    /// The call is recorded in the runtime's audit sink however it ends —
    /// also when the returned future is dropped before it finishes, even
    /// before its first poll (a client that cancels at once): the record
    /// then says `cancelled`.
    pub fn call_tool<'a>(
        &'a self,
        component: &'a ToolComponent,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
    ) -> impl std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a {
        self.call_tool_reporting(component, tool, input, grant, None)
    }

    /// [`Runtime::call_tool`], with the progress a 0.2.0 tool reports sent
    /// to `progress` while it runs (checked and bounded, see
    /// [`crate::progress`]).
    pub fn call_tool_reporting<'a>(
        &'a self,
        component: &'a ToolComponent,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
        progress: Option<crate::progress::ProgressSender>,
    ) -> impl std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a {
        self.recorded(
            &component.name,
            &component.digest,
            tool,
            input,
            grant,
            self.call_tool_unredacted(component, tool, input, grant, progress),
        )
    }

    /// The record step around `run`, the call of `tool` of the source named
    /// `name`: armed at once (a future dropped before its first poll is
    /// recorded as `cancelled`), secrets redacted from the result, and the
    /// record written however the call ends. Every kind of tool source
    /// calls through here ([`Runtime::call_source`]).
    pub(crate) fn recorded<'a>(
        &'a self,
        name: &'a str,
        digest: &'a Digest,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
        run: impl std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a,
    ) -> impl std::future::Future<Output = Result<CallReport, CallError>> + Send + 'a {
        // Armed now, not at the first poll.
        let guard = self.cancel_guard_of(name, digest, tool, input, grant);
        async move {
            let redactor = Redactor::new(&grant.secrets);
            let result = run.await.map_err(|e| redact_error(e, &redactor));
            let duration = guard.started().elapsed();
            guard.finish();
            self.record_call(name, digest, tool, input, grant, &result, duration);
            result
        }
    }

    /// Records the tool call as `cancelled` if it is dropped unfinished.
    pub(crate) fn cancel_guard<'a>(
        &'a self,
        component: &'a ToolComponent,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
    ) -> CancelGuard<'a> {
        self.cancel_guard_of(&component.name, &component.digest, tool, input, grant)
    }

    /// Records the call of `tool` of the source `name` as `cancelled` if it
    /// is dropped unfinished.
    fn cancel_guard_of<'a>(
        &'a self,
        name: &'a str,
        digest: &'a Digest,
        tool: &'a str,
        input: &'a str,
        grant: &'a Grant,
    ) -> CancelGuard<'a> {
        CancelGuard::new(
            &self.audit,
            CallRecord {
                component: name,
                digest,
                function: tool,
                arguments: input,
                outcome: "cancelled",
                duration: std::time::Duration::ZERO,
                stats: None,
                denial: None,
                secrets: grant.secret_values(),
                used: None,
            },
        )
    }

    /// Writes the audit record of one tool call (fresh or on a
    /// [`ToolInstance`](crate::ToolInstance)).
    pub(crate) fn record_tool_call(
        &self,
        component: &ToolComponent,
        tool: &str,
        input: &str,
        grant: &Grant,
        result: &Result<CallReport, CallError>,
        duration: std::time::Duration,
    ) {
        self.record_call(
            &component.name,
            &component.digest,
            tool,
            input,
            grant,
            result,
            duration,
        );
    }

    /// Writes the audit record of one call of `tool` of the source `name`.
    #[allow(clippy::too_many_arguments)]
    fn record_call(
        &self,
        name: &str,
        digest: &Digest,
        tool: &str,
        input: &str,
        grant: &Grant,
        result: &Result<CallReport, CallError>,
        duration: std::time::Duration,
    ) {
        self.audit.record(&CallRecord {
            component: name,
            digest,
            function: tool,
            arguments: input,
            outcome: match result {
                Ok(_) => "ok",
                Err(e) => e.kind(),
            },
            duration,
            // Fuel and memory are measured in a store only.
            stats: result
                .as_ref()
                .ok()
                .map(|r| &r.stats)
                .filter(|s| s.fuel_used > 0 || s.peak_memory_bytes > 0),
            denial: result.as_ref().err().and_then(CallError::denial),
            secrets: grant.secret_values(),
            used: result.as_ref().ok().map(|r| &r.used),
        });
    }

    async fn call_tool_unredacted(
        &self,
        component: &ToolComponent,
        tool: &str,
        input: &str,
        grant: &Grant,
        progress: Option<crate::progress::ProgressSender>,
    ) -> Result<CallReport, CallError> {
        let (tool, input) = (tool.to_string(), input.to_string());
        let _admitted = self.admit(component, grant).await?;
        let (name, args) = (&tool, &input);
        // Progress is an import of 0.2.0 only; a 0.1.0 guest never reports.
        let setup = |state: &mut SandboxState| {
            state.progress = progress.map(|sender| {
                crate::progress::ProgressSink::new(sender, Redactor::new(&grant.secrets))
            });
        };
        let (result, store, duration) = on_tool_world!(
            self,
            component,
            grant,
            setup,
            |instance, store| instance
                .warden_plugin_tools()
                .call_call(&mut store, name, args),
            v1: |run: Finished<Result<_, _>>| {
                (run.value.map(GuestResult::V1), run.store, run.duration)
            },
            v2: |run: Finished<Result<_, _>>| {
                let result = run.value.map(GuestResult::V2).map_err(ToolError::from);
                (result, run.store, run.duration)
            },
        );
        finish(component, grant, tool, &store, result, duration)
    }

    /// Admits an instance of `component` under `grant`'s `instances` and
    /// `calls-per-minute` limits, then waits (at most the grant's wall-clock
    /// limit) for a pool slot. The instance's own wall clock starts once it
    /// has one; dropping the pair frees both.
    pub(crate) async fn admit(
        &self,
        component: &ToolComponent,
        grant: &Grant,
    ) -> Result<(Ticket, OwnedSemaphorePermit), CallError> {
        let ticket = component.admission.admit(&component.name, &grant.limits)?;
        let slot = tokio::time::timeout(
            grant.limits.timeout,
            self.tool_slots.clone().acquire_owned(),
        )
        .await
        .map_err(|_| timeout(&component.name, grant))?
        .map_err(|_| CallError::Instantiate {
            component: component.name.to_string(),
            reason: "the runtime is shutting down".into(),
        })?;
        Ok((ticket, slot))
    }

    /// A store for one call, with every limit from `grant` armed.
    pub(crate) fn new_store(
        &self,
        component: &Arc<str>,
        grant: &Grant,
    ) -> Result<Store<SandboxState>, CallError> {
        let state = SandboxState::new(component.clone(), grant)?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        self.refuel(&mut store, component, grant)?;
        arm_deadline(&mut store, grant.limits.timeout);
        Ok(store)
    }
}

impl Runtime {
    /// Gives `store` the grant's whole fuel budget (when the engine meters
    /// fuel).
    pub(crate) fn refuel(
        &self,
        store: &mut Store<SandboxState>,
        component: &str,
        grant: &Grant,
    ) -> Result<(), CallError> {
        if !self.config.fuel {
            return Ok(());
        }
        store
            .set_fuel(grant.limits.fuel)
            .map_err(|e| CallError::Instantiate {
                component: component.to_string(),
                reason: format!("cannot set the fuel budget: {e}"),
            })
    }
}

/// The fuel `store` used of `budget` (0 when the engine meters none).
pub(crate) fn fuel_used(store: &Store<SandboxState>, budget: u64) -> u64 {
    store
        .get_fuel()
        .map_or(0, |left| budget.saturating_sub(left))
}

/// Arms `store`'s wall clock: `limit` from now. The deadline is checked at
/// every epoch tick; in between the guest yields to the executor, so a
/// spinning guest never starves other calls.
pub(crate) fn arm_deadline(store: &mut Store<SandboxState>, limit: Duration) {
    let deadline = Instant::now() + limit;
    store.epoch_deadline_callback(move |mut ctx| {
        if Instant::now() >= deadline {
            ctx.data_mut().timed_out = true;
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store.set_epoch_deadline(1);
}

/// Turns what tool `tool` returned into the call's result: a denial the
/// host observed wins over whatever the guest made of it, the output and
/// every error text are bounded by the grant's `max_output_bytes` (see
/// [`crate::bounds`]) and the output parsed, secrets are redacted, and the
/// stats are read from
/// `store` (fuel used is measured against the grant's full budget, which
/// the store held when the call started).
pub(crate) fn finish(
    component: &ToolComponent,
    grant: &Grant,
    tool: String,
    store: &Store<SandboxState>,
    result: Result<GuestResult, ToolError>,
    duration: Duration,
) -> Result<CallReport, CallError> {
    let mut host_denials = store.data().denials.take();
    let used = store.data().usage.take();
    let limit = grant.limits.max_output_bytes;
    let output = match result {
        Ok(output) => output,
        Err(error) => {
            let first = (!host_denials.is_empty()).then(|| host_denials.remove(0));
            let denial = match (first, error) {
                (Some(denial), _) | (None, ToolError::Denied(denial)) => denial,
                (None, error) => {
                    return Err(CallError::Tool {
                        component: component.name.to_string(),
                        tool,
                        error: bound_tool_error(error, limit),
                    });
                }
            };
            return Err(CallError::Denied {
                component: component.name.to_string(),
                denial: bound_denial(denial, limit),
            });
        }
    };
    check_output_size(component, grant, output.size())?;
    let redactor = Redactor::new(&grant.secrets);
    let shaped = output
        .shape(&redactor)
        .map_err(|reason| CallError::InvalidOutput {
            component: component.name.to_string(),
            reason,
        })?;
    let data = store.data();
    Ok(CallReport {
        output: shaped.output,
        content: shaped.content,
        structured: shaped.structured,
        log: redact_log(data.log.finish(), &redactor),
        stats: CallStats {
            duration,
            fuel_used: fuel_used(store, grant.limits.fuel),
            peak_memory_bytes: data.limiter.peak(),
        },
        denials: host_denials
            .into_iter()
            .map(|d| bound_denial(d, limit))
            .collect(),
        used,
    })
}

pub(crate) fn timeout(component: &str, grant: &Grant) -> CallError {
    CallError::Timeout {
        component: component.to_string(),
        limit: grant.limits.timeout,
    }
}

impl Runtime {
    /// Maps an engine error to what the caller is told.
    pub(crate) fn classify(
        &self,
        component: &str,
        grant: &Grant,
        store: &Store<SandboxState>,
        stage: Stage,
        error: wasmtime::Error,
    ) -> CallError {
        let name = component.to_string();
        let data = store.data();
        if data.timed_out {
            return timeout(component, grant);
        }
        if data.limiter.exceeded() || error.downcast_ref::<MemoryLimitExceeded>().is_some() {
            return CallError::OutOfMemory {
                component: name,
                limit: grant.limits.memory_bytes,
            };
        }
        let host_limit = error
            .downcast_ref::<crate::guard::HostLimitExceeded>()
            .or(data.guard.exceeded.as_ref());
        if let Some(e) = host_limit {
            return CallError::HostLimit {
                component: name,
                what: e.what.to_string(),
                limit: e.limit,
                requested: e.requested,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                return CallError::OutOfFuel {
                    component: name,
                    limit: grant.limits.fuel,
                };
            }
            Some(Trap::StackOverflow) => {
                return CallError::StackOverflow {
                    component: name,
                    limit: self.config.max_wasm_stack,
                };
            }
            Some(Trap::Interrupt) => return timeout(component, grant),
            Some(_) => {}
            None if matches!(stage, Stage::Instantiate) => {
                return CallError::Instantiate {
                    component: name,
                    reason: format!("{error:#}"),
                };
            }
            None => {}
        }
        let backtrace = error
            .downcast_ref::<WasmBacktrace>()
            .map(guest_frames)
            .unwrap_or_default();
        let mut message = match error.downcast_ref::<Trap>() {
            Some(trap) => trap.to_string(),
            None => error.root_cause().to_string(),
        };
        let stderr = data.log.stderr_text();
        // Drop Rust's hint about RUST_BACKTRACE: the host prints the backtrace.
        let stderr: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        let stderr = stderr.join("\n");
        let stderr = stderr.trim();
        if !stderr.is_empty() {
            let tail: String = stderr
                .chars()
                .rev()
                .take(2000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            message.push_str(&format!("; the guest wrote: {tail}"));
        }
        CallError::Trap {
            component: name,
            message,
            backtrace,
        }
    }
}

/// The guest's frames, innermost first, demangled, without the panic and
/// abort machinery of the guest's standard library.
fn guest_frames(bt: &WasmBacktrace) -> Vec<String> {
    let names: Vec<String> = bt
        .frames()
        .iter()
        .map(|f| match f.func_name() {
            Some(name) => match rustc_demangle::try_demangle(name) {
                Ok(d) => format!("{d:#}"),
                Err(_) => name.to_string(),
            },
            None => format!("func[{}]", f.func_index()),
        })
        .collect();
    let machinery = |n: &str| {
        [
            "std::",
            "core::",
            "alloc::",
            "__rustc::",
            "rust_panic",
            "__rust_",
            "abort",
            "panic_abort::",
        ]
        .iter()
        .any(|p| n.starts_with(p))
    };
    let first_own = names.iter().position(|n| !machinery(n)).unwrap_or(0);
    names[first_own..].to_vec()
}

pub(crate) fn redact_log(mut log: CapturedLog, redactor: &Redactor) -> CapturedLog {
    if !redactor.is_empty() {
        for line in &mut log.lines {
            line.message = redactor.redact(&line.message);
        }
    }
    log
}

/// `err` with secret values removed from every text it carries.
pub(crate) fn redact_error(err: CallError, r: &Redactor) -> CallError {
    use crate::bindings::{Denial, ToolError};
    if r.is_empty() {
        return err;
    }
    let denial = |d: Denial| Denial {
        capability: d.capability,
        target: r.redact(&d.target),
        reason: r.redact(&d.reason),
    };
    match err {
        CallError::Denied {
            component,
            denial: d,
        } => CallError::Denied {
            component,
            denial: denial(d),
        },
        CallError::Tool {
            component,
            tool,
            error,
        } => CallError::Tool {
            component,
            tool,
            error: match error {
                ToolError::InvalidInput(m) => ToolError::InvalidInput(r.redact(&m)),
                ToolError::UnknownTool(m) => ToolError::UnknownTool(r.redact(&m)),
                ToolError::NotFound(m) => ToolError::NotFound(r.redact(&m)),
                ToolError::Denied(d) => ToolError::Denied(denial(d)),
                ToolError::Failed(m) => ToolError::Failed(r.redact(&m)),
            },
        },
        CallError::Trap {
            component,
            message,
            backtrace,
        } => CallError::Trap {
            component,
            message: r.redact(&message),
            backtrace,
        },
        CallError::InvalidOutput { component, reason } => CallError::InvalidOutput {
            component,
            reason: r.redact(&reason),
        },
        other => other,
    }
}

/// Refuses an output over the grant's `max_output_bytes`, before it is
/// copied (redacted) or parsed.
fn check_output_size(component: &ToolComponent, grant: &Grant, size: u64) -> Result<(), CallError> {
    let limit = grant.limits.max_output_bytes;
    if size > limit {
        return Err(CallError::OutputTooLarge {
            component: component.name.to_string(),
            bytes: size,
            limit,
        });
    }
    Ok(())
}

/// Checks the guest's tool specs (see [`warden_guest_output::validate_specs`]).
fn validate_specs(component: &ToolComponent, tools: &[ToolSpec]) -> Result<(), CallError> {
    let specs = tools.iter().map(|t| warden_guest_output::SpecRef {
        name: &t.name,
        input_schema: &t.input_schema,
    });
    warden_guest_output::validate_specs(specs).map_err(|e| CallError::InvalidOutput {
        component: component.name.to_string(),
        reason: e.to_string(),
    })
}

/// Checks what 0.2.0 tools declare beyond their specs: an output schema
/// must be a JSON object.
fn validate_meta(
    component: &ToolComponent,
    tools: &[ToolSpec],
    meta: &[ToolMeta],
) -> Result<(), CallError> {
    for (spec, meta) in tools.iter().zip(meta) {
        if let Some(schema) = &meta.output_schema
            && !matches!(
                serde_json::from_str::<serde_json::Value>(schema),
                Ok(serde_json::Value::Object(_))
            )
        {
            return Err(CallError::InvalidOutput {
                component: component.name.to_string(),
                reason: format!(
                    "the output schema of tool `{}` is not a JSON object",
                    spec.name
                ),
            });
        }
    }
    Ok(())
}

//! The one [`Engine`] and [`Linker`] a host uses for every component, and
//! the epoch ticker that drives wall-clock deadlines.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::tool::warden::plugin::log as wit_log;
use crate::error::EngineError;
use crate::record::AuditSink;
use crate::sandbox::SandboxState;

/// How often the epoch advances; deadlines are checked at this granularity.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of each pooled linear memory kept mapped between instances and
/// reset with `memset` instead of `madvise`.
const KEEP_RESIDENT: usize = 2 << 20;

/// Engine-wide settings, fixed when the host starts. (Per-call limits live
/// in [`Grant`](crate::Grant).)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Maximum WebAssembly stack per call, in bytes. Default 512 KiB.
    pub max_wasm_stack: usize,
    /// Use the pooling instance allocator (pre-reserved slots make
    /// instantiation fast). Falls back to on-demand allocation if the
    /// machine refuses the reservation. Default on.
    pub pooling: bool,
    /// Pool size: how many component instances may be live at once. Default 256.
    pub max_instances: u32,
    /// Largest single linear memory any grant may allow, in bytes. Default 4 GiB.
    pub max_memory_bytes: u64,
    /// Meter guest CPU with fuel, so each grant's `limits.fuel` holds.
    /// Default on. Off, `limits.fuel` is not enforced and only the wall
    /// clock bounds a guest's CPU; the benchmark suite turns it off to
    /// measure what fuel costs.
    pub fuel: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_wasm_stack: 512 << 10,
            pooling: true,
            max_instances: 256,
            max_memory_bytes: 4 << 30,
            fuel: true,
        }
    }
}

/// The engine, the linker with everything the host provides, and the epoch
/// ticker. Cheap to share: clone the `Arc`s inside.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) linker: Arc<Linker<SandboxState>>,
    /// The planner's imports: the broker, logging and WASI without HTTP.
    pub(crate) planner_linker: Arc<Linker<SandboxState>>,
    pub(crate) config: EngineConfig,
    /// Tool instances that may be live at once (the pool's size): a call
    /// beyond it waits for a slot instead of failing to instantiate.
    pub(crate) tool_slots: Arc<tokio::sync::Semaphore>,
    /// Where every call's audit record goes (the record step).
    pub(crate) audit: AuditSink,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Creates the engine (once per process) and starts its epoch ticker.
    /// Every call the runtime makes is recorded in `audit`
    /// ([`AuditSink::disabled`] records nothing, said explicitly).
    pub fn new(config: EngineConfig, audit: AuditSink) -> Result<Runtime, EngineError> {
        let engine = match build_engine(&config, config.pooling) {
            Ok(engine) => engine,
            Err(e) if config.pooling => {
                tracing::warn!("pooling allocator unavailable ({e}); using on-demand allocation");
                build_engine(&config, false)?
            }
            Err(e) => return Err(e),
        };
        let linker = build_linker(&engine)?;
        let planner_linker = build_planner_linker(&engine)?;
        start_epoch_ticker(&engine);
        Ok(Runtime {
            engine,
            linker: Arc::new(linker),
            planner_linker: Arc::new(planner_linker),
            // Planners and model providers (a few per agent) use the rest
            // of the pool.
            tool_slots: Arc::new(tokio::sync::Semaphore::new(
                (config.max_instances as usize * 3 / 4).max(1),
            )),
            config,
            audit,
        })
    }

    /// The engine-wide settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Where this runtime records its calls.
    pub fn audit(&self) -> &AuditSink {
        &self.audit
    }
}

fn build_engine(config: &EngineConfig, pooling: bool) -> Result<Engine, EngineError> {
    let mut c = Config::new();
    c.wasm_component_model(true)
        .epoch_interruption(true)
        .consume_fuel(config.fuel)
        .max_wasm_stack(config.max_wasm_stack)
        // The fiber stack must hold the wasm stack plus host frames.
        .async_stack_size(config.max_wasm_stack + (1 << 20));
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        let n = config.max_instances;
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(4))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10)
            .pagemap_scan(wasmtime::Enabled::Auto);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = Engine::new(&c).map_err(|e| EngineError(e.to_string()))?;
    if pooling {
        // The pool's reservation is made lazily on some platforms; make it
        // fail here, not on the first call.
        let probe = wasmtime::Module::new(&engine, "(module (memory 1))")
            .map_err(|e| EngineError(e.to_string()))?;
        let mut store = wasmtime::Store::new(&engine, ());
        if config.fuel {
            store
                .set_fuel(1_000)
                .map_err(|e| EngineError(e.to_string()))?;
        }
        wasmtime::Instance::new(&mut store, &probe, &[]).map_err(|e| EngineError(e.to_string()))?;
    }
    Ok(engine)
}

fn build_linker(engine: &Engine) -> Result<Linker<SandboxState>, EngineError> {
    let mut linker = Linker::new(engine);
    let err = |e: wasmtime::Error| EngineError(e.to_string());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(err)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(err)?;
    crate::guard::add_to_linker(&mut linker, true).map_err(err)?;
    wit_log::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |s| s)
        .map_err(err)?;
    // `warden:plugin/tool@0.2.0` tools: their log and progress imports.
    use crate::bindings::tool_v2::warden::plugin as v2;
    v2::log::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |s| s)
        .map_err(err)?;
    v2::progress::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |s| s)
        .map_err(err)?;
    // Streaming model providers: their `stream-sink` import.
    crate::bindings::streaming_model_provider::warden::plugin::stream_sink::add_to_linker::<
        SandboxState,
        HasSelf<SandboxState>,
    >(&mut linker, |s| s)
    .map_err(err)?;
    Ok(linker)
}

fn build_planner_linker(engine: &Engine) -> Result<Linker<SandboxState>, EngineError> {
    let mut linker = Linker::new(engine);
    let err = |e: wasmtime::Error| EngineError(e.to_string());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(err)?;
    crate::guard::add_to_linker(&mut linker, false).map_err(err)?;
    wit_log::add_to_linker::<SandboxState, HasSelf<SandboxState>>(&mut linker, |s| s)
        .map_err(err)?;
    crate::bindings::planner::warden::plugin::broker::add_to_linker::<
        SandboxState,
        HasSelf<SandboxState>,
    >(&mut linker, |s| s)
    .map_err(err)?;
    // The `planner-context` world's import; a `planner` component does not
    // import it and links as before.
    crate::bindings::planner_context::warden::plugin::context::add_to_linker::<
        SandboxState,
        HasSelf<SandboxState>,
    >(&mut linker, |s| s)
    .map_err(err)?;
    Ok(linker)
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until the engine is
/// dropped.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("warden-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        // Without the ticker, deadlines fall back to the async timeout.
        tracing::error!("cannot start the epoch ticker thread: {e}");
    }
}

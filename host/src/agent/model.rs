//! Model-provider components: load one, and ask it for a completion in a
//! fresh store under its own grant (usually: one endpoint, a few env vars,
//! an API key the host injects).

use std::time::Duration;

use warden_core::Digest;

use crate::bindings::model_provider::ModelProviderPre;
use crate::bindings::planner::warden::plugin::chat::{
    Completion, CompletionRequest, Message, ModelError, ToolCall,
};
use crate::bounds::{bound_denial, bound_model_error};
use crate::call::CallStats;
use crate::engine::Runtime;
use crate::error::{CallError, LoadError};
use crate::grant::Grant;
use crate::guest_log::CapturedLog;
use crate::record::{CallRecord, CancelGuard};
use crate::sandbox::SandboxState;
use crate::sandboxed::instantiate_and_call;
use crate::secret::Redactor;

/// The interface a model provider must export.
pub const MODEL_INTERFACE: &str = "warden:plugin/model@0.1.0";

/// A compiled model-provider component, ready to instantiate.
pub type ModelComponent = super::loaded::Loaded<ModelProviderPre<SandboxState>>;

/// What one completion call produced.
#[derive(Debug, Clone)]
pub struct ModelReply {
    /// The completion, or the provider's typed error (a denial the host
    /// observed is reported as `model-error::denied` whatever the guest
    /// made of it).
    pub result: Result<Completion, ModelError>,
    /// What the provider logged.
    pub log: CapturedLog,
    /// What the call used.
    pub stats: CallStats,
    /// What the call used of its grant (the endpoint it connected to, the
    /// secrets injected).
    pub used: crate::usage::Usage,
}

impl Runtime {
    /// Compiles `bytes` as the model-provider component `name`, checking that
    /// it exports `warden:plugin/model` and imports nothing the host lacks.
    pub fn load_model(&self, name: &str, bytes: &[u8]) -> Result<ModelComponent, LoadError> {
        let component = self.compile(name, bytes)?;
        self.model_from(name, Digest::of(bytes), component)
    }

    /// [`load_model`](Self::load_model) through the compiled-artifact cache,
    /// for bytes whose digest (`digest`) the caller verified.
    pub fn load_model_cached(
        &self,
        name: &str,
        bytes: &[u8],
        digest: &Digest,
        cache: &crate::ArtifactCache,
    ) -> Result<ModelComponent, LoadError> {
        let (component, _) = self.compile_cached(name, bytes, digest, cache)?;
        self.model_from(name, *digest, component)
    }

    fn model_from(
        &self,
        name: &str,
        digest: Digest,
        component: wasmtime::component::Component,
    ) -> Result<ModelComponent, LoadError> {
        let instance_pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| LoadError::Link {
                    component: name.to_string(),
                    reason: format!(
                        "{e:#} (a model provider may import `warden:plugin/log`, `warden:plugin/stream-sink` \
                         and WASI 0.2 interfaces, including wasi:http, only)"
                    ),
                })?;
        let pre = ModelProviderPre::new(instance_pre).map_err(|e| LoadError::Link {
            component: name.to_string(),
            reason: format!("it does not export `{MODEL_INTERFACE}` with the right types: {e:#}"),
        })?;
        Ok(ModelComponent {
            name: name.into(),
            digest,
            pre,
        })
    }

    /// Asks `model` for one completion under `grant`. Host-level failures
    /// (timeout, memory, fuel, trap) are errors; the provider's own typed
    /// errors are in [`ModelReply::result`]. Secrets are redacted from the
    /// reply and the log.
    pub async fn complete(
        &self,
        model: &ModelComponent,
        request: &CompletionRequest,
        grant: &Grant,
    ) -> Result<ModelReply, CallError> {
        self.complete_streaming(model, request, grant, None).await
    }

    /// [`complete`](Self::complete), handing the text of the completion to
    /// `on_delta` as a streaming provider (`streaming-model-provider`)
    /// receives it: bounded and with the grant's secrets removed (see
    /// [`crate::stream_sink`]). The deltas are for display; the recorded
    /// and returned completion is the one the provider returns. A provider
    /// of the plain `model-provider` world sends none.
    pub async fn complete_streaming(
        &self,
        model: &ModelComponent,
        request: &CompletionRequest,
        grant: &Grant,
        on_delta: Option<crate::stream_sink::OnDelta>,
    ) -> Result<ModelReply, CallError> {
        let arguments = format!("{:?}", request.messages);
        let record = |outcome, duration, stats, denial, used| CallRecord {
            component: &model.name,
            digest: &model.digest,
            function: "complete",
            arguments: &arguments,
            outcome,
            duration,
            stats,
            denial,
            secrets: grant.secret_values(),
            used,
        };
        let guard = CancelGuard::new(
            &self.audit,
            record("cancelled", Duration::ZERO, None, None, None),
        );
        let reply = self
            .complete_unrecorded(model, request, grant, on_delta)
            .await;
        let duration = guard.started().elapsed();
        guard.finish();
        self.audit.record(&record(
            match &reply {
                Ok(ModelReply { result: Ok(_), .. }) => "ok",
                Ok(ModelReply { result: Err(_), .. }) => "model-error",
                Err(e) => e.kind(),
            },
            duration,
            reply.as_ref().ok().map(|r| &r.stats),
            reply.as_ref().err().and_then(CallError::denial),
            reply.as_ref().ok().map(|r| &r.used),
        ));
        reply
    }

    async fn complete_unrecorded(
        &self,
        model: &ModelComponent,
        request: &CompletionRequest,
        grant: &Grant,
        on_delta: Option<crate::stream_sink::OnDelta>,
    ) -> Result<ModelReply, CallError> {
        let redactor = Redactor::new(&grant.secrets);
        let pre = &model.pre;
        let run = self
            .run_sandboxed(
                &model.name,
                grant,
                |state| {
                    state.stream =
                        on_delta.map(|f| crate::stream_sink::StreamSink::new(f, &grant.secrets));
                },
                instantiate_and_call!(pre, |instance, store| instance
                    .warden_plugin_model()
                    .call_complete(&mut store, request)),
            )
            .await?;
        let stats = run.stats(grant);
        let (result, mut store) = (run.value, run.store);
        if let Some(sink) = &mut store.data_mut().stream {
            sink.finish();
        }
        let host_denial = store.data().denials.snapshot().into_iter().next();
        let used = store.data().usage.take();
        let limit = grant.limits.max_output_bytes;
        let result = match (result, host_denial) {
            (Err(_), Some(denial)) => Err(ModelError::Denied(bound_denial(denial, limit))),
            (Ok(c), _) => Ok(redact_completion(c, &redactor)),
            (Err(e), None) => Err(bound_model_error(redact_model_error(e, &redactor), limit)),
        };
        let data = store.data_mut();
        let mut log = data.log.finish();
        for line in &mut log.lines {
            line.message = redactor.redact(&line.message);
        }
        Ok(ModelReply {
            result,
            log,
            stats,
            used,
        })
    }
}

fn redact_completion(mut c: Completion, r: &Redactor) -> Completion {
    if r.is_empty() {
        return c;
    }
    c.message = redact_message(c.message, r);
    c
}

/// A message with secret values removed from its text and tool calls.
pub(crate) fn redact_message(mut m: Message, r: &Redactor) -> Message {
    if r.is_empty() {
        return m;
    }
    m.content = r.redact(&m.content);
    m.tool_calls = m
        .tool_calls
        .into_iter()
        .map(|c| ToolCall {
            id: c.id,
            name: r.redact(&c.name),
            arguments: r.redact(&c.arguments),
        })
        .collect();
    m
}

fn redact_model_error(e: ModelError, r: &Redactor) -> ModelError {
    match e {
        ModelError::InvalidRequest(m) => ModelError::InvalidRequest(r.redact(&m)),
        ModelError::Unavailable(m) => ModelError::Unavailable(r.redact(&m)),
        ModelError::ContextOverflow(m) => ModelError::ContextOverflow(r.redact(&m)),
        ModelError::BadResponse(m) => ModelError::BadResponse(r.redact(&m)),
        other => other,
    }
}

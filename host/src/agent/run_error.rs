//! A failed run's error as a sentence: what the planner or its model
//! reported, never the bindings' `Debug` text. Used for the session's
//! failure reason and the CLI's `error:` line.

use crate::bindings::Denial;
use crate::bindings::planner::warden::plugin::chat::ModelError;
use crate::bindings::planner::warden::plugin::planning::RunError;
use crate::error::capability_name;

/// `error` as one sentence a person can act on.
pub fn describe_run_error(error: &RunError) -> String {
    match error {
        RunError::BudgetExhausted(m) => format!("the agent ran out of budget: {m}"),
        RunError::Model(m) => format!("the model failed: {}", describe_model_error(m)),
        RunError::Denied(d) => describe_denial(d),
        RunError::Failed(m) => format!("the run failed: {m}"),
    }
}

/// A model provider's typed error as one sentence.
pub fn describe_model_error(error: &ModelError) -> String {
    match error {
        ModelError::InvalidRequest(m) => format!("the request was refused as invalid: {m}"),
        ModelError::Denied(d) => describe_denial(d),
        ModelError::Unavailable(m) => format!("the model server is unavailable: {m}"),
        ModelError::RateLimited(Some(s)) => {
            format!("the model server is rate limiting (it asked to wait {s} s)")
        }
        ModelError::RateLimited(None) => "the model server is rate limiting".to_string(),
        ModelError::ContextOverflow(m) => {
            format!("the prompt does not fit the model's context window: {m}")
        }
        ModelError::BadResponse(m) => format!("the model server's answer is not valid: {m}"),
    }
}

/// Whether a run failed because a capability was refused.
pub fn is_denial(error: &RunError) -> bool {
    matches!(
        error,
        RunError::Denied(_) | RunError::Model(ModelError::Denied(_))
    )
}

fn describe_denial(d: &Denial) -> String {
    format!(
        "denied {} access to `{}`: {}",
        capability_name(d.capability),
        d.target,
        d.reason
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Capability;

    #[test]
    fn a_denied_model_request_reads_as_a_sentence_without_debug_text() {
        let e = RunError::Model(ModelError::Denied(Denial {
            capability: Capability::Network,
            target: "127.0.0.1:9".into(),
            reason: "`127.0.0.1:9` is not in the component's network grant".into(),
        }));
        let text = describe_run_error(&e);
        assert_eq!(
            text,
            "the model failed: denied network access to `127.0.0.1:9`: `127.0.0.1:9` is not in \
             the component's network grant"
        );
        assert!(is_denial(&e));
        assert!(!is_denial(&RunError::Failed("x".into())));
    }

    #[test]
    fn every_model_error_names_what_happened() {
        for (e, needle) in [
            (ModelError::InvalidRequest("bad".into()), "invalid: bad"),
            (ModelError::Unavailable("down".into()), "unavailable: down"),
            (ModelError::RateLimited(Some(3)), "wait 3 s"),
            (ModelError::RateLimited(None), "rate limiting"),
            (
                ModelError::ContextOverflow("8k".into()),
                "context window: 8k",
            ),
            (ModelError::BadResponse("junk".into()), "not valid: junk"),
        ] {
            let text = describe_model_error(&e);
            assert!(text.contains(needle), "{text}");
            assert!(!text.contains("ModelError"), "{text}");
        }
    }
}

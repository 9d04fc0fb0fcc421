//! The `stream-sink` import of `warden:plugin/streaming-model-provider`:
//! the text of a completion as the provider receives it, checked, bounded
//! and redacted, handed to whoever watches the run (`warden run` prints it
//! as it arrives).
//!
//! A provider controls every delta, so the host forwards only a bounded
//! amount: each delta cut to [`MAX_DELTA_BYTES`], at most [`MAX_DELTAS`]
//! deltas and [`MAX_STREAMED_BYTES`] bytes per completion; the rest is
//! dropped, silently for the guest (streaming never fails a completion).
//! Secret values granted to the provider, and their common encodings, are
//! removed even when split across deltas: the last bytes of each delta
//! that could begin one are held back until the next delta or the end.
//! Deltas are for display only: what is recorded is the completion the
//! provider returns.

use std::sync::Arc;

use crate::bindings::streaming_model_provider::warden::plugin::stream_sink as wit_stream_sink;
use crate::sandbox::SandboxState;
use crate::secret::{Reflection, SecretGrant, StreamScrub};

/// The longest delta forwarded, in bytes (a longer one is cut).
pub const MAX_DELTA_BYTES: usize = 16 * 1024;

/// The most deltas forwarded for one completion.
pub const MAX_DELTAS: u32 = 100_000;

/// The most text forwarded for one completion, in bytes.
pub const MAX_STREAMED_BYTES: usize = 4 * 1024 * 1024;

/// Where the text of a completion goes as it arrives, piece by piece, in
/// order. Called on the thread running the provider: it must be quick.
pub type OnDelta = Arc<dyn Fn(&str) + Send + Sync>;

/// The host side of one completion's `stream-sink` import.
pub(crate) struct StreamSink {
    on_delta: OnDelta,
    scrub: Option<StreamScrub>,
    /// Scrubbed bytes that end inside a UTF-8 character.
    partial: Vec<u8>,
    received: u32,
    forwarded_bytes: usize,
}

impl StreamSink {
    /// Deltas go to `on_delta`, with the values of `secrets` removed.
    pub(crate) fn new(on_delta: OnDelta, secrets: &[SecretGrant]) -> StreamSink {
        StreamSink {
            on_delta,
            scrub: Reflection::new(secrets).map(|r| Arc::new(r).stream()),
            partial: Vec::new(),
            received: 0,
            forwarded_bytes: 0,
        }
    }

    /// One delta from the guest.
    pub(crate) fn delta(&mut self, text: &str) {
        if self.received >= MAX_DELTAS || self.forwarded_bytes >= MAX_STREAMED_BYTES {
            return;
        }
        self.received += 1;
        let room = MAX_STREAMED_BYTES - self.forwarded_bytes;
        let text = crate::bounds::prefix_within(text, MAX_DELTA_BYTES.min(room));
        if text.is_empty() {
            return;
        }
        self.forwarded_bytes += text.len();
        let clean = match &mut self.scrub {
            Some(scrub) => scrub.push(text.as_bytes()),
            None => text.as_bytes().to_vec(),
        };
        self.forward(clean);
    }

    /// The end of the completion: whatever was held back.
    pub(crate) fn finish(&mut self) {
        let rest = match &mut self.scrub {
            Some(scrub) => scrub.finish(),
            None => Vec::new(),
        };
        self.forward(rest);
        if !self.partial.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.partial)).into_owned();
            (self.on_delta)(&rest);
        }
    }

    /// Passes on the complete characters of `bytes` (after any held from
    /// before).
    fn forward(&mut self, bytes: Vec<u8>) {
        self.partial.extend_from_slice(&bytes);
        if self.partial.is_empty() {
            return;
        }
        let whole = match std::str::from_utf8(&self.partial) {
            Ok(_) => self.partial.len(),
            // An incomplete character at the end waits for the rest.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            // Scrubbing works on bytes and the input was text, so this
            // does not happen; if it did, a replacement character shows it.
            Err(_) => self.partial.len(),
        };
        if whole == 0 {
            return;
        }
        let rest = self.partial.split_off(whole);
        let text = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial = rest;
        (self.on_delta)(&text);
    }
}

impl wit_stream_sink::Host for SandboxState {
    fn delta(&mut self, text: String) -> wasmtime::Result<()> {
        if let Some(sink) = &mut self.stream {
            sink.delta(&text);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::secret::SecretValue;

    fn sink(secrets: &[SecretGrant]) -> (StreamSink, Arc<Mutex<Vec<String>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let to = Arc::clone(&got);
        let on_delta: OnDelta = Arc::new(move |t: &str| {
            to.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(t.to_string());
        });
        (StreamSink::new(on_delta, secrets), got)
    }

    fn taken(got: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
        got.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn secret(value: &str) -> SecretGrant {
        SecretGrant {
            name: "api".into(),
            value: SecretValue::new(value),
            hosts: Vec::new(),
            header: "authorization".into(),
            format: "Bearer {}".into(),
        }
    }

    #[test]
    fn deltas_pass_in_order_unchanged_without_secrets() {
        let (mut s, got) = sink(&[]);
        for t in ["He", "llo, w", "", "örld"] {
            s.delta(t);
        }
        s.finish();
        assert_eq!(taken(&got), ["He", "llo, w", "örld"]);
    }

    #[test]
    fn a_secret_split_across_deltas_never_reaches_the_watcher() {
        let key = "sk-live-0123456789abcdef";
        let (mut s, got) = sink(&[secret(key)]);
        let text = format!("the key is {key}, and é again {key}.");
        // Split everywhere the text allows, one byte-ish piece at a time.
        let pieces: Vec<String> = text.chars().map(String::from).collect();
        for p in &pieces {
            s.delta(p);
        }
        s.finish();
        let shown = taken(&got).concat();
        assert!(!shown.contains(key), "{shown}");
        assert_eq!(shown, "the key is [REDACTED], and é again [REDACTED].");
    }

    #[test]
    fn a_flood_of_deltas_is_bounded_in_count_and_bytes() {
        let (mut s, got) = sink(&[]);
        for _ in 0..(MAX_DELTAS as usize * 3) {
            s.delta("x");
        }
        s.finish();
        let shown = taken(&got);
        assert_eq!(shown.len(), MAX_DELTAS as usize);

        let (mut s, got) = sink(&[]);
        let huge = "é".repeat(MAX_DELTA_BYTES); // two bytes each
        for _ in 0..1000 {
            s.delta(&huge);
        }
        s.finish();
        let shown = taken(&got);
        assert!(
            shown
                .iter()
                .all(|d| d.len() <= MAX_DELTA_BYTES && d.starts_with('é'))
        );
        let total: usize = shown.iter().map(String::len).sum();
        assert!(total <= MAX_STREAMED_BYTES, "{total}");
        assert!(total > MAX_STREAMED_BYTES - MAX_DELTA_BYTES, "{total}");
    }
}

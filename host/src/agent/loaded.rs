//! A compiled component of one agent world (planner, model provider,
//! skill), ready to instantiate: what the three share.

use std::sync::Arc;

use warden_core::Digest;

/// A compiled component whose pre-instantiated form is `P` (one world's
/// `…Pre`): its name and the digest of its bytes, for its audit records.
#[derive(Clone)]
pub struct Loaded<P> {
    pub(crate) name: Arc<str>,
    pub(crate) digest: Digest,
    pub(crate) pre: P,
}

impl<P> Loaded<P> {
    /// The component's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The digest of the component's bytes.
    pub fn digest(&self) -> &Digest {
        &self.digest
    }
}

impl<P> std::fmt::Debug for Loaded<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("name", &self.name)
            .field("digest", &self.digest.to_string())
            .finish_non_exhaustive()
    }
}

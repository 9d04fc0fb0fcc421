//! The memory limit: total linear memory across all of a component's
//! memories, enforced as each memory grows.

use wasmtime::ResourceLimiter;

/// Caps a store's total memory and table growth, and remembers whether the
/// cap was hit so the host can report "out of memory" rather than a bare trap.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: u64,
    used: u64,
    peak: u64,
    exceeded: bool,
}

/// The error a memory growth past the limit traps with.
#[derive(Debug, thiserror::Error)]
#[error("memory limit of {limit} bytes exceeded (asked for {requested} bytes in total)")]
pub struct MemoryLimitExceeded {
    /// The limit.
    pub limit: u64,
    /// The total the guest asked for.
    pub requested: u64,
}

/// Largest number of table elements a component may have per table.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

impl MemoryLimiter {
    /// A limiter allowing `limit` bytes of linear memory in total.
    pub fn new(limit: u64) -> MemoryLimiter {
        MemoryLimiter {
            limit,
            used: 0,
            peak: 0,
            exceeded: false,
        }
    }

    /// Whether the guest tried to grow past the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// The most linear memory the guest held at once, in bytes.
    pub fn peak(&self) -> u64 {
        self.peak
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let requested = self.used - (current as u64).min(self.used) + desired as u64;
        if requested > self.limit || maximum.is_some_and(|m| desired > m) {
            self.exceeded = self.exceeded || requested > self.limit;
            if requested > self.limit {
                return Err(wasmtime::Error::new(MemoryLimitExceeded {
                    limit: self.limit,
                    requested,
                }));
            }
            return Ok(false);
        }
        self.used = requested;
        self.peak = self.peak.max(self.used);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS && maximum.is_none_or(|m| desired <= m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_counted_across_memories_and_capped() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).expect("fits"));
        assert!(l.memory_growing(0, 40, None).expect("fits"));
        assert_eq!(l.peak(), 100);
        assert!(l.memory_growing(60, 61, None).is_err());
        assert!(l.exceeded());
    }

    #[test]
    fn a_declared_maximum_fails_the_grow_without_a_trap() {
        let mut l = MemoryLimiter::new(1000);
        assert!(!l.memory_growing(10, 20, Some(15)).expect("no trap"));
        assert!(!l.exceeded());
    }
}

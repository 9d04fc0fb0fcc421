//! A package archive (`.wpkg`, a tar) as downloaded: `package::read` never
//! panics and never allocates past its limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_registry::package::{self, ArchiveLimits};

fuzz_target!(|data: &[u8]| {
    let _ = package::read(data, &ArchiveLimits::default());
});

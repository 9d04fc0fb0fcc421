//! npm prerequisites that tests install themselves when no directory is
//! given: `npm ci` of a pinned `package.json` + `package-lock.json` into a
//! directory under the target's temp dir, done once per lockfile.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `npm ci` of `package_json` and `package_lock` into `dir` (created if
/// needed), unless the same lockfile was installed there before. `what`
/// names the pinned set in the error (e.g. `examples/js-words`).
pub fn ci_pinned(
    dir: &Path,
    what: &str,
    package_json: &str,
    package_lock: &str,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let installed = dir.join("installed-lock.json");
    if std::fs::read_to_string(&installed).is_ok_and(|l| l == package_lock) {
        return Ok(dir.to_path_buf());
    }
    std::fs::write(dir.join("package.json"), package_json).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("package-lock.json"), package_lock).map_err(|e| e.to_string())?;
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .output()
        .map_err(|e| format!("npm is not installed ({e}); install Node.js and npm"))?;
    if !out.status.success() {
        return Err(format!(
            "`npm ci` of {what} failed (no registry?): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&installed, package_lock).map_err(|e| e.to_string())?;
    Ok(dir.to_path_buf())
}

//! Capability policy: what each component may do, from two layers.
//!
//! - The user's grants, `$WARDEN_HOME/grants.toml` ([`GrantsFile`]).
//! - Optionally, an organisation policy signed by an admin key
//!   ([`OrgPolicy`], [`sign_policy`], [`load_signed`]) that sets ceilings
//!   and forbids.
//!
//! Deny by default, deny wins, and the effective grant of a component is
//! the intersection of its manifest's requests, the user's grants and the
//! org ceilings ([`effective()`]). Every capability carries the reasons it
//! was allowed, capped or denied ([`EffectiveGrant::explain`]). The result
//! is plain data the host turns into its sandbox `Grant`; this module
//! never builds a sandbox itself.
//!
//! ```
//! use warden_policy::{effective, ComponentId, GrantsFile, OrgPolicy, Outcome};
//! use warden_core::Digest;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let user = GrantsFile::parse(r#"
//! [[rule]]
//! component = "acme:grep"
//! effect = "allow"
//! dirs = [{ host = "/home/me/src", guest = "/src", mode = "rw" }]
//! "#)?;
//! let org = OrgPolicy::parse(r#"
//! [[rule]]
//! component = "*"
//! effect = "allow"
//! dirs = [{ host = "/home/**", mode = "ro" }]
//! "#)?;
//! let id = ComponentId {
//!     name: "acme:grep".parse()?,
//!     version: "1.2.0".parse()?,
//!     digest: Digest::of(b"component bytes"),
//! };
//! let grant = effective(&id, None, &user, Some(&org));
//! assert_eq!(grant.dirs()[0].mode, warden_policy::Access::ReadOnly);
//! assert!(matches!(grant.decisions()[0].outcome, Outcome::Capped { .. }));
//! for line in grant.explain() {
//!     println!("{line}");
//! }
//! # Ok(())
//! # }
//! ```

pub mod ask;
pub mod cidr;
pub mod context;
mod decide;
mod document;
mod effective;
mod error;
mod grants;
pub mod limits;
pub mod network;
mod org;
pub mod path;
pub mod remote_servers;
pub mod request;
pub mod residency;
pub mod retention;
pub mod rules;
pub mod target;

pub use ask::{AskPlan, Asked};
pub use cidr::IpNet;
pub use context::ContextCeiling;
pub use decide::effective;
pub use effective::{Decision, EffectiveDir, EffectiveGrant, NetworkGrant, Outcome};
pub use error::PolicyError;
pub use grants::{GRANTS_FILE, GrantRuleError, GrantsFile};
pub use limits::{LimitKind, Limits};
pub use network::{HostMatch, NetRule, Scheme};
pub use org::{OrgPolicy, load_signed, sign_policy};
pub use path::PathPattern;
pub use remote_servers::RemoteServers;
pub use request::{Access, Capabilities};
pub use residency::Residency;
pub use retention::SessionCeiling;
pub use rules::{Capability, DirRule, Effect, Rule};
pub use target::{ComponentId, NamePattern, Target};

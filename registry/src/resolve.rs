//! Semver resolution across the dependency graph: from `name@range`
//! requests to one exact version (and digest) of every package needed.
//!
//! The resolver is greedy, like cargo's before backtracking mattered: each
//! package gets the **highest** version satisfying every requirement on it
//! so far. Choosing a version adds its dependencies' requirements; when a
//! later requirement rules out a version already chosen, that package is
//! re-picked and the requirements its old version made are withdrawn, so
//! they cannot cause a false conflict. This repeats until nothing changes.
//! There is one version per package name. A lockfile, when given, is
//! preferred: a pinned version that satisfies the requirements is used even
//! if a newer one does, and its digest must still match.
//!
//! The resolver does not backtrack over whole subgraphs, so it can report a
//! conflict where a cleverer search would find an older combination that
//! works; the message then names both requirements and who made them, and
//! pinning one side resolves it. A step budget proportional to the graph
//! guarantees it stops.
//!
//! ```
//! use std::collections::BTreeMap;
//! use warden_registry::resolve::{resolve, IndexCatalog, Request};
//! use warden_registry::source::IndexEntry;
//! use warden_registry::{Digest, PackageName};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fs: PackageName = "acme:fs".parse()?;
//! let mut entries = Vec::new();
//! for version in ["1.2.0", "1.9.0", "2.0.0"] {
//!     entries.push(IndexEntry {
//!         name: fs.clone(),
//!         version: version.parse()?,
//!         digest: Digest::of(version.as_bytes()),
//!         size: 1,
//!         dependencies: BTreeMap::new(),
//!         file: format!("fs-{version}.wpkg"),
//!     });
//! }
//! let catalog = IndexCatalog::new(entries);
//! let request = Request::new(fs.clone(), "^1.2".parse()?, "the command line");
//! let resolution = resolve(&[request], &catalog, None)?;
//! assert_eq!(resolution.packages[&fs].version.to_string(), "1.9.0");
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};

use semver::{Version, VersionReq};

use crate::digest::Digest;
use crate::error::ResolveError;
use crate::lockfile::Lockfile;
use crate::name::PackageName;
use crate::source::IndexEntry;

/// Every resolution may take this many (re-)picks …
const BASE_STEPS: usize = 1024;
/// … plus this many per package it has seen.
const STEPS_PER_PACKAGE: usize = 16;

/// One version of a package, as the resolver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The version.
    pub version: Version,
    /// SHA-256 of its package file.
    pub digest: Digest,
    /// What it depends on.
    pub dependencies: BTreeMap<PackageName, VersionReq>,
}

/// What versions of a package exist.
pub trait Catalog {
    /// Every version of `name` on offer, preferably sorted from highest to
    /// lowest (the resolver sorts them otherwise); empty if there is no
    /// such package.
    ///
    /// An in-memory catalog lends its versions (`Cow::Borrowed`), so a
    /// resolution copies nothing; one that builds them on demand (from a
    /// remote source, say) returns `Cow::Owned`.
    fn candidates(&self, name: &PackageName) -> Cow<'_, [Candidate]>;

    /// Where the packages come from, for messages (`no package `acme:x` in
    /// <this>`).
    fn describe(&self) -> String {
        "the package index".to_string()
    }
}

/// A [`Catalog`] over index entries held in memory.
#[derive(Debug, Clone, Default)]
pub struct IndexCatalog {
    by_name: HashMap<PackageName, Vec<Candidate>>,
    description: Option<String>,
}

impl IndexCatalog {
    /// Groups `entries` by name, each name's versions sorted from highest
    /// to lowest, identical duplicates (same version and digest) dropped.
    ///
    /// This is O(n) for entries already sorted by version within each name
    /// (either direction), as [`write_index`](crate::source::write_index)
    /// writes them; otherwise each name's versions are sorted.
    pub fn new(entries: Vec<IndexEntry>) -> IndexCatalog {
        let mut by_name: HashMap<PackageName, Vec<Candidate>> = HashMap::new();
        for entry in entries {
            by_name.entry(entry.name).or_default().push(Candidate {
                version: entry.version,
                digest: entry.digest,
                dependencies: entry.dependencies,
            });
        }
        for versions in by_name.values_mut() {
            if versions.is_sorted_by(|a, b| a.version >= b.version) {
                // Already highest first.
            } else if versions.is_sorted_by(|a, b| a.version <= b.version) {
                versions.reverse();
            } else {
                versions.sort_by(|a, b| b.version.cmp(&a.version));
            }
            versions.dedup_by(|a, b| a.version == b.version && a.digest == b.digest);
        }
        IndexCatalog {
            by_name,
            description: None,
        }
    }

    /// Names the catalog's origin in messages (e.g. the sources it was
    /// built from).
    pub fn describe_as(mut self, description: impl Into<String>) -> IndexCatalog {
        self.description = Some(description.into());
        self
    }

    /// The versions of `name`, highest first, without copying.
    pub fn versions(&self, name: &PackageName) -> &[Candidate] {
        self.by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// How many distinct package names it holds.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether it holds no package.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

impl Catalog for IndexCatalog {
    fn candidates(&self, name: &PackageName) -> Cow<'_, [Candidate]> {
        Cow::Borrowed(self.versions(name))
    }

    fn describe(&self) -> String {
        self.description
            .clone()
            .unwrap_or_else(|| "the package index".to_string())
    }
}

/// A top-level requirement: what the user (or a manifest, or a lockfile)
/// asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The package.
    pub name: PackageName,
    /// The acceptable versions.
    pub req: VersionReq,
    /// Who asks, for messages: e.g. `the command line`, `acme:agent@1.0.0`,
    /// `warden.lock`.
    pub requested_by: String,
}

impl Request {
    /// A request for `name` matching `req`, made by `requested_by`.
    pub fn new(name: PackageName, req: VersionReq, requested_by: impl Into<String>) -> Request {
        Request {
            name,
            req,
            requested_by: requested_by.into(),
        }
    }
}

/// The version chosen for one package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The version.
    pub version: Version,
    /// SHA-256 of its package file.
    pub digest: Digest,
    /// Who required it (requests' `requested_by`, and `name@version` of
    /// dependents), sorted.
    pub requested_by: Vec<String>,
}

/// The outcome of [`resolve`]: one version of every package needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Package → the version chosen.
    pub packages: BTreeMap<PackageName, Resolved>,
}

/// Picks one version of every package `roots` need, directly or through
/// dependencies: the highest satisfying every requirement on it, or the
/// version `prefer` pins if that satisfies them.
pub fn resolve(
    roots: &[Request],
    catalog: &dyn Catalog,
    prefer: Option<&Lockfile>,
) -> Result<Resolution, ResolveError> {
    let mut solver = Solver {
        roots,
        catalog,
        prefer,
        nodes: Vec::new(),
        ids: HashMap::new(),
        queue: VecDeque::new(),
        steps: 0,
        progress: false,
    };
    let mut root_ids = Vec::with_capacity(roots.len());
    for (i, request) in roots.iter().enumerate() {
        let id = solver.intern(Cow::Borrowed(&request.name));
        solver.require(id, Cow::Borrowed(&request.req), By::Root(i));
        root_ids.push(id);
    }
    // A package whose requirements cannot be met right now may become
    // satisfiable once another package is re-picked and withdraws its
    // requirements; it fails only when a whole round changes nothing.
    let mut failures: BTreeMap<usize, ResolveError> = BTreeMap::new();
    loop {
        solver.progress = false;
        while let Some(id) = solver.queue.pop_front() {
            solver.nodes[id].queued = false;
            match solver.settle(id) {
                Ok(()) => {
                    failures.remove(&id);
                }
                Err(e) => {
                    failures.insert(id, e);
                }
            }
            if solver.steps > solver.step_limit() {
                return Err(solver.too_complex(id));
            }
        }
        if !solver.progress
            && let Some((_, error)) = failures.pop_first()
        {
            return Err(error);
        }
        if failures.is_empty() {
            break;
        }
        for &id in failures.keys() {
            solver.enqueue(id);
        }
    }
    Ok(solver.finish(&root_ids))
}

/// Who made a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    /// `roots[i]`.
    Root(usize),
    /// The selected version of package `id`.
    Package(usize),
}

/// A requirement on a package, and who made it (borrowed from the
/// requests or the catalog where possible: resolution copies little).
#[derive(Debug)]
struct Requirement<'a> {
    req: Cow<'a, VersionReq>,
    by: By,
}

/// The resolver's state for one package name.
#[derive(Debug)]
struct Node<'a> {
    name: Cow<'a, PackageName>,
    /// Highest first.
    candidates: Cow<'a, [Candidate]>,
    /// Every requirement currently in force.
    requirements: Vec<Requirement<'a>>,
    /// Index into `candidates`.
    selected: Option<usize>,
    /// The packages the selected version depends on.
    deps: Vec<usize>,
    queued: bool,
    picks: usize,
}

struct Solver<'a> {
    roots: &'a [Request],
    catalog: &'a dyn Catalog,
    prefer: Option<&'a Lockfile>,
    nodes: Vec<Node<'a>>,
    ids: HashMap<Cow<'a, PackageName>, usize>,
    /// Packages whose requirements changed since they were last settled.
    queue: VecDeque<usize>,
    /// Picks made so far.
    steps: usize,
    /// Whether a selection changed in this round.
    progress: bool,
}

impl<'a> Solver<'a> {
    fn step_limit(&self) -> usize {
        BASE_STEPS + STEPS_PER_PACKAGE * self.nodes.len()
    }

    /// The node of `name`, asking the catalog the first time.
    fn intern(&mut self, name: Cow<'a, PackageName>) -> usize {
        if let Some(&id) = self.ids.get(name.as_ref()) {
            return id;
        }
        let mut candidates = self.catalog.candidates(&name);
        if !candidates.is_sorted_by(|a, b| a.version >= b.version) {
            candidates
                .to_mut()
                .sort_by(|a, b| b.version.cmp(&a.version));
        }
        let id = self.nodes.len();
        self.ids.insert(name.clone(), id);
        self.nodes.push(Node {
            name,
            candidates,
            requirements: Vec::new(),
            selected: None,
            deps: Vec::new(),
            queued: false,
            picks: 0,
        });
        id
    }

    fn enqueue(&mut self, id: usize) {
        let node = &mut self.nodes[id];
        if !node.queued {
            node.queued = true;
            self.queue.push_back(id);
        }
    }

    fn require(&mut self, id: usize, req: Cow<'a, VersionReq>, by: By) {
        self.nodes[id].requirements.push(Requirement { req, by });
        self.enqueue(id);
    }

    /// Makes `id`'s selection satisfy its requirements (or drops it if
    /// nothing requires it any more).
    fn settle(&mut self, id: usize) -> Result<(), ResolveError> {
        let node = &self.nodes[id];
        if node.requirements.is_empty() {
            if node.selected.is_some() {
                self.deselect(id);
                self.progress = true;
            }
            return Ok(());
        }
        if let Some(selected) = node.selected {
            let version = &node.candidates[selected].version;
            if node.requirements.iter().all(|r| r.req.matches(version)) {
                return Ok(());
            }
        }
        self.steps += 1;
        let pick = self.choose(id)?;
        self.nodes[id].picks += 1;
        if self.nodes[id].selected != Some(pick) {
            self.deselect(id);
            self.select(id, pick);
            self.progress = true;
        }
        Ok(())
    }

    /// Withdraws the requirements `id`'s selected version made.
    fn deselect(&mut self, id: usize) {
        let deps = std::mem::take(&mut self.nodes[id].deps);
        for dep in deps {
            self.nodes[dep]
                .requirements
                .retain(|r| r.by != By::Package(id));
            self.enqueue(dep);
        }
        self.nodes[id].selected = None;
    }

    /// Selects `candidates[pick]` for `id` and adds its requirements.
    fn select(&mut self, id: usize, pick: usize) {
        let candidates = std::mem::take(&mut self.nodes[id].candidates);
        let mut deps = Vec::with_capacity(candidates[pick].dependencies.len());
        match &candidates {
            // Borrowed from the catalog for the whole resolution: lend the
            // names and requirements on.
            Cow::Borrowed(all) => {
                let all: &'a [Candidate] = all;
                for (name, req) in &all[pick].dependencies {
                    let dep = self.intern(Cow::Borrowed(name));
                    self.require(dep, Cow::Borrowed(req), By::Package(id));
                    deps.push(dep);
                }
            }
            Cow::Owned(all) => {
                for (name, req) in &all[pick].dependencies {
                    let dep = self.intern(Cow::Owned(name.clone()));
                    self.require(dep, Cow::Owned(req.clone()), By::Package(id));
                    deps.push(dep);
                }
            }
        }
        let node = &mut self.nodes[id];
        node.candidates = candidates;
        node.selected = Some(pick);
        node.deps = deps;
    }

    /// The version `id` should have under its current requirements.
    fn choose(&self, id: usize) -> Result<usize, ResolveError> {
        let node = &self.nodes[id];
        if node.candidates.is_empty() {
            return Err(ResolveError::NotFound {
                name: node.name.clone().into_owned(),
                requested_by: self.requesters(node),
                searched: self.catalog.describe(),
            });
        }
        let fits = |c: &Candidate| node.requirements.iter().all(|r| r.req.matches(&c.version));
        if let Some(locked) = self.prefer.and_then(|lock| lock.get(&node.name)) {
            let mut same = node
                .candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.version == locked.version)
                .peekable();
            if let Some(&(_, first)) = same.peek()
                && fits(first)
            {
                return match same.find(|(_, c)| c.digest == locked.digest) {
                    Some((i, _)) => Ok(i),
                    None => Err(ResolveError::LockMismatch {
                        name: node.name.clone().into_owned(),
                        version: locked.version.clone(),
                        locked: Box::new(locked.digest),
                        found: Box::new(first.digest),
                    }),
                };
            }
        }
        let Some(pick) = node.candidates.iter().position(fits) else {
            return Err(self.explain(node));
        };
        let version = &node.candidates[pick].version;
        let mut digests: Vec<Digest> = node.candidates[pick..]
            .iter()
            .take_while(|c| &c.version == version)
            .map(|c| c.digest)
            .collect();
        digests.sort();
        digests.dedup();
        if digests.len() > 1 {
            return Err(ResolveError::Ambiguous {
                name: node.name.clone().into_owned(),
                version: version.clone(),
                digests,
            });
        }
        Ok(pick)
    }

    /// Why no version of `node` satisfies its requirements: one that
    /// matches nothing, else the first two that exclude each other.
    fn explain(&self, node: &Node<'a>) -> ResolveError {
        let mut available: Vec<Version> =
            node.candidates.iter().map(|c| c.version.clone()).collect();
        available.reverse();
        available.dedup();
        let reqs: Vec<(VersionReq, String)> = node
            .requirements
            .iter()
            .map(|r| (r.req.as_ref().clone(), self.requester(r.by)))
            .collect();
        let any =
            |test: &dyn Fn(&Version) -> bool| node.candidates.iter().any(|c| test(&c.version));
        for (req, by) in &reqs {
            if !any(&|v| req.matches(v)) {
                return ResolveError::NoMatch {
                    name: node.name.clone().into_owned(),
                    req: req.clone(),
                    requested_by: by.clone(),
                    available: available.into(),
                };
            }
        }
        for (i, first) in reqs.iter().enumerate() {
            for second in &reqs[i + 1..] {
                if !any(&|v| first.0.matches(v) && second.0.matches(v)) {
                    return ResolveError::Conflict {
                        name: node.name.clone().into_owned(),
                        first: Box::new(first.clone()),
                        second: Box::new(second.clone()),
                    };
                }
            }
        }
        ResolveError::Unsatisfiable {
            name: node.name.clone().into_owned(),
            requirements: reqs,
            available: available.into(),
        }
    }

    fn requester(&self, by: By) -> String {
        match by {
            By::Root(i) => self.roots[i].requested_by.clone(),
            By::Package(id) => {
                let node = &self.nodes[id];
                match node.selected {
                    Some(s) => format!("{}@{}", node.name, node.candidates[s].version),
                    None => node.name.to_string(),
                }
            }
        }
    }

    /// Who requires `node`, each once, in the order they asked.
    fn requesters(&self, node: &Node<'a>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &node.requirements {
            let who = self.requester(r.by);
            if !out.contains(&who) {
                out.push(who);
            }
        }
        out
    }

    /// The error for an exhausted step budget, naming the package re-picked
    /// most often (`current`, the one just settled, if none was).
    fn too_complex(&self, current: usize) -> ResolveError {
        let worst = self
            .nodes
            .iter()
            .max_by_key(|n| n.picks)
            .unwrap_or(&self.nodes[current]);
        ResolveError::TooComplex {
            steps: self.steps,
            name: worst.name.clone().into_owned(),
            repicks: worst.picks,
        }
    }

    /// The selections reachable from the roots (a package dropped by every
    /// dependent is left out, even if a cycle still holds it).
    fn finish(&self, root_ids: &[usize]) -> Resolution {
        let mut reachable = vec![false; self.nodes.len()];
        let mut stack: Vec<usize> = root_ids.to_vec();
        while let Some(id) = stack.pop() {
            if !std::mem::replace(&mut reachable[id], true) {
                stack.extend(&self.nodes[id].deps);
            }
        }
        // `name@version` of every package that may be a requester, once.
        let labels: Vec<Option<String>> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(id, node)| {
                let selected = node.selected.filter(|_| reachable[id])?;
                Some(format!(
                    "{}@{}",
                    node.name, node.candidates[selected].version
                ))
            })
            .collect();
        let mut packages = BTreeMap::new();
        for (id, node) in self.nodes.iter().enumerate() {
            let (true, Some(selected)) = (reachable[id], node.selected) else {
                continue;
            };
            let mut requested_by: Vec<String> = node
                .requirements
                .iter()
                .filter_map(|r| match r.by {
                    By::Root(i) => Some(self.roots[i].requested_by.clone()),
                    By::Package(p) => labels[p].clone(),
                })
                .collect();
            requested_by.sort();
            requested_by.dedup();
            let candidate = &node.candidates[selected];
            packages.insert(
                node.name.clone().into_owned(),
                Resolved {
                    version: candidate.version.clone(),
                    digest: candidate.digest,
                    requested_by,
                },
            );
        }
        Resolution { packages }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::LockedPackage;

    fn name(s: &str) -> PackageName {
        s.parse().expect("valid name")
    }

    fn digest_of(pkg: &str, version: &str) -> Digest {
        Digest::of(format!("{pkg}@{version}").as_bytes())
    }

    fn entry(pkg: &str, version: &str, deps: &[(&str, &str)]) -> IndexEntry {
        IndexEntry {
            name: name(pkg),
            version: version.parse().expect("valid version"),
            digest: digest_of(pkg, version),
            size: 1,
            dependencies: deps
                .iter()
                .map(|(n, r)| (name(n), r.parse().expect("valid requirement")))
                .collect(),
            file: format!("{}-{version}.wpkg", pkg.replace(':', "-")),
        }
    }

    fn catalog(entries: Vec<IndexEntry>) -> IndexCatalog {
        IndexCatalog::new(entries).describe_as("the test index")
    }

    fn cli(pkg: &str, req: &str) -> Request {
        Request::new(
            name(pkg),
            req.parse().expect("valid requirement"),
            "the command line",
        )
    }

    fn versions(resolution: &Resolution) -> Vec<String> {
        resolution
            .packages
            .iter()
            .map(|(n, r)| format!("{n}@{}", r.version))
            .collect()
    }

    #[test]
    fn the_highest_compatible_version_is_picked() {
        let cat = catalog(vec![
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "1.9.3", &[]),
            entry("acme:fs", "1.2.0", &[]),
            entry("acme:fs", "2.0.0", &[]),
        ]);
        let r = resolve(&[cli("acme:fs", "^1.2")], &cat, None).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.9.3"]);
        let fs = &r.packages[&name("acme:fs")];
        assert_eq!(fs.digest, digest_of("acme:fs", "1.9.3"));
        assert_eq!(fs.requested_by, ["the command line"]);
    }

    #[test]
    fn dependencies_are_resolved_transitively() {
        let cat = catalog(vec![
            entry("acme:agent", "1.0.0", &[("acme:grep", "^1")]),
            entry("acme:grep", "1.4.0", &[("acme:fs", "^1.2")]),
            entry("acme:grep", "2.0.0", &[]),
            entry("acme:fs", "1.1.0", &[]),
            entry("acme:fs", "1.3.0", &[]),
            entry("acme:unused", "1.0.0", &[]),
        ]);
        let r = resolve(&[cli("acme:agent", "*")], &cat, None).expect("resolves");
        assert_eq!(
            versions(&r),
            ["acme:agent@1.0.0", "acme:fs@1.3.0", "acme:grep@1.4.0"]
        );
        assert_eq!(
            r.packages[&name("acme:fs")].requested_by,
            ["acme:grep@1.4.0"]
        );
        assert_eq!(
            r.packages[&name("acme:grep")].requested_by,
            ["acme:agent@1.0.0"]
        );
    }

    #[test]
    fn a_later_requirement_narrows_and_the_old_choice_is_withdrawn() {
        // `acme:fs ^1` first picks 1.9.0, which needs util ^2 and extra;
        // then grep needs fs ~1.2, so fs is re-picked to 1.2.5, whose own
        // dependency (util ^1) must not clash with 1.9.0's withdrawn ^2.
        let cat = catalog(vec![
            entry(
                "acme:fs",
                "1.9.0",
                &[("acme:util", "^2"), ("acme:extra", "^1")],
            ),
            entry("acme:fs", "1.2.5", &[("acme:util", "^1")]),
            entry("acme:fs", "1.2.0", &[]),
            entry("acme:grep", "1.0.0", &[("acme:fs", "~1.2")]),
            entry("acme:util", "1.0.0", &[]),
            entry("acme:util", "2.0.0", &[]),
            entry("acme:extra", "1.0.0", &[]),
        ]);
        let roots = [cli("acme:fs", "^1"), cli("acme:grep", "^1")];
        let r = resolve(&roots, &cat, None).expect("resolves");
        assert_eq!(
            versions(&r),
            ["acme:fs@1.2.5", "acme:grep@1.0.0", "acme:util@1.0.0"]
        );
        assert_eq!(
            r.packages[&name("acme:fs")].requested_by,
            ["acme:grep@1.0.0", "the command line"]
        );
        assert_eq!(
            r.packages[&name("acme:util")].requested_by,
            ["acme:fs@1.2.5"]
        );
    }

    #[test]
    fn a_conflict_names_both_requirements_and_who_made_them() {
        let cat = catalog(vec![
            entry("acme:grep", "1.4.0", &[("acme:fs", "^1.2")]),
            entry("acme:fs", "1.2.0", &[]),
            entry("acme:fs", "2.0.0", &[]),
        ]);
        let roots = [cli("acme:grep", "^1"), cli("acme:fs", "^2.0")];
        let err = resolve(&roots, &cat, None).expect_err("conflict");
        assert!(
            matches!(&err, ResolveError::Conflict { name: n, .. } if n == &name("acme:fs")),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "conflicting requirements on `acme:fs`: `^2.0` (required by the command line) and \
             `^1.2` (required by acme:grep@1.4.0)"
        );
    }

    #[test]
    fn no_match_lists_the_available_versions() {
        let cat = catalog(vec![
            entry("acme:fs", "2.0.0", &[]),
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "1.2.0", &[]),
        ]);
        let err = resolve(&[cli("acme:fs", "^3")], &cat, None).expect_err("no match");
        match &err {
            ResolveError::NoMatch { available, .. } => assert_eq!(available.len(), 3),
            other => panic!("unexpected: {other}"),
        }
        assert_eq!(
            err.to_string(),
            "no version of `acme:fs` matches `^3` (required by the command line); available: \
             1.0.0, 1.2.0, 2.0.0"
        );
    }

    #[test]
    fn a_missing_package_names_where_it_was_looked_for() {
        let cat = catalog(vec![entry("acme:grep", "1.0.0", &[("acme:nope", "^1")])]);
        let err = resolve(&[cli("acme:grep", "*")], &cat, None).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "no package `acme:nope` in the test index, required by acme:grep@1.0.0"
        );
    }

    #[test]
    fn pre_releases_match_only_requirements_that_name_them() {
        let cat = catalog(vec![
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "2.0.0-beta.1", &[]),
        ]);
        let r = resolve(&[cli("acme:fs", "*")], &cat, None).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.0.0"]);
        let err = resolve(&[cli("acme:fs", "^2")], &cat, None).expect_err("pre-release");
        assert!(err.to_string().contains("pre-release"), "{err}");
        let r = resolve(&[cli("acme:fs", "^2.0.0-beta.1")], &cat, None).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@2.0.0-beta.1"]);
    }

    fn lock(pkg: &str, version: &str, digest: Digest) -> Lockfile {
        let mut lock = Lockfile::new();
        lock.insert(
            name(pkg),
            LockedPackage {
                version: version.parse().expect("version"),
                digest,
            },
        );
        lock
    }

    #[test]
    fn a_lockfile_pin_wins_over_a_newer_compatible_version() {
        let cat = catalog(vec![
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "1.2.0", &[]),
            entry("acme:fs", "1.9.0", &[]),
        ]);
        let pinned = lock("acme:fs", "1.2.0", digest_of("acme:fs", "1.2.0"));
        let r = resolve(&[cli("acme:fs", "^1")], &cat, Some(&pinned)).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.2.0"]);
        // Without the lockfile the newest wins.
        let r = resolve(&[cli("acme:fs", "^1")], &cat, None).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.9.0"]);
        // A pin the requirements rule out is ignored.
        let r = resolve(&[cli("acme:fs", "^1.5")], &cat, Some(&pinned)).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.9.0"]);
        // Lockfiles round-trip a resolution.
        let again = resolve(
            &[cli("acme:fs", "^1")],
            &cat,
            Some(&Lockfile::from_resolution(&r)),
        )
        .expect("resolves");
        assert_eq!(again, r);
    }

    #[test]
    fn a_changed_digest_under_a_pin_is_refused() {
        let cat = catalog(vec![
            entry("acme:fs", "1.2.0", &[]),
            entry("acme:fs", "1.9.0", &[]),
        ]);
        let pinned = lock("acme:fs", "1.2.0", Digest::of(b"what was locked"));
        let err = resolve(&[cli("acme:fs", "^1")], &cat, Some(&pinned)).expect_err("mismatch");
        assert!(matches!(err, ResolveError::LockMismatch { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains(&Digest::of(b"what was locked").to_string()),
            "{msg}"
        );
        assert!(
            msg.contains(&digest_of("acme:fs", "1.2.0").to_string()),
            "{msg}"
        );
        assert!(msg.contains("acme:fs@1.2.0"), "{msg}");
    }

    #[test]
    fn one_version_with_two_digests_is_ambiguous() {
        let mut other = entry("acme:fs", "1.0.0", &[]);
        other.digest = Digest::of(b"impostor");
        let cat = catalog(vec![entry("acme:fs", "1.0.0", &[]), other]);
        let err = resolve(&[cli("acme:fs", "^1")], &cat, None).expect_err("ambiguous");
        assert!(matches!(err, ResolveError::Ambiguous { .. }), "{err}");
        // Identical duplicates (the same package in two sources) are fine.
        let cat = catalog(vec![
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "1.0.0", &[]),
        ]);
        assert!(resolve(&[cli("acme:fs", "^1")], &cat, None).is_ok());
    }

    #[test]
    fn dependency_cycles_resolve() {
        let cat = catalog(vec![
            entry("acme:a", "1.0.0", &[("acme:b", "^1")]),
            entry("acme:b", "1.0.0", &[("acme:a", "^1")]),
            entry("acme:self", "1.0.0", &[("acme:self", "^1")]),
        ]);
        let r =
            resolve(&[cli("acme:a", "*"), cli("acme:self", "*")], &cat, None).expect("resolves");
        assert_eq!(
            versions(&r),
            ["acme:a@1.0.0", "acme:b@1.0.0", "acme:self@1.0.0"]
        );
        assert_eq!(
            r.packages[&name("acme:a")].requested_by,
            ["acme:b@1.0.0", "the command line"]
        );
    }

    #[test]
    fn an_unsolvable_cycle_stops_with_a_clear_error() {
        // a@2 needs b =1, which needs a =1, which needs b =2, which needs
        // a =2: every choice rules out the previous one.
        let cat = catalog(vec![
            entry("acme:a", "2.0.0", &[("acme:b", "=1.0.0")]),
            entry("acme:a", "1.0.0", &[("acme:b", "=2.0.0")]),
            entry("acme:b", "1.0.0", &[("acme:a", "=1.0.0")]),
            entry("acme:b", "2.0.0", &[("acme:a", "=2.0.0")]),
        ]);
        let err = resolve(&[cli("acme:a", "*")], &cat, None).expect_err("unsolvable");
        assert!(matches!(err, ResolveError::TooComplex { .. }), "{err}");
        assert!(err.to_string().contains("gave up resolving"), "{err}");
    }

    #[test]
    fn a_transient_conflict_is_not_reported() {
        // fs is required as ^2 by old@2 and as ^1 by app; old is then
        // re-picked to 1.0.0 (which drops its fs requirement), so the
        // conflict on fs disappears.
        let cat = catalog(vec![
            entry(
                "acme:app",
                "1.0.0",
                &[("acme:fs", "^1"), ("acme:old", "^1")],
            ),
            entry("acme:old", "2.0.0", &[("acme:fs", "^2")]),
            entry("acme:old", "1.0.0", &[]),
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:fs", "2.0.0", &[]),
        ]);
        let roots = [cli("acme:old", "*"), cli("acme:app", "*")];
        let r = resolve(&roots, &cat, None).expect("resolves");
        assert_eq!(
            versions(&r),
            ["acme:app@1.0.0", "acme:fs@1.0.0", "acme:old@1.0.0"]
        );
    }

    #[test]
    fn unsorted_catalogs_are_sorted() {
        struct Unsorted;
        impl Catalog for Unsorted {
            fn candidates(&self, name: &PackageName) -> Cow<'_, [Candidate]> {
                ["1.0.0", "1.5.0", "1.2.0"]
                    .iter()
                    .map(|v| Candidate {
                        version: v.parse().expect("version"),
                        digest: digest_of(&name.to_string(), v),
                        dependencies: BTreeMap::new(),
                    })
                    .collect::<Vec<_>>()
                    .into()
            }
        }
        let r = resolve(&[cli("acme:fs", "^1")], &Unsorted, None).expect("resolves");
        assert_eq!(versions(&r), ["acme:fs@1.5.0"]);
        let err = resolve(&[cli("acme:fs", "^9")], &Unsorted, None).expect_err("none");
        assert!(
            err.to_string().contains("available: 1.0.0, 1.2.0, 1.5.0"),
            "{err}"
        );
    }

    #[test]
    fn the_catalog_groups_and_orders_versions() {
        let cat = IndexCatalog::new(vec![
            entry("acme:fs", "1.0.0", &[]),
            entry("acme:grep", "1.0.0", &[]),
            entry("acme:fs", "1.1.0", &[]),
            entry("acme:fs", "1.1.0", &[]),
        ]);
        assert_eq!(cat.len(), 2);
        let fs: Vec<String> = cat
            .versions(&name("acme:fs"))
            .iter()
            .map(|c| c.version.to_string())
            .collect();
        assert_eq!(fs, ["1.1.0", "1.0.0"]);
        assert!(cat.versions(&name("acme:none")).is_empty());
        assert_eq!(cat.describe(), "the package index");
    }
}

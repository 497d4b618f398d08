//! The pure model: the snapshot types and what is derived from them (containers, namespace
//! table and matrix, process tree, cgroup tree). No I/O here; `collect` fills it, `ui` and
//! `dump` render it.

pub mod cgtree;
pub mod containers;
pub mod engines;
pub mod namespaces;
mod snapshot;
pub mod tree;

pub use containers::StateEntry;
pub use snapshot::*;

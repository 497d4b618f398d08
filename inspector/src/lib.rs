//! ocitop: a live terminal inspector of the container hierarchy, read from /proc.
//!
//! Three layers: [`collect`] reads /proc, cgroupfs and the runtimes' state dirs over
//! injectable roots into a [`model::Snapshot`]; [`model`] is pure (containers, namespaces,
//! trees); [`ui`] draws it live and [`dump`] prints it once.

pub mod collect;
pub mod dump;
pub mod format;
pub mod model;
pub mod ui;

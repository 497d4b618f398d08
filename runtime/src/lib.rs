//! ocirun: a reference OCI runtime (OCI Runtime Spec 1.3) with runc's command line.

pub mod cgroups;
pub mod rootfs;

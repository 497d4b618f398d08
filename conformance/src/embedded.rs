//! What the binary carries: the static probe, the cases and the catalogue (see build.rs).

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The static probe binary, copied into every bundle's rootfs as `/probe`.
pub const PROBE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/probe.bin"));

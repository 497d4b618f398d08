//! Build script: embeds the static probe, the cases and the requirements catalogue, so that
//! `oci-conformance` is one file a runtime's CI downloads and runs.
//!
//! The probe is built by a nested `cargo build -p ocikit-probe` into a target dir of its own
//! under `OUT_DIR` (the outer cargo holds the lock of the usual one), statically linked with
//! glibc's `crt-static` because the container's rootfs has no libc. `OCIKIT_PROBE=PATH` embeds
//! a ready-made probe instead (for packagers and offline builds).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let workspace = manifest
        .parent()
        .expect("conformance lives in the workspace")
        .to_path_buf();

    println!("cargo:rerun-if-env-changed=OCIKIT_PROBE");
    let probe = match std::env::var_os("OCIKIT_PROBE") {
        Some(p) => PathBuf::from(p),
        None => build_probe(&workspace, &out),
    };
    std::fs::copy(&probe, out.join("probe.bin")).unwrap_or_else(|e| {
        panic!("cannot copy the probe {}: {e}", probe.display());
    });

    let mut code = String::new();
    code.push_str(&embed_dir("CASES", &manifest.join("cases"), true));
    code.push_str(&embed_dir(
        "REQUIREMENTS",
        &manifest.join("requirements"),
        false,
    ));
    std::fs::write(out.join("embedded.rs"), code).expect("OUT_DIR is writable");
}

fn build_probe(workspace: &Path, out: &Path) -> PathBuf {
    for dir in ["fixtures/probe/src", "fixtures/probe/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let triple = format!("{arch}-unknown-linux-gnu");
    let target_dir = out.join("probe-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args([
            "build",
            "--quiet",
            "-p",
            "ocikit-probe",
            "--release",
            "--target",
            &triple,
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env(
            format!(
                "CARGO_TARGET_{}_RUSTFLAGS",
                triple.to_uppercase().replace('-', "_")
            ),
            "-C target-feature=+crt-static",
        )
        .status()
        .expect("cannot run cargo to build the probe");
    assert!(status.success(), "building the probe failed");
    target_dir
        .join(&triple)
        .join("release")
        .join("ocikit-probe")
}

/// `pub const NAME: &[(&str, &str)]` of `(path relative to the crate, text)` for every `.toml`
/// under `dir` (one level of area directories when `nested`).
fn embed_dir(name: &str, dir: &Path, nested: bool) -> String {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(dir, nested, &mut files);
    files.sort();
    let mut code = format!("pub const {name}: &[(&str, &str)] = &[\n");
    for f in files {
        let rel = f
            .strip_prefix(dir.parent().expect("has a parent"))
            .expect("under dir");
        code.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            rel.display().to_string(),
            f.display().to_string()
        ));
    }
    code.push_str("];\n");
    code
}

fn collect(dir: &Path, nested: bool, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && nested {
            collect(&p, false, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

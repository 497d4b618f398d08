//! Container images made on the spot, with no registry: a busybox + probe rootfs (the fixtures
//! crate's) as one layer, written as an OCI image layout (image-spec "Image Layout": oci-layout,
//! index.json, blobs/sha256) in a tar archive that `ctr images import` loads.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peers_support::ok;

/// One image of the archive: its name and the process its containers run by default.
pub struct ImageSpec<'a> {
    /// The full reference containerd's CRI plugin knows it by (`docker.io/ocikit/probe:test`).
    pub name: &'a str,
    /// The image config's `Entrypoint`.
    pub entrypoint: &'a [&'a str],
}

/// Writes an OCI archive holding `images`, all on one layer made from `rootfs` (a directory),
/// into `dir`; returns the archive's path.
pub fn oci_archive(rootfs: &Path, images: &[ImageSpec<'_>], dir: &Path) -> PathBuf {
    let layout = dir.join("layout");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let layer = dir.join("layer.tar");
    // Numeric owners, sorted names: the layer reads the same whoever builds it.
    ok(Command::new("tar")
        .arg("--numeric-owner")
        .arg("--sort=name")
        .arg("-C")
        .arg(rootfs)
        .arg("-cf")
        .arg(&layer)
        .arg("."));
    let layer = std::fs::read(&layer).unwrap();
    let layer_digest = put_blob(&blobs, &layer);

    let mut manifests = Vec::new();
    for image in images {
        let config = serde_json::json!({
            "architecture": oci_arch(),
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                "Entrypoint": image.entrypoint,
                "WorkingDir": "/",
            },
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        });
        let config = serde_json::to_vec(&config).unwrap();
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": put_blob(&blobs, &config),
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": layer.len(),
            }],
        });
        let manifest = serde_json::to_vec(&manifest).unwrap();
        manifests.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": put_blob(&blobs, &manifest),
            "size": manifest.len(),
            "platform": {"architecture": oci_arch(), "os": "linux"},
            // containerd's importer names the image after this annotation.
            "annotations": {"io.containerd.image.name": image.name},
        }));
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = dir.join("images.tar");
    ok(Command::new("tar")
        .arg("-C")
        .arg(&layout)
        .arg("-cf")
        .arg(&archive)
        .arg("."));
    archive
}

/// Stores `bytes` as `blobs/sha256/<hex>`; returns `sha256:<hex>`.
fn put_blob(blobs: &Path, bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(blobs.join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

/// image-spec's name for this machine's architecture (Go's GOARCH).
fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

//! The binary's command line without root: listing, coverage, and case-file errors that name
//! the file and line.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_oci-conformance"))
}

#[test]
fn a_broken_case_file_is_reported_with_path_and_line() {
    let dir = std::env::temp_dir().join(format!("ocikit-conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("area")).unwrap();
    let case = dir.join("area/broken.toml");
    std::fs::write(
        &case,
        "description = \"x\"\nrequirements = [\"runtime/start/4d01a1\"]\n\n[[step]]\nop = \"explode\"\n",
    )
    .unwrap();
    let out = bin()
        .args(["list", "--only-cases"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:5:", case.display())),
        "{stderr}"
    );
    assert!(stderr.contains("explode"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn coverage_is_a_figure_per_level() {
    let out = bin().arg("coverage").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MUST "), "{text}");
    assert!(text.contains("level must"), "{text}");
    assert!(text.contains("level should"), "{text}");
}

#[test]
fn an_unknown_runtime_is_a_clear_error() {
    let out = bin()
        .args([
            "run",
            "--runtime",
            "/nonexistent/runtime",
            "--filter",
            "lifecycle/base",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent/runtime"), "{stderr}");
}

#[test]
fn own_cases_are_added_to_the_embedded_ones_and_explained() {
    let dir = std::env::temp_dir().join(format!("ocikit-conformance-own-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    std::fs::write(
        dir.join("mine/hostname.toml"),
        "description = \"my hostname\"\nrequirements = [\"runtime/create/f8dd36\"]\n[config]\nhostname = \"mine\"\n",
    )
    .unwrap();
    let out = bin().args(["list", "--cases"]).arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("mine/hostname"), "{text}");
    assert!(
        text.contains("lifecycle/base"),
        "the embedded cases stay: {text}"
    );
    let out = bin()
        .args(["explain", "mine/hostname", "--cases"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hostname: expects \"mine\""), "{text}");
    // An id that is already embedded is refused, naming the file.
    std::fs::create_dir_all(dir.join("lifecycle")).unwrap();
    std::fs::write(
        dir.join("lifecycle/base.toml"),
        "description = \"x\"\nrequirements = [\"runtime/create/f8dd36\"]\n",
    )
    .unwrap();
    let out = bin().args(["list", "--cases"]).arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("lifecycle/base.toml"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

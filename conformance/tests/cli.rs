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

#[test]
fn reports_from_two_hosts_merge_into_one_matrix() {
    let dir = std::env::temp_dir().join(format!("ocikit-conformance-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = |kernel: &str, status: &str| {
        serde_json::json!({"version": 1,
            "host": {"kernel": kernel, "cgroup": "v2", "architecture": "x86_64"},
            "runs": [{"runtime": {"name": "runc", "path": "/usr/sbin/runc", "version": "1",
                                  "oci_version": "1.0.2", "oci_version_source": "test"},
                      "millis": 5,
                      "cases": [{"case": "lifecycle/base", "area": "lifecycle", "description": "d",
                                 "requirements": ["runtime/create/f8dd36"], "status": status,
                                 "checks": [], "millis": 1}]}]})
        .to_string()
    };
    std::fs::write(dir.join("a.json"), report("6.1", "pass")).unwrap();
    std::fs::write(dir.join("b.json"), report("6.18", "fail")).unwrap();
    let md = dir.join("m.md");
    let out = bin()
        .arg("merge")
        .arg(dir.join("a.json"))
        .arg(dir.join("b.json"))
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("runc@6.1 v2 x86_64"), "{text}");
    assert!(text.contains("runc@6.18 v2 x86_64"), "{text}");
    let bad = bin().arg("merge").arg(&md).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

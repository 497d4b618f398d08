//! JUnit XML: a `<testsuite>` per runtime, a `<testcase>` per case, `<failure>`, `<error>`,
//! `<skipped>` with the reason, as CI systems display them.

use super::xml_escape;
use crate::verdict::{describe, RunResult, Status};
use std::fmt::Write;

pub fn render(runs: &[RunResult]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"oci-conformance\">\n",
    );
    for run in runs {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml_escape(&run.runtime.name),
            run.cases.len(),
            run.count(Status::Fail),
            run.count(Status::Error),
            run.count(Status::Skip),
            run.millis as f64 / 1000.0
        );
        for c in &run.cases {
            let _ = write!(
                out,
                "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                xml_escape(&run.runtime.name),
                xml_escape(&c.area),
                xml_escape(&c.case),
                c.millis as f64 / 1000.0
            );
            let detail = || {
                c.checks
                    .iter()
                    .filter(|k| k.status == c.status)
                    .map(|k| format!("{} [{}]", describe(k), k.requirements.join(" ")))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            let _ = match c.status {
                Status::Pass => writeln!(out, "/>"),
                Status::Skip => writeln!(
                    out,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml_escape(&c.reason)
                ),
                Status::Fail | Status::Error => {
                    let tag = if c.status == Status::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    writeln!(
                        out,
                        ">\n      <{tag} message=\"{}\">{}</{tag}>\n    </testcase>",
                        xml_escape(&c.reason),
                        xml_escape(&detail())
                    )
                }
            };
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::testing;

    #[test]
    fn renders_suites_and_outcomes() {
        let run = testing::run(
            "crun",
            &[
                ("a/x", Status::Pass),
                ("a/y", Status::Skip),
                ("a/z", Status::Error),
            ],
        );
        let xml = render(&[run]);
        assert!(xml.contains(
            "<testsuite name=\"crun\" tests=\"3\" failures=\"0\" errors=\"1\" skipped=\"1\""
        ));
        assert!(xml.contains("<testcase classname=\"crun.a\" name=\"a/x\" time=\"0.003\"/>"));
        assert!(xml.contains("<skipped message=\"why a/y\"/>"));
        assert!(xml.contains(
            "<error message=\"why a/z\">c: expected a, observed b [runtime/start/1]</error>"
        ));
        assert_eq!(xml.matches("<testcase").count(), 3);
    }
}

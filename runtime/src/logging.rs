//! Where warnings and errors go: errors to stderr and the `--log` file, warnings to the log
//! file (stderr without one), both in runc's formats
//! (`--log-format text`: logrus lines, `json`: `{"level","msg","time"}` lines that containerd's
//! shim and conmon read to report the runtime's error).
//!
//! runtime.md "Warnings": a warning never changes the flow; it is only written.

use std::fs::File;
use std::io::Write;
use std::sync::OnceLock;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Warn => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug)]
struct Logger {
    file: Option<File>,
    format: Format,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Opens the `--log` file (append, created if missing). Called once by main.
pub fn init(path: Option<&std::path::Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)?,
        ),
        None => None,
    };
    let _ = LOGGER.set(Logger {
        file,
        format,
        debug,
    });
    Ok(())
}

/// Writes a line to the log file only (stderr gets errors from main, warnings from [`warn`]).
fn to_file(level: Level, msg: &str) {
    let Some(logger) = LOGGER.get() else { return };
    let Some(mut file) = logger.file.as_ref() else {
        return;
    };
    let line = render(logger.format, level, msg, &crate::timefmt::now_rfc3339());
    // A log that cannot be written has nowhere to be reported; the command goes on.
    let _ = file.write_all(line.as_bytes());
}

/// One log line in runc's format, newline included.
pub fn render(format: Format, level: Level, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let value = serde_json::json!({ "level": level.name(), "msg": msg, "time": time });
            format!("{value}\n")
        }
        Format::Text => format!("time={:?} level={} msg={:?}\n", time, level.name(), msg),
    }
}

/// The command's fatal error: to the log file (stderr is main's job).
pub fn error(msg: &str) {
    to_file(Level::Error, msg);
}

/// runtime.md "Warnings": to the `--log` file, or stderr without one; then carry on.
///
/// Without a log file they go to stderr, but held back until [`flush_warnings`]: a command
/// that fails prints its error first (main flushes after it), so the line a user needs is
/// never the second one behind a routine warning.
pub fn warn(msg: &str) {
    match LOGGER.get() {
        Some(Logger { file: Some(_), .. }) => to_file(Level::Warn, msg),
        _ => match HELD.lock() {
            Ok(mut held) => held.push(msg.to_string()),
            Err(_) => eprintln!("ocirun: warning: {msg}"),
        },
    }
}

/// Warnings waiting for stderr (see [`warn`]).
static HELD: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Writes the held warnings to stderr: after the error of a failed command, at the end of a
/// successful one, and by `run` and `exec` once the process is started, before its output.
pub fn flush_warnings() {
    let held = match HELD.lock() {
        Ok(mut held) => std::mem::take(&mut *held),
        Err(_) => return,
    };
    for msg in held {
        eprintln!("ocirun: warning: {msg}");
    }
}

/// `--debug` lines: to the log file, or stderr when there is none.
pub fn debug(msg: &str) {
    let Some(logger) = LOGGER.get() else { return };
    if !logger.debug {
        return;
    }
    if logger.file.is_some() {
        to_file(Level::Debug, msg);
    } else {
        eprintln!("debug: {msg}");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn json_line_is_what_containerd_reads() {
        let line = render(
            Format::Json,
            Level::Error,
            "bad \"x\"",
            "2026-01-01T00:00:00Z",
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "bad \"x\"");
        assert_eq!(v["time"], "2026-01-01T00:00:00Z");
        assert!(line.ends_with('\n'));
    }

    #[test]
    fn text_line_is_logrus_like() {
        let line = render(Format::Text, Level::Warn, "a b", "T");
        assert_eq!(line, "time=\"T\" level=warning msg=\"a b\"\n");
    }
}

//! Signal names for `kill` (runc accepts `KILL`, `SIGKILL` or `9`; runtime.md "Kill").

use nix::sys::signal::Signal;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
#[error("invalid signal {0:?}")]
pub struct InvalidSignal(pub String);

/// Parses a signal given by number, by name, or by name without the `SIG` prefix (any case).
pub fn parse(text: &str) -> Result<Signal, InvalidSignal> {
    let bad = || InvalidSignal(text.to_string());
    if let Ok(n) = text.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let upper = text.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| bad())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(parse("9").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("KILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse("sigterm").unwrap(), Signal::SIGTERM);
        assert_eq!(parse("SIGUSR1").unwrap(), Signal::SIGUSR1);
        assert!(parse("NOPE").is_err());
        assert!(parse("0").is_err());
        assert!(parse("999").is_err());
    }
}

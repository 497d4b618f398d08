//! `ocirun events [--stats] [--interval 5s] <id>`.

use std::time::Duration;

use super::Global;
use ocirun::container::events::{self, Options};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the container's stats once, then exit
    #[arg(long)]
    pub stats: bool,
    /// Stats interval, a Go duration as runc takes it (5s, 500ms, 1m30s)
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// The container id
    pub id: String,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let opts = Options {
        stats_only: args.stats,
        interval: args.interval,
    };
    events::events(&g.root, &args.id, opts, &mut std::io::stdout().lock())?;
    Ok(0)
}

/// A Go `time.ParseDuration` string (runc's flag type): decimal numbers, each with a unit
/// of ns, us (µs), ms, s, m or h, summed (`1h2m0.5s`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\" (expected e.g. 5s, 500ms, 1m30s)");
    let mut rest = text.trim();
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let value: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += value * scale;
        rest = &rest[unit..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "5", "s", "5x", "-1s", "1..2s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

//! `ocirun update [--resources FILE|-] [runc's resource flags] <id>`.

use std::io::Read;

use super::Global;
use ocirun::container::update::{self, parse_size, Flags};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A LinuxResources JSON file ("-" for stdin)
    #[arg(short = 'r', long)]
    pub resources: Option<String>,
    /// Block IO weight (10-1000)
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    /// CPU CFS period (microseconds)
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota (microseconds)
    #[arg(long = "cpu-quota")]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    /// CPU realtime period (microseconds)
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime (microseconds)
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    /// CPUs to use (0-3, 0,1)
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (0-3, 0,1)
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// Memory limit (e.g. 64m; -1 for unlimited)
    #[arg(short = 'm', long, value_parser = parse_size, allow_hyphen_values = true)]
    pub memory: Option<i64>,
    /// Memory reservation (soft limit)
    #[arg(long = "memory-reservation", value_parser = parse_size, allow_hyphen_values = true)]
    pub memory_reservation: Option<i64>,
    /// Memory plus swap limit (-1 for unlimited)
    #[arg(long = "memory-swap", value_parser = parse_size, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Maximum number of pids (-1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Kernel memory limit (memory.kernel: written where the kernel still enforces it,
    /// refused where it cannot)
    #[arg(long = "kernel-memory", value_parser = parse_size, allow_hyphen_values = true)]
    pub kernel_memory: Option<i64>,
    /// Kernel TCP buffer memory limit (memory.kernelTCP)
    #[arg(long = "kernel-memory-tcp", value_parser = parse_size, allow_hyphen_values = true)]
    pub kernel_memory_tcp: Option<i64>,
    /// The container id
    pub id: String,
}

pub fn run(g: &Global, args: &Args) -> anyhow::Result<i32> {
    let json = match args.resources.as_deref() {
        None => None,
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| {
                anyhow::anyhow!("read --resources stdin: {}", ocirun::errno_text(&e))
            })?;
            Some((buf, "stdin".to_string()))
        }
        Some(path) => Some((
            std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("read --resources {path}: {}", ocirun::errno_text(&e))
            })?,
            path.to_string(),
        )),
    };
    let flags = Flags {
        blkio_weight: args.blkio_weight,
        cpu_period: args.cpu_period,
        cpu_quota: args.cpu_quota,
        cpu_share: args.cpu_share,
        cpu_rt_period: args.cpu_rt_period,
        cpu_rt_runtime: args.cpu_rt_runtime,
        cpuset_cpus: args.cpuset_cpus.clone(),
        cpuset_mems: args.cpuset_mems.clone(),
        memory: args.memory,
        memory_reservation: args.memory_reservation,
        memory_swap: args.memory_swap,
        kernel_memory: args.kernel_memory,
        kernel_memory_tcp: args.kernel_memory_tcp,
        pids_limit: args.pids_limit,
    };
    let (bytes, source) = match &json {
        Some((b, s)) => (Some(b.as_slice()), s.as_str()),
        None => (None, ""),
    };
    let resources = update::resources(bytes, source, &flags)?;
    update::update(&g.root, &args.id, &resources)?;
    Ok(0)
}

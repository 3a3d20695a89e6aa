//! CPU time and memory of another process, read from Linux's `/proc` (what Dapr's perf tests report for
//! daprd: CPU from utime+stime, memory as the peak resident set, VmHWM). Elsewhere these read as `None`.

use std::time::Duration;

/// Kernel clock ticks per second in `/proc/<pid>/stat` (USER_HZ, fixed at 100 on Linux's mainstream targets).
const USER_HZ: u64 = 100;

/// User + system CPU time the process has used so far (10 ms resolution).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    parse_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time of the process's threads whose name starts with `prefix` (Linux keeps 15 bytes of a name).
pub fn thread_cpu_time(pid: u32, prefix: &str) -> Option<Duration> {
    let mut total = None;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end().starts_with(prefix)
            && let Some(t) = std::fs::read_to_string(task.path().join("stat"))
                .ok()
                .and_then(|s| parse_cpu(&s))
        {
            total = Some(total.unwrap_or(Duration::ZERO) + t);
        }
    }
    total
}

fn parse_cpu(stat: &str) -> Option<Duration> {
    // The command name (field 2) may hold spaces and parentheses; the fields after its last `)` are fixed.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// A `Vm*` line of `/proc/<pid>/status` in KiB: `VmHWM` (peak resident set) or `VmRSS` (now).
pub fn vm_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        // Burn a little CPU so the reading is not trivially zero on a fast machine.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        assert!(cpu_time(pid).is_some_and(|t| t > Duration::ZERO));
        let (hwm, rss) = (vm_kib(pid, "VmHWM").unwrap(), vm_kib(pid, "VmRSS").unwrap());
        // The kernel updates the peak lazily, so it may trail the current figure by a few pages.
        assert!(rss > 0 && hwm + 256 >= rss, "{hwm} {rss}");
        assert_eq!(vm_kib(pid, "VmNoSuchField"), None);
        assert_eq!(cpu_time(u32::MAX), None);
        let named = std::thread::Builder::new()
            .name("procstat-probe".into())
            .spawn(move || {
                let start = std::time::Instant::now();
                while start.elapsed() < Duration::from_millis(30) {
                    std::hint::black_box(0u64);
                }
                thread_cpu_time(pid, "procstat-pro")
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(named.is_some_and(|t| t <= cpu_time(pid).unwrap()), "{named:?}");
        assert_eq!(thread_cpu_time(pid, "no-such-thread"), None);
    }
}

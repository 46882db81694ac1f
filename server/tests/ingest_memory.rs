//! The memory bound of ingestion, measured on the real `flowdash` binary: a month of flows
//! is ingested with `--ingest-memory-mb` set low, and the process's peak resident memory,
//! as the kernel counts it for a child that ended, stays within the setting plus what the
//! process needs without any writer.

use std::path::Path;
use std::process::{Command, Stdio};

const MIB: u64 = 1 << 20;

/// Runs `flowdash` with these arguments to its end: whether it succeeded, its peak resident
/// memory in bytes, and what it wrote on stderr.
// The child is reaped by `wait4`, which also gives its resource usage; `Child::wait` does not.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&str], dir: &Path) -> (bool, u64, String) {
    let stderr_path = dir.join(format!("stderr-{}", args[0]));
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_flowdash"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("flowdash starts");
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: waits for this test's own child, filling the two values it is given; the
    // child is reaped here, so `Child` is never waited on again.
    let waited = unsafe {
        libc::wait4(
            child.id() as libc::pid_t,
            &mut status,
            0,
            usage.as_mut_ptr(),
        )
    };
    assert_eq!(waited, child.id() as libc::pid_t, "wait4 failed");
    // SAFETY: wait4 succeeded and filled it.
    let usage = unsafe { usage.assume_init() };
    let succeeded = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    let peak = u64::try_from(usage.ru_maxrss).unwrap() * 1024;
    (
        succeeded,
        peak,
        std::fs::read_to_string(stderr_path).unwrap(),
    )
}

#[test]
fn a_month_of_flows_ingests_within_the_configured_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("month.log");
    let file = file.to_str().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (generated, _, stderr) = run_measured(
        &[
            "demo", "--flows", "120000", "--hours", "720", "--seed", "3", "--output", file,
        ],
        dir.path(),
    );
    assert!(generated, "{stderr}");

    // What the process holds with no writer open: `--help` loads the same binary.
    let (_, baseline, _) = run_measured(&["ingest", "--help"], dir.path());
    let budget_mb = 32;
    let (ingested, peak, stderr) = run_measured(
        &[
            "ingest",
            "--data-dir",
            data,
            "--ingest-memory-mb",
            &budget_mb.to_string(),
            file,
        ],
        dir.path(),
    );
    assert!(ingested, "{stderr}");
    assert!(
        stderr.contains("120000 accepted"),
        "not every record was stored: {stderr}"
    );
    let days = std::fs::read_dir(Path::new(data).join("indices"))
        .unwrap()
        .count();
    assert!((30..=31).contains(&days), "{days} days");
    // The writers' budget, and room for the reading buffer, a segment being merged and the
    // allocator's slack: far below one writer of a day alone before the budget (128 MB), let
    // alone the eight that could be open at once.
    let allowed = baseline + budget_mb * MIB + 64 * MIB;
    assert!(
        peak <= allowed,
        "peak {} MiB, allowed {} MiB (baseline {} MiB)",
        peak / MIB,
        allowed / MIB,
        baseline / MIB
    );
    eprintln!(
        "30 days, 120000 flows, --ingest-memory-mb {budget_mb}: peak {} MiB (baseline {} MiB)",
        peak / MIB,
        baseline / MIB
    );
}

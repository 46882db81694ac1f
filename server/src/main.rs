//! `flowdash`: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    keep_large_allocations_on_the_heap();
    let cli = server::cli::Cli::parse();
    server::telemetry::init(cli.log_format);
    match server::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!(
                "flowdash: {}",
                server::redact::redact(&format!("{error:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// Searches allocate tables of bucket rows of several megabytes per segment. glibc maps each
/// allocation above its threshold afresh, and pays page faults to fill it and an unmap to free
/// it, until frees have raised the threshold on their own: a server's first hundred or so
/// searches ran half again slower than the later ones. A fixed threshold of 64 MiB serves
/// them from the heap from the start.
fn keep_large_allocations_on_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in `main`, before any other thread can allocate; it only sets
    // a tunable of the allocator.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
    }
}

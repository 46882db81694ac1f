//! `flowdash`: parse the command line and hand over to the library.

// Its pages hydrate only in a bundle built with Leptos's views erased as they are here
// (`.cargo/config.toml`); RUSTFLAGS replaces the flags set there.
#[cfg(not(erase_components))]
compile_error!("build with `--cfg erase_components` as the browser bundle is (see .cargo/config.toml); RUSTFLAGS replaces the flags set there");

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    keep_large_allocations_on_the_heap();
    limit_allocator_arenas();
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

/// glibc gives threads up to eight heaps (arenas) per core, and a heap keeps what was freed in
/// it. With tokio's workers, tantivy's indexing and merging threads and the search threads all
/// allocating, the resident heap of a 10-minute soak (10,000 records/s, live dashboards) crept
/// up 30 % between its second and last quarters; with as many arenas as cores, 14 %
/// (`scripts/bench soak`). `MALLOC_ARENA_MAX` in the environment still decides.
fn limit_allocator_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: called first thing in `main`, before any other thread can allocate; it only
        // sets a tunable of the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

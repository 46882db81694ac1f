//! The command line: `flowdash serve | ingest | demo`. Every flag has a `FLOWDASH_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::http::{self, ServeConfig};
use crate::telemetry::LogFormat;

/// Dashboards for AWS VPC Flow Logs: who talks to whom, what gets rejected, and when.
#[derive(Debug, Parser)]
#[command(name = "flowdash", version, propagate_version = true)]
pub struct Cli {
    /// Log line format on stderr (filter with RUST_LOG).
    #[arg(
        long,
        global = true,
        env = "FLOWDASH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the UI and the HTTP API.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FLOWDASH_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Where the embedded engine keeps its indices and saved objects.
    #[arg(long, env = "FLOWDASH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// The compiled UI (WASM, JS, CSS, static files) that `cargo leptos build` writes.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
}

/// Runs the parsed command to completion.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(http::serve(ServeConfig {
            listen: args.listen,
            data_dir: args.data_dir,
            site_root: args.site_root,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_flags_parse() {
        let cli = Cli::try_parse_from([
            "flowdash",
            "serve",
            "--listen",
            "127.0.0.1:4000",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command;
        assert_eq!(args.listen.port(), 4000);
        assert_eq!(args.data_dir, PathBuf::from("/tmp/x"));
    }
}

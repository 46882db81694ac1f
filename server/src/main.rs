//! `flowdash`: parse the command line and hand over to the library.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = server::cli::Cli::parse();
    server::telemetry::init(cli.log_format);
    server::cli::run(cli)
}

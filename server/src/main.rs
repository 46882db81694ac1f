//! `flowdash`: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = server::cli::Cli::parse();
    server::telemetry::init(cli.log_format);
    match server::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("flowdash: {error:#}");
            ExitCode::from(2)
        }
    }
}

//! `tessera`: parse the command line, run the command, print a one-line error on failure.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    tessera::cli::main().await
}

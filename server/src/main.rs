//! `tessera`: parse the command line, run the command, print a one-line error on failure.

use std::process::ExitCode;

/// jemalloc over glibc malloc: under load glibc's arena locks (a buffer allocated on one
/// worker thread and freed on another) took a sixth of the server's CPU; jemalloc served
/// 12% more discovery requests at about the same idle RSS (see README, "Performance").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tessera::cli::main().await
}

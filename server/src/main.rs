//! `tessera`: parse the command line, run the command, print a one-line error on failure.

use std::process::ExitCode;

/// jemalloc over glibc malloc: under load glibc's arena locks (a buffer allocated on one
/// worker thread and freed on another) took a sixth of the server's CPU; jemalloc served
/// 12% more discovery requests at about the same idle RSS (see README, "Performance").
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The compiled site, when `cargo xtask build --release` embeds it (`TESSERA_EMBED_SITE`,
/// see build.rs); empty otherwise. In the binary only, not the library: a changed site
/// file then recompiles this file alone, not the server.
static SITE: tessera::site::Files = include!(env!("TESSERA_SITE_TABLE"));

#[tokio::main]
async fn main() -> ExitCode {
    tessera::site::embed(SITE);
    tessera::cli::main().await
}

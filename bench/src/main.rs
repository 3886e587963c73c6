//! `tessera-bench`: the load generator and report writer of the side-by-side benchmark
//! (Tessera vs panva's node-oidc-provider). Driven by `scripts/bench.sh`.
//!
//! ```text
//! tessera-bench run --target tessera --base http://127.0.0.1:28081 --scenario discovery \
//!     --duration 10s --warmup 3s --concurrency 32 --client-id ID --client-secret SECRET \
//!     [--pid PID] [--out FILE]
//! tessera-bench report --results DIR --meta meta.json --out-dir bench/results
//! tessera-bench floors [--each 2s] [--out floors.json]
//! tessera-bench serve-static --addr 127.0.0.1:28083 --body discovery.json
//! tessera-bench client-key --out client-key.der      # prints the public JWK Set
//! ```
//!
//! `run` talks to one server (endpoints come from its discovery document), or with a
//! repeated `--base` to several instances of one deployment, each worker alternating
//! between them request by request; N workers each with their own keep-alive connection
//! (one per instance), a warm-up then a fixed measured window;
//! any non-2xx answer (3xx where a redirect is the protocol's answer) or network error is
//! an error. It prints and writes one JSON object.

mod floors;
mod jose;
mod lean;
mod report;
mod run;
mod static_server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tessera-bench", about = "Benchmark harness: Tessera vs node-oidc-provider")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one scenario against one server and print/write its result as JSON.
    Run(Box<run::RunArgs>),
    /// Merge the results of a run into latest.json, latest.md and latest.svg.
    Report(report::ReportArgs),
    /// Measure the deliberate costs on all cores at once: RS256 and ES256 signatures, Argon2id.
    Floors(floors::FloorArgs),
    /// Serve one fixed body to every request with bare hyper: the HTTP floor.
    ServeStatic(static_server::StaticArgs),
    /// A new ES256 key for the private_key_jwt client: writes it, prints the public JWK Set.
    ClientKey(jose::ClientKeyArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::main(*args),
        Command::Report(args) => report::main(args),
        Command::Floors(args) => floors::main(args),
        Command::ServeStatic(args) => static_server::main(args),
        Command::ClientKey(args) => jose::client_key(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

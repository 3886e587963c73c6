//! Chooses the site table `src/main.rs` compiles in: the one `cargo xtask build --release`
//! generates (`TESSERA_EMBED_SITE` names it: an `include_bytes!` of every site file), or
//! an empty one. This script reruns only when the variable changes. A changed site file
//! is noticed by rustc itself (`include_bytes!` files are in the binary's dep-info) and
//! recompiles the binary's `main.rs` alone: watching the files here would rebuild the
//! whole server library on every stylesheet change.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=TESSERA_EMBED_SITE");
    let table = match std::env::var_os("TESSERA_EMBED_SITE").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_absolute() || !path.is_file() {
                eprintln!(
                    "TESSERA_EMBED_SITE={} is not an absolute path to a file (the site table \
                     that `cargo xtask build --release` writes)",
                    path.display()
                );
                std::process::exit(1);
            }
            path
        }
        None => {
            let Some(out) = std::env::var_os("OUT_DIR") else {
                eprintln!("OUT_DIR is not set (build scripts run under cargo)");
                std::process::exit(1);
            };
            let empty = PathBuf::from(out).join("no-site.rs");
            if let Err(e) = std::fs::write(&empty, "&[]\n") {
                eprintln!("writing {}: {e}", empty.display());
                std::process::exit(1);
            }
            empty
        }
    };
    let Some(table) = table.to_str() else {
        eprintln!("the site table's path is not UTF-8: {}", table.display());
        std::process::exit(1);
    };
    println!("cargo:rustc-env=TESSERA_SITE_TABLE={table}");
}

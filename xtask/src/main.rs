//! `cargo xtask`: builds Tessera's site the way `make run` serves it, without cargo-leptos.
//!
//! ```text
//! cargo xtask build [--release] [--front-only]
//! ```
//!
//! One build is four steps, each skipped when its output is already up to date:
//! 1. the hydrating WASM bundle: `cargo build` of the `lib-package` for
//!    `wasm32-unknown-unknown` (profile `lib-profile-release` in release);
//! 2. its JavaScript glue: `wasm-bindgen` (the library, at Cargo.lock's version), then in
//!    release `wasm-opt -Oz` (npm's binaryen) — skipped when the compiled `.wasm` is the
//!    one the site was last generated from;
//! 3. the stylesheet and static assets, copied into the site;
//! 4. the server binary: `cargo build` of the `bin-package`. In release the site is
//!    embedded in it: a table of `include_bytes!` of every site file is written next to
//!    the site (`target/site.embed.rs`, rewritten only when the list changes) and named to
//!    the server's build script by `TESSERA_EMBED_SITE` (server/build.rs). rustc tracks
//!    the included files, so a changed file recompiles only the binary's `main.rs`.
//!
//! The configuration is read from `[[workspace.metadata.leptos]]` in the workspace's
//! `Cargo.toml`, the same table `cargo leptos watch` reads, so the two agree on every
//! path and name; compiler flags and `LEPTOS_OUTPUT_NAME` come from `.cargo/config.toml`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};

const USAGE: &str = "usage: cargo xtask build [--release] [--front-only]

  --release     optimised server, WASM through wasm-opt (what `make run` serves)
  --front-only  build the site (WASM, JS, CSS, assets) but not the server binary

Environment: CARGO_TARGET_DIR, LEPTOS_SITE_ROOT (where the site goes; default from
Cargo.toml), WASM_OPT (path to wasm-opt; default end2end/node_modules/.bin/wasm-opt).";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let mut release = false;
    let mut front_only = false;
    let mut command = None;
    for a in &args {
        match a.as_str() {
            "--release" => release = true,
            "--front-only" => front_only = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "build" if command.is_none() => command = Some("build"),
            other => bail!("unexpected argument {other:?}\n\n{USAGE}"),
        }
    }
    if command.is_none() {
        bail!("no command given\n\n{USAGE}");
    }
    let site = Site::load()?;
    let started = Instant::now();
    let mode = if release { "release" } else { "debug" };
    println!("==> building the {mode} site into {}", site.root.display());
    site.build_front(release)?;
    site.copy_style()?;
    site.copy_assets()?;
    if !front_only {
        site.build_server(release)?;
    }
    println!("==> site built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// What `cargo run` sets for the program it runs (as prefixes), none of which a build of
/// another package should inherit.
const CARGO_RUN_VARS: &[&str] = &[
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
];

/// One `[[workspace.metadata.leptos]]` entry: the fields this builder uses.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct LeptosConfig {
    name: String,
    #[serde(default)]
    output_name: Option<String>,
    bin_package: String,
    lib_package: String,
    site_root: String,
    site_pkg_dir: String,
    style_file: Option<String>,
    assets_dir: Option<String>,
    #[serde(default)]
    bin_features: Vec<String>,
    #[serde(default = "yes")]
    bin_default_features: bool,
    #[serde(default)]
    lib_features: Vec<String>,
    #[serde(default = "yes")]
    lib_default_features: bool,
    #[serde(default)]
    lib_profile_release: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct Metadata {
    workspace_root: PathBuf,
    target_directory: PathBuf,
    #[serde(default)]
    metadata: Option<WorkspaceMetadata>,
}

#[derive(Deserialize)]
struct WorkspaceMetadata {
    #[serde(default)]
    leptos: Vec<LeptosConfig>,
}

/// Where everything is, resolved once.
struct Site {
    cargo: OsString,
    config: LeptosConfig,
    workspace: PathBuf,
    target_dir: PathBuf,
    /// The site root (`target/site`): assets here, the bundle under `pkg/`.
    root: PathBuf,
    pkg: PathBuf,
}

impl Site {
    fn load() -> Result<Site> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        // The workspace root is this crate's parent; `cargo metadata` resolves the target
        // directory as cargo itself will (CARGO_TARGET_DIR, .cargo/config.toml). The
        // directory is the one `cargo run` gives at run time: the compiled-in one is where
        // this binary was built, another checkout when the target directory is shared
        // (CI's cache), and cargo does not rebuild an unchanged builder for a new path.
        let dir = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
        let manifest = dir.join("../Cargo.toml");
        let out = Command::new(&cargo)
            .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
            .arg(&manifest)
            .output()
            .context("running `cargo metadata`")?;
        if !out.status.success() {
            bail!("`cargo metadata` failed:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        let meta: Metadata = serde_json::from_slice(&out.stdout).context("reading `cargo metadata`")?;
        let Some(config) = meta.metadata.and_then(|m| m.leptos.into_iter().next()) else {
            bail!("no [[workspace.metadata.leptos]] table in {}", manifest.display());
        };
        let workspace = meta.workspace_root;
        // As cargo-leptos: LEPTOS_SITE_ROOT wins; a relative site root is relative to the
        // workspace (not to the target directory).
        let root = match std::env::var_os("LEPTOS_SITE_ROOT") {
            Some(r) if !r.is_empty() => PathBuf::from(r),
            _ => PathBuf::from(&config.site_root),
        };
        let root = if root.is_absolute() { root } else { workspace.join(root) };
        let pkg = root.join(&config.site_pkg_dir);
        Ok(Site {
            cargo,
            config,
            workspace,
            target_dir: meta.target_directory,
            root,
            pkg,
        })
    }

    fn output_name(&self) -> &str {
        self.config.output_name.as_deref().unwrap_or(&self.config.name)
    }

    /// A `cargo build` with the environment every Tessera build shares.
    fn cargo_build(&self, release_profile: Option<&str>, wasm: bool) -> Command {
        let mut cmd = Command::new(&self.cargo);
        cmd.current_dir(&self.workspace).arg("build");
        // `cargo run` hands this process its own package's variables (CARGO_PKG_NAME,
        // CARGO_MANIFEST_DIR, …). Build scripts that watch them (ring's do) would see a
        // change and rebuild on every switch between `cargo build` and this builder.
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if CARGO_RUN_VARS.iter().any(|p| key.starts_with(p)) {
                cmd.env_remove(key);
            }
        }
        if let Some(profile) = release_profile {
            cmd.arg(format!("--profile={profile}"));
        }
        // Leptos reads the bundle's name at compile time (hydration script links).
        cmd.env("LEPTOS_OUTPUT_NAME", self.output_name());
        // Components are type-erased in every build (`.cargo/config.toml` says why). A
        // RUSTFLAGS variable replaces the config's flags, so the flag is added back to it:
        // the server and the bundle must agree.
        if let Ok(flags) = std::env::var("RUSTFLAGS") {
            if !flags.split_whitespace().any(|f| f == "erase_components") {
                cmd.env("RUSTFLAGS", format!("{flags} --cfg erase_components").trim());
            }
        }
        if wasm {
            cmd.arg("--target=wasm32-unknown-unknown");
        }
        cmd
    }

    fn build_front(&self, release: bool) -> Result<()> {
        let c = &self.config;
        let profile = release.then(|| c.lib_profile_release.as_deref().unwrap_or("release"));
        let mut cmd = self.cargo_build(profile, true);
        cmd.arg(format!("--package={}", c.lib_package)).arg("--lib");
        if !c.lib_default_features {
            cmd.arg("--no-default-features");
        }
        if !c.lib_features.is_empty() {
            cmd.arg(format!("--features={}", c.lib_features.join(",")));
        }
        step("WASM bundle", &mut cmd)?;

        let wasm = self
            .target_dir
            .join("wasm32-unknown-unknown")
            .join(profile.unwrap_or("debug"))
            .join(format!("{}.wasm", c.lib_package.replace('-', "_")));
        let bytes = std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
        let name = self.output_name();
        let stamp_path = self.pkg.join(".xtask-stamp");
        let mut h = Sha256::new();
        h.update(env!("CARGO_PKG_VERSION"));
        h.update(if release { "release\0" } else { "debug\0" });
        h.update(&bytes);
        let stamp = hex(&h.finalize());
        let outputs = [format!("{name}.js"), format!("{name}.wasm")];
        let up_to_date = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s.trim() == stamp)
            && outputs.iter().all(|f| self.pkg.join(f).is_file());
        if up_to_date {
            println!("    JS/WASM up to date (same compiled bundle): skipped wasm-bindgen and wasm-opt");
            return Ok(());
        }
        // A half-written bundle must never look current: drop the stamp first.
        let _ = std::fs::remove_file(&stamp_path);
        std::fs::create_dir_all(&self.pkg).with_context(|| format!("creating {}", self.pkg.display()))?;

        let t = Instant::now();
        let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
        bindgen
            .input_bytes(name, bytes)
            .out_name(name)
            .web(true)?
            .typescript(false)
            .debug(!release)
            .keep_debug(false);
        bindgen.generate(&self.pkg).context("wasm-bindgen")?;
        // Leptos' hydration script loads `<name>.wasm`, not wasm-bindgen's `<name>_bg.wasm`.
        let out_wasm = self.pkg.join(format!("{name}.wasm"));
        std::fs::rename(self.pkg.join(format!("{name}_bg.wasm")), &out_wasm).context("renaming the bundle")?;
        println!("    wasm-bindgen: {:.1} s", t.elapsed().as_secs_f64());

        if release {
            let wasm_opt = self.wasm_opt()?;
            let mut cmd = Command::new(&wasm_opt);
            cmd.args(["-Oz", "--enable-bulk-memory", "--enable-nontrapping-float-to-int"])
                .arg(&out_wasm)
                .arg("-o")
                .arg(&out_wasm);
            step("wasm-opt -Oz", &mut cmd)?;
        }
        let size = std::fs::metadata(&out_wasm).map(|m| m.len()).unwrap_or(0);
        println!("    {}: {} KiB", out_wasm.display(), size / 1024);
        std::fs::write(&stamp_path, stamp).context("writing the bundle's stamp")?;
        Ok(())
    }

    fn wasm_opt(&self) -> Result<PathBuf> {
        if let Some(p) = std::env::var_os("WASM_OPT").filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        // npm's binaryen (end2end/package.json): Debian's wasm-opt breaks hydration.
        let npm = self.workspace.join("end2end/node_modules/.bin/wasm-opt");
        if npm.is_file() {
            return Ok(npm);
        }
        bail!(
            "wasm-opt not found at {} (run `scripts/setup.sh run`, or set WASM_OPT)",
            npm.display()
        )
    }

    fn copy_style(&self) -> Result<()> {
        let Some(style) = &self.config.style_file else {
            return Ok(());
        };
        let dest = self.pkg.join(format!("{}.css", self.output_name()));
        copy_if_changed(&self.workspace.join(style), &dest)
    }

    fn copy_assets(&self) -> Result<()> {
        let Some(dir) = &self.config.assets_dir else {
            return Ok(());
        };
        copy_tree(&self.workspace.join(dir), &self.root)
    }

    fn build_server(&self, release: bool) -> Result<()> {
        let c = &self.config;
        let mut cmd = self.cargo_build(release.then_some("release"), false);
        cmd.arg(format!("--package={}", c.bin_package))
            .arg(format!("--bin={}", c.bin_package));
        if !c.bin_default_features {
            cmd.arg("--no-default-features");
        }
        if !c.bin_features.is_empty() {
            cmd.arg(format!("--features={}", c.bin_features.join(",")));
        }
        // Debug builds serve the site from the directory: the debug binary is also the one
        // `cargo test` builds, and a different variable would rebuild it each time.
        if release {
            let table = self.write_embed_table()?;
            cmd.env("TESSERA_EMBED_SITE", &table);
        } else {
            cmd.env_remove("TESSERA_EMBED_SITE");
        }
        step("server", &mut cmd)?;
        let bin = self
            .target_dir
            .join(if release { "release" } else { "debug" })
            .join(&c.bin_package);
        println!("    binary: {}", bin.display());
        Ok(())
    }

    /// Writes the table of the site's files the release server embeds (see the module's
    /// doc), unless it already holds the same text; returns its path.
    fn write_embed_table(&self) -> Result<PathBuf> {
        let mut files = Vec::new();
        list_files(&self.root, &mut files)?;
        files.sort();
        let table = embed_table(&self.root, &files)?;
        let Some(name) = self.root.file_name() else {
            bail!("the site root {} has no directory name", self.root.display());
        };
        let path = self.root.with_file_name(format!("{}.embed.rs", name.to_string_lossy()));
        if std::fs::read(&path).is_ok_and(|old| old == table.as_bytes()) {
            return Ok(path);
        }
        std::fs::write(&path, table).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// Every file under `dir`, hidden ones (`pkg/.xtask-stamp`) left out.
fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            list_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// The Rust expression `server/src/main.rs` includes: `&[(url path, include_bytes!(file))]`
/// with the path relative to the site root, `/`-separated.
fn embed_table(root: &Path, files: &[PathBuf]) -> Result<String> {
    let mut out = format!(
        "// Written by `cargo xtask build --release`: the site at {}, embedded in the server.\n&[\n",
        root.display()
    );
    for file in files {
        let rel = file
            .strip_prefix(root)
            .with_context(|| format!("{} is outside the site", file.display()))?;
        let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
        let (Some(parts), Some(abs)) = (parts, file.to_str()) else {
            bail!("site file name is not UTF-8: {}", file.display());
        };
        // `{:?}` of a str is a valid Rust string literal.
        out.push_str(&format!("    ({:?}, include_bytes!({abs:?})),\n", parts.join("/")));
    }
    out.push_str("]\n");
    Ok(out)
}

/// Runs one build step, inheriting the terminal, and fails with its name.
fn step(what: &str, cmd: &mut Command) -> Result<()> {
    println!("==> {what}");
    let t = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    println!("    {what}: {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// Copies `from` to `to` unless `to` already holds the same bytes (keeps its mtime, so
/// browsers and proxies see no change when there is none).
fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if std::fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(to, bytes).with_context(|| format!("writing {}", to.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            copy_if_changed(&path, &dest)?;
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

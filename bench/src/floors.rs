//! `tessera-bench floors`: what the deliberate costs allow on this machine, measured the
//! way Tessera pays them — the same libraries and parameters: RS256 (2048-bit RSA) and
//! ES256 signatures with aws-lc-rs, Argon2id with the `argon2` crate's defaults (m = 19 MiB,
//! t = 2, p = 1) in working memory allocated as Tessera allocates it
//! (`tessera_core::password::argon2_memory`, huge pages where offered) — on every core at once, as a server under load runs them: one core alone
//! overstates what two do together (Argon2id contends for the shared cache and memory
//! bandwidth). `per_core` is the all-core rate divided by the cores; the report multiplies
//! it back to get the ceiling a scenario bound by that cost can reach.

use std::time::{Duration, Instant};

use anyhow::{anyhow, Context as _, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256};
use clap::Args;
use serde_json::json;

#[derive(Args, Debug)]
pub struct FloorArgs {
    /// How long to measure each operation.
    #[arg(long, default_value = "2s", value_parser = crate::run::parse_duration)]
    each: Duration,
    /// Also write the JSON result here.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Operations per second of `op` on `threads` threads at once, summed; each thread runs
/// `op` on its own state from `init`, over at least `each`.
fn rate<S>(
    threads: usize,
    each: Duration,
    init: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) -> Result<()> + Sync,
) -> Result<f64> {
    let one = || -> Result<f64> {
        let mut state = init();
        op(&mut state)?; // warm up
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < each {
            op(&mut state)?;
            n += 1;
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    };
    std::thread::scope(|scope| {
        let running: Vec<_> = (0..threads).map(|_| scope.spawn(one)).collect();
        running
            .into_iter()
            .map(|t| t.join().map_err(|_| anyhow!("a measuring thread panicked"))?)
            .sum()
    })
}

pub fn main(args: FloorArgs) -> Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let rng = SystemRandom::new();
    let message = [0x5au8; 400]; // about a JWT's signing input
    let each = args.each;

    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| anyhow!("RSA key: {e}"))?;
    let rs256 = rate(
        cores,
        each,
        || vec![0u8; rsa.public_modulus_len()],
        |sig| {
            rsa.sign(&RSA_PKCS1_SHA256, &rng, &message, sig)
                .map_err(|e| anyhow!("RS256: {e}"))
        },
    )?;

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| anyhow!("{e}"))?;
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let es256 = rate(
        cores,
        each,
        || (),
        |_| ec.sign(&rng, &message).map(|_| ()).map_err(|e| anyhow!("ES256: {e}")),
    )?;
    let signature = ec.sign(&rng, &message).map_err(|e| anyhow!("{e}"))?;
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref().to_vec(),
    );
    let es256_verify = rate(
        cores,
        each,
        || (),
        |_| {
            public
                .verify(&message, signature.as_ref())
                .map_err(|e| anyhow!("ES256 verify: {e}"))
        },
    )?;

    let argon = argon2::Argon2::default();
    let argon2id = rate(
        cores,
        each.max(Duration::from_secs(2)),
        || tessera_core::password::argon2_memory(argon2::Params::default().block_count()),
        |memory| {
            let mut out = [0u8; 32];
            argon
                .hash_password_into_with_memory(b"bench-password-0123", b"sixteen-byte-salt", &mut out, memory)
                .map_err(|e| anyhow!("Argon2id: {e}"))
        },
    )?;

    let per_core = |all: f64| all / cores as f64;
    let result = json!({
        "cores": cores,
        "measured_on": "all cores at once",
        "per_core": {
            "rs256_sign": per_core(rs256),
            "es256_sign": per_core(es256),
            "es256_verify": per_core(es256_verify),
            "argon2id": per_core(argon2id),
        },
    });
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = args.out {
        std::fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

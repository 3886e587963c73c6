//! `tessera-bench floors`: what the deliberate costs allow on this machine, measured the
//! way Tessera pays them — one thread, the same libraries and parameters: RS256 (2048-bit
//! RSA) and ES256 signatures with aws-lc-rs, Argon2id with the `argon2` crate's defaults
//! (m = 19 MiB, t = 2, p = 1). The report multiplies each per-core rate by the number of
//! cores to get the ceiling a scenario bound by that cost can reach.

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

/// Operations per second of `op` on this thread, over at least `each`.
fn rate(each: Duration, mut op: impl FnMut() -> Result<()>) -> Result<f64> {
    op()?; // warm up
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < each {
        op()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub fn main(args: FloorArgs) -> Result<()> {
    let rng = SystemRandom::new();
    let message = [0x5au8; 400]; // about a JWT's signing input

    let rsa = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| anyhow!("RSA key: {e}"))?;
    let mut sig = vec![0u8; rsa.public_modulus_len()];
    let rs256 = rate(args.each, || {
        rsa.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut sig)
            .map_err(|e| anyhow!("RS256: {e}"))
    })?;

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| anyhow!("{e}"))?;
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).map_err(|e| anyhow!("{e}"))?;
    let es256 = rate(args.each, || {
        ec.sign(&rng, &message).map(|_| ()).map_err(|e| anyhow!("ES256: {e}"))
    })?;
    let signature = ec.sign(&rng, &message).map_err(|e| anyhow!("{e}"))?;
    let public = aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
        ec.public_key().as_ref().to_vec(),
    );
    let es256_verify = rate(args.each, || {
        public
            .verify(&message, signature.as_ref())
            .map_err(|e| anyhow!("ES256 verify: {e}"))
    })?;

    let argon = argon2::Argon2::default();
    let mut memory = vec![argon2::Block::default(); argon2::Params::default().block_count()];
    let mut out = [0u8; 32];
    let argon2id = rate(args.each.max(Duration::from_secs(2)), || {
        argon
            .hash_password_into_with_memory(b"bench-password-0123", b"sixteen-byte-salt", &mut out, &mut memory)
            .map_err(|e| anyhow!("Argon2id: {e}"))
    })?;

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let result = json!({
        "cores": cores,
        "per_core": {
            "rs256_sign": rs256,
            "es256_sign": es256,
            "es256_verify": es256_verify,
            "argon2id": argon2id,
        },
    });
    let text = serde_json::to_string_pretty(&result)?;
    println!("{text}");
    if let Some(path) = args.out {
        std::fs::write(&path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

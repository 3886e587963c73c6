//! `tessera-bench serve-static`: the HTTP floor. A bare hyper HTTP/1.1 server, on a tokio
//! multi-thread runtime like Tessera's, that answers every request with one fixed body
//! (the benchmark passes it Tessera's own discovery document). Run under the same load
//! generator, it shows what this machine serves when a request costs nothing but HTTP —
//! the ceiling for the `discovery` scenario of any server written on this stack.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[derive(Args, Debug)]
pub struct StaticArgs {
    /// Where to listen (127.0.0.1 only in the benchmark).
    #[arg(long, default_value = "127.0.0.1:28083")]
    addr: SocketAddr,
    /// The file every request gets as its body.
    #[arg(long)]
    body: PathBuf,
    /// Its Content-Type.
    #[arg(long, default_value = "application/json")]
    content_type: String,
}

pub fn main(args: StaticArgs) -> Result<()> {
    let body = Bytes::from(std::fs::read(&args.body).with_context(|| format!("reading {}", args.body.display()))?);
    let content_type = HeaderValue::from_str(&args.content_type).context("--content-type")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        eprintln!("serve-static: {} bytes on http://{}", body.len(), args.addr);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("serve-static: accept: {e}");
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let (body, content_type) = (body.clone(), content_type.clone());
            tokio::spawn(async move {
                let service = service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let mut res = Response::new(Full::new(body.clone()));
                    res.headers_mut().insert(CONTENT_TYPE, content_type.clone());
                    async move { Ok::<_, Infallible>(res) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

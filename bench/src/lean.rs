//! A lean HTTP/1.1 client for the single-request scenarios: one hyper connection per
//! worker, every request's fixed parts prepared once. reqwest (kept for the multi-step
//! flows, where cookies and redirects matter) spends several times more CPU per request,
//! and on a small machine the load generator's CPU is taken from the server under test —
//! from both servers alike, but it flattens the difference between them.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use url::Url;

/// One request, ready to send any number of times.
#[derive(Clone)]
pub struct Prepared {
    method: Method,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Prepared {
    pub fn get(url: &str) -> Result<Prepared> {
        Ok(Prepared {
            method: Method::GET,
            path: path_of(url)?,
            headers: Vec::new(),
            body: Bytes::new(),
        })
    }

    /// A form POST (`application/x-www-form-urlencoded`).
    pub fn form(url: &str, pairs: &[(&str, &str)]) -> Result<Prepared> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Ok(Prepared {
            method: Method::POST,
            path: path_of(url)?,
            headers: vec![(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )],
            body: Bytes::from(body),
        })
    }

    /// HTTP Basic client authentication, as reqwest's `basic_auth` sends it.
    pub fn basic_auth(mut self, id: &str, secret: &str) -> Result<Prepared> {
        let value = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
        self.headers.push((
            AUTHORIZATION,
            HeaderValue::from_str(&value).context("client credentials")?,
        ));
        Ok(self)
    }

    pub fn bearer(mut self, token: &str) -> Result<Prepared> {
        let value = HeaderValue::from_str(&format!("Bearer {token}")).context("access token")?;
        self.headers.push((AUTHORIZATION, value));
        Ok(self)
    }
}

fn path_of(url: &str) -> Result<String> {
    let u = Url::parse(url).with_context(|| format!("URL {url}"))?;
    Ok(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_owned(),
    })
}

/// One keep-alive connection; reconnects on the next request after a failure.
pub struct Conn {
    addr: String,
    host: HeaderValue,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(base: &str, timeout: Duration) -> Result<Conn> {
        let u = Url::parse(base).with_context(|| format!("base URL {base}"))?;
        if u.scheme() != "http" {
            return Err(anyhow!("the lean client speaks plain http only, not {}", u.scheme()));
        }
        let host = u.host_str().ok_or_else(|| anyhow!("no host in {base}"))?;
        let port = u.port_or_known_default().unwrap_or(80);
        let addr = format!("{host}:{port}");
        Ok(Conn {
            host: HeaderValue::from_str(&addr).context("host header")?,
            addr,
            timeout,
            sender: None,
        })
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.addr))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    /// Sends `p` (with `body` instead of the prepared one, if given) and returns the status
    /// and the whole body.
    pub async fn send(&mut self, p: &Prepared, body: Option<Bytes>) -> Result<(StatusCode, Bytes), String> {
        match tokio::time::timeout(self.timeout, self.send_inner(p, body)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(format!("timed out after {:?}", self.timeout))
            }
        }
    }

    async fn send_inner(&mut self, p: &Prepared, body: Option<Bytes>) -> Result<(StatusCode, Bytes), String> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender.ready().await.map_err(|e| format!("connection: {e}"))?;
        let mut req = Request::builder().method(p.method.clone()).uri(p.path.as_str());
        req = req.header(HOST, self.host.clone());
        for (name, value) in &p.headers {
            req = req.header(name, value.clone());
        }
        let req = req
            .body(Full::new(body.unwrap_or_else(|| p.body.clone())))
            .map_err(|e| format!("request: {e}"))?;
        let res = sender.send_request(req).await.map_err(|e| format!("request: {e}"))?;
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        self.sender = Some(sender);
        Ok((status, bytes))
    }
}

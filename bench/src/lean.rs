//! A lean HTTP/1.1 client for the single-request scenarios: one keep-alive TCP connection
//! per worker, each request's bytes prepared once, the response read with `httparse` in the
//! worker's own task. reqwest (kept for the multi-step flows, where cookies and redirects
//! matter) spends several times more CPU per request, and even hyper's client hands every
//! request to a separate connection task and back. On a small machine the load
//! generator's CPU is taken from the server under test — from both servers alike, but it
//! flattens the difference between them — so the generator does as little as it can, as
//! wrk does.

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use url::Url;

/// One request, ready to send any number of times: its request line and headers (all but
/// `Host` and `Content-Length`, which the connection adds) and its default body.
#[derive(Clone)]
pub struct Prepared {
    head: String,
    body: Bytes,
}

impl Prepared {
    pub fn get(url: &str) -> Result<Prepared> {
        Ok(Prepared {
            head: format!("GET {} HTTP/1.1\r\n", path_of(url)?),
            body: Bytes::new(),
        })
    }

    /// A form POST (`application/x-www-form-urlencoded`).
    pub fn form(url: &str, pairs: &[(&str, &str)]) -> Result<Prepared> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Ok(Prepared {
            head: format!(
                "POST {} HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\n",
                path_of(url)?
            ),
            body: Bytes::from(body),
        })
    }

    /// HTTP Basic client authentication, as reqwest's `basic_auth` sends it.
    pub fn basic_auth(self, id: &str, secret: &str) -> Result<Prepared> {
        self.header(
            "authorization",
            &format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        )
    }

    pub fn bearer(self, token: &str) -> Result<Prepared> {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// A DPoP-bound access token (RFC 9449 §7.1); each request adds its own proof.
    pub fn dpop_token(self, token: &str) -> Result<Prepared> {
        self.header("authorization", &format!("DPoP {token}"))
    }

    fn header(mut self, name: &str, value: &str) -> Result<Prepared> {
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(anyhow!("header {name}: line break in the value"));
        }
        self.head.push_str(&format!("{name}: {value}\r\n"));
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

/// One keep-alive connection; reconnects on the next request after a failure or after
/// the server asked to close.
pub struct Conn {
    addr: String,
    host: String,
    timeout: Duration,
    stream: Option<TcpStream>,
    /// The request being written, reused between requests.
    out: Vec<u8>,
    /// What has been read and not yet consumed.
    buf: Vec<u8>,
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
            host: addr.clone(),
            addr,
            timeout,
            stream: None,
            out: Vec::with_capacity(1024),
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends `p` (with `body` instead of the prepared one, if given) and returns the status
    /// and the whole body.
    pub async fn send(&mut self, p: &Prepared, body: Option<Bytes>) -> Result<(StatusCode, Bytes), String> {
        self.send_with(p, None, body).await
    }

    /// [`Conn::send`] with one more header, made for this request (a DPoP proof).
    pub async fn send_with(
        &mut self,
        p: &Prepared,
        header: Option<(&str, &str)>,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), String> {
        match tokio::time::timeout(self.timeout, self.send_inner(p, header, body)).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.stream = None;
                Err(e)
            }
            Err(_) => {
                self.stream = None;
                Err(format!("timed out after {:?}", self.timeout))
            }
        }
    }

    async fn send_inner(
        &mut self,
        p: &Prepared,
        header: Option<(&str, &str)>,
        body: Option<Bytes>,
    ) -> Result<(StatusCode, Bytes), String> {
        let body = body.as_ref().unwrap_or(&p.body);
        self.out.clear();
        self.out.extend_from_slice(p.head.as_bytes());
        if let Some((name, value)) = header {
            if value.bytes().any(|b| b == b'\r' || b == b'\n') {
                return Err(format!("header {name}: line break in the value"));
            }
            for part in [name, ": ", value, "\r\n"] {
                self.out.extend_from_slice(part.as_bytes());
            }
        }
        self.out.extend_from_slice(b"host: ");
        self.out.extend_from_slice(self.host.as_bytes());
        if !body.is_empty() {
            self.out
                .extend_from_slice(format!("\r\ncontent-length: {}", body.len()).as_bytes());
        }
        self.out.extend_from_slice(b"\r\n\r\n");
        self.out.extend_from_slice(body);

        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(&self.addr)
                    .await
                    .map_err(|e| format!("connect {}: {e}", self.addr))?;
                let _ = stream.set_nodelay(true);
                self.buf.clear();
                self.stream.insert(stream)
            }
        };
        stream.write_all(&self.out).await.map_err(|e| format!("write: {e}"))?;

        // The head: read until httparse has all of it.
        let (status, head_len, framing, close) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            match res.parse(&self.buf).map_err(|e| format!("response head: {e}"))? {
                httparse::Status::Complete(n) => {
                    let status = StatusCode::from_u16(res.code.unwrap_or(0)).map_err(|e| format!("status: {e}"))?;
                    let (framing, close) = framing_of(&res)?;
                    break (status, n, framing, close);
                }
                httparse::Status::Partial => fill(stream, &mut self.buf).await?,
            }
        };
        let body = match framing {
            Framing::Length(len) => {
                while self.buf.len() < head_len + len {
                    fill(stream, &mut self.buf).await?;
                }
                let body = Bytes::copy_from_slice(&self.buf[head_len..head_len + len]);
                self.buf.drain(..head_len + len);
                body
            }
            Framing::Chunked => {
                self.buf.drain(..head_len);
                read_chunked(stream, &mut self.buf).await?
            }
            Framing::UntilClose => {
                while fill(stream, &mut self.buf).await.is_ok() {}
                let body = Bytes::copy_from_slice(&self.buf[head_len..]);
                self.buf.clear();
                self.stream = None;
                return Ok((status, body));
            }
        };
        if close {
            self.stream = None;
        }
        Ok((status, body))
    }
}

enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// RFC 9112 §6.3: how the body of this response ends, and whether the server closes.
fn framing_of(res: &httparse::Response<'_, '_>) -> Result<(Framing, bool), String> {
    let mut framing = None;
    let mut close = false;
    for h in res.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| "bad content-length".to_owned())?;
            framing.get_or_insert(Framing::Length(len));
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if h.value.eq_ignore_ascii_case(b"chunked") {
                framing = Some(Framing::Chunked);
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            close = h.value.eq_ignore_ascii_case(b"close");
        }
    }
    let code = res.code.unwrap_or(0);
    if code == 204 || code == 304 || (100..200).contains(&code) {
        return Ok((Framing::Length(0), close));
    }
    Ok((framing.unwrap_or(Framing::UntilClose), close))
}

/// Reads more of the response; the peer closing mid-response is an error.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
    if n == 0 {
        return Err("connection closed by the server".to_owned());
    }
    buf.extend_from_slice(&chunk[..n]);
    Ok(())
}

/// A chunked body (RFC 9112 §7.1) from the front of `buf`, reading more as needed;
/// leaves whatever follows it in `buf`.
async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Bytes, String> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                break i;
            }
            fill(stream, buf).await?;
        };
        let line = std::str::from_utf8(&buf[..line_end]).map_err(|_| "bad chunk size".to_owned())?;
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| format!("bad chunk size {size_hex:?}"))?;
        if size == 0 {
            // The last chunk; no trailers expected, so the blank line follows.
            while buf.len() < line_end + 4 {
                fill(stream, buf).await?;
            }
            buf.drain(..line_end + 4);
            return Ok(Bytes::from(body));
        }
        while buf.len() < line_end + 2 + size + 2 {
            fill(stream, buf).await?;
        }
        body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
        buf.drain(..line_end + 2 + size + 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// Serves `responses` in order on one connection, recording each request's bytes.
    async fn one_connection(responses: Vec<&'static [u8]>) -> (String, tokio::task::JoinHandle<Vec<Vec<u8>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for r in responses {
                let mut req = vec![0u8; 4096];
                let n = s.read(&mut req).await.unwrap();
                seen.push(req[..n].to_vec());
                // Written in two pieces, so the client has to read more than once.
                let (a, b) = r.split_at(r.len() / 2);
                s.write_all(a).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                s.write_all(b).await.unwrap();
            }
            seen
        });
        (base, task)
    }

    #[tokio::test]
    async fn reads_length_and_chunked_bodies_on_one_connection() {
        let (base, server) = one_connection(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
            b"HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut conn = Conn::new(&base, Duration::from_secs(5)).unwrap();
        let get = Prepared::get(&format!("{base}/a?b=c")).unwrap();
        let post = Prepared::form(&format!("{base}/t"), &[("grant_type", "x y")])
            .unwrap()
            .basic_auth("id", "s")
            .unwrap();

        assert_eq!(
            conn.send(&get, None).await.unwrap(),
            (StatusCode::OK, Bytes::from("hello"))
        );
        assert_eq!(
            conn.send(&post, Some(Bytes::from("a=1"))).await.unwrap(),
            (StatusCode::UNAUTHORIZED, Bytes::from("abcde"))
        );
        assert_eq!(
            conn.send_with(&get, Some(("dpop", "p.r.f")), None).await.unwrap(),
            (StatusCode::NO_CONTENT, Bytes::new())
        );
        assert!(conn.send_with(&get, Some(("dpop", "a\r\nb")), None).await.is_err());

        let seen = server.await.unwrap();
        let host = base.trim_start_matches("http://");
        assert_eq!(
            String::from_utf8(seen[0].clone()).unwrap(),
            format!("GET /a?b=c HTTP/1.1\r\nhost: {host}\r\n\r\n")
        );
        assert_eq!(
            String::from_utf8(seen[1].clone()).unwrap(),
            format!(
                "POST /t HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\nauthorization: Basic aWQ6cw==\r\nhost: {host}\r\ncontent-length: 3\r\n\r\na=1"
            )
        );
        assert_eq!(
            String::from_utf8(seen[2].clone()).unwrap(),
            format!("GET /a?b=c HTTP/1.1\r\ndpop: p.r.f\r\nhost: {host}\r\n\r\n")
        );
    }

    #[tokio::test]
    async fn a_server_closing_mid_response_is_an_error_and_the_next_request_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut req = vec![0u8; 4096];
            let _ = s.read(&mut req).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort")
                .await
                .unwrap();
            drop(s);
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.read(&mut req).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
        });
        let mut conn = Conn::new(&base, Duration::from_secs(5)).unwrap();
        let get = Prepared::get(&format!("{base}/")).unwrap();
        let err = conn.send(&get, None).await.unwrap_err();
        assert!(err.contains("closed"), "{err}");
        assert_eq!(
            conn.send(&get, None).await.unwrap(),
            (StatusCode::OK, Bytes::from("ok"))
        );
        server.await.unwrap();
    }
}

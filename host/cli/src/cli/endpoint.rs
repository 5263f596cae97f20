//! Where a client command (`load`, `holds --url`) reaches a running
//! `riskgate serve`: `http://HOST:PORT[/BASE]` over TCP, or `unix:PATH` for
//! a server on a Unix domain socket (`serve --listen unix:PATH`).

use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use riskgate_serve::config::UNIX_PREFIX;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

/// The server's socket, the `Host` header and the base path.
pub struct Endpoint {
    socket: Socket,
    /// `Host` header: the URL's authority (`localhost` for a socket path).
    pub authority: String,
    /// The URL's path without a trailing `/` (empty for a socket path).
    pub base: String,
}

enum Socket {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// Why a URL gives no endpoint.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// The URL itself is wrong.
    #[error("--url {url}: {why}")]
    Usage { url: String, why: String },
    /// Its host does not resolve.
    #[error("resolving {authority}: {why}")]
    Resolve { authority: String, why: String },
}

/// Why no connection is ready.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect: {0}")]
    Connect(#[source] std::io::Error),
    #[error("HTTP handshake: {0}")]
    Handshake(#[source] hyper::Error),
}

impl Endpoint {
    /// `http://HOST[:PORT][/BASE]` (port 80 by default) or `unix:PATH`.
    pub fn parse(url: &str) -> Result<Endpoint, UrlError> {
        let usage = |why: String| UrlError::Usage {
            url: url.to_string(),
            why,
        };
        if let Some(path) = url.strip_prefix(UNIX_PREFIX) {
            if path.is_empty() {
                return Err(usage(format!("no socket path after `{UNIX_PREFIX}`")));
            }
            return Ok(Endpoint {
                socket: Socket::Unix(path.into()),
                authority: "localhost".into(),
                base: String::new(),
            });
        }
        let uri: hyper::Uri = url.parse().map_err(|e| usage(format!("{e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(usage(format!(
                "only http:// (or {UNIX_PREFIX}PATH) is supported"
            )));
        }
        let authority = uri.authority().ok_or_else(|| usage("no host".into()))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(80);
        let resolve = |why: String| UrlError::Resolve {
            authority: authority.to_string(),
            why,
        };
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(|e| resolve(e.to_string()))?
            .next()
            .ok_or_else(|| resolve("no address".into()))?;
        Ok(Endpoint {
            socket: Socket::Tcp(addr),
            authority: authority.to_string(),
            base: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// How `path` (under the base) is shown in messages.
    pub fn show(&self, path: &str) -> String {
        match &self.socket {
            Socket::Tcp(_) => format!("http://{}{}{path}", self.authority, self.base),
            Socket::Unix(p) => format!("{UNIX_PREFIX}{} {path}", p.display()),
        }
    }

    /// A new HTTP/1.1 connection (TCP without Nagle's delay), its driver
    /// spawned on the current runtime; its failures reach the sender as
    /// transport errors.
    pub async fn connect<B>(&self) -> Result<SendRequest<B>, ConnectError>
    where
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        match &self.socket {
            Socket::Tcp(addr) => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(ConnectError::Connect)?;
                stream.set_nodelay(true).map_err(ConnectError::Connect)?;
                handshake(stream).await
            }
            Socket::Unix(path) => {
                handshake(
                    tokio::net::UnixStream::connect(path)
                        .await
                        .map_err(ConnectError::Connect)?,
                )
                .await
            }
        }
    }
}

async fn handshake<S, B>(stream: S) -> Result<SendRequest<B>, ConnectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ConnectError::Handshake)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:9000/gate/").unwrap();
        assert!(matches!(e.socket, Socket::Tcp(a) if a.port() == 9000));
        assert_eq!(
            (e.authority.as_str(), e.base.as_str()),
            ("127.0.0.1:9000", "/gate")
        );
        assert_eq!(e.show("/v1/holds"), "http://127.0.0.1:9000/gate/v1/holds");
        let e = Endpoint::parse("http://[::1]").unwrap();
        assert!(matches!(e.socket, Socket::Tcp(a) if a.port() == 80 && a.is_ipv6()));
        let e = Endpoint::parse("unix:/run/riskgate.sock").unwrap();
        assert!(
            matches!(&e.socket, Socket::Unix(p) if p == std::path::Path::new("/run/riskgate.sock"))
        );
        assert_eq!((e.authority.as_str(), e.base.as_str()), ("localhost", ""));
        assert_eq!(e.show("/v1/holds"), "unix:/run/riskgate.sock /v1/holds");
        for (bad, says) in [
            ("unix:", "no socket path"),
            ("https://127.0.0.1", "only http://"),
            ("http:///x", "--url http:///x"),
        ] {
            let err = Endpoint::parse(bad).err().expect(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}

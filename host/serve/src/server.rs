//! The HTTP edge of `serve`: an accept loop over hyper's HTTP/1
//! connections, every connection bounded in time and the number of them
//! bounded (`[server]` in the config, [`ServerConfig`]).
//!
//! - Connections beyond `max_connections` are not accepted: they wait in
//!   the listen backlog until one closes.
//! - A connection with no request for `idle_timeout_ms` (from accept or the
//!   end of its previous response) is closed; so is one whose request head
//!   is not complete `header_read_timeout_ms` after its first byte (a
//!   client trickling its head is cut off).
//! - A request's body is read within `body_read_timeout_ms` (408 after it,
//!   in the evaluate handler); its target and head are checked here against
//!   `max_uri_bytes` (414) and `max_header_bytes` (431) before the routes,
//!   so the answer is a problem document, not hyper's bare one.
//! - On shutdown the listener closes, idle connections and heads in
//!   progress are dropped, requests in flight get `shutdown_grace_ms` to
//!   finish, then every connection left is dropped.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Problem;
use super::config::ServerConfig;

/// What one connection is doing, for its timeouts.
struct Activity {
    /// Requests being answered (hyper answers one at a time).
    busy: usize,
    /// Accept, or the end of the last answer.
    since: Instant,
    /// The first byte of the next request's head, once read.
    head_started: Option<Instant>,
}

/// A connection's [`Activity`], read by its loop when its timer fires
/// (nothing wakes the loop earlier: see [`Watch::wake_at`]).
struct Watch {
    activity: Mutex<Activity>,
}

impl Watch {
    fn new() -> Self {
        Watch {
            activity: Mutex::new(Activity {
                busy: 0,
                since: Instant::now(),
                head_started: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Activity> {
        self.activity.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes arrived: between requests, the next head has started. The
    /// loop is not woken: its timer fires no later than this head's
    /// deadline (see [`Watch::wake_at`]).
    fn read(&self) {
        let mut a = self.lock();
        if a.busy == 0 && a.head_started.is_none() {
            a.head_started = Some(Instant::now());
        }
    }

    /// A request is being answered. The connection's loop is not woken:
    /// its deadline only moves later (none while busy), and its timer,
    /// when it fires, reads the deadline again.
    fn begin(&self) {
        let mut a = self.lock();
        a.busy += 1;
        a.head_started = None;
    }

    /// An answer is out: the idle deadline starts, no earlier than the
    /// loop's timer (see [`Watch::wake_at`]), so it is not woken.
    fn end(&self) {
        let mut a = self.lock();
        a.busy = a.busy.saturating_sub(1);
        a.since = Instant::now();
    }

    /// When the connection is cut off unless something happens first
    /// (none while a request is answered).
    fn deadline(&self, cfg: &ServerConfig) -> Option<Instant> {
        let a = self.lock();
        (a.busy == 0).then(|| match a.head_started {
            Some(t) => t + cfg.header_read_timeout(),
            None => a.since + cfg.idle_timeout(),
        })
    }

    /// When the connection's loop looks again: never later than any
    /// deadline the connection can come to have, since nothing wakes the
    /// loop before its timer. A head in progress: its deadline. Otherwise
    /// any deadline is at least the shorter of the two timeouts from now (a
    /// head that has not started, an answer that has not ended), so the
    /// loop looks at the latest then, or at the idle deadline if sooner. An
    /// idle connection is looked at every `header_read_timeout` instead of
    /// once; in exchange no request wakes the loop (a task poll and a timer
    /// move a request).
    fn wake_at(&self, cfg: &ServerConfig) -> Instant {
        let a = self.lock();
        let soonest = Instant::now() + cfg.header_read_timeout().min(cfg.idle_timeout());
        match (a.busy, a.head_started) {
            (0, Some(t)) => t + cfg.header_read_timeout(),
            (0, None) => soonest.min(a.since + cfg.idle_timeout()),
            _ => soonest,
        }
    }

    /// Part of a head read, no request being answered.
    fn mid_head(&self) -> bool {
        let a = self.lock();
        a.busy == 0 && a.head_started.is_some()
    }
}

/// A listening socket `serve` accepts connections from: TCP, or a Unix
/// domain socket.
pub trait Accept: Send + 'static {
    /// One accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The next connection, ready to serve.
    fn accept(&self) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

impl Accept for TcpListener {
    type Io = tokio::net::TcpStream;

    async fn accept(&self) -> std::io::Result<Self::Io> {
        let (stream, _) = TcpListener::accept(self).await?;
        // Answers are written whole; waiting for an ACK only adds latency.
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }
}

impl Accept for UnixListener {
    type Io = tokio::net::UnixStream;

    async fn accept(&self) -> std::io::Result<Self::Io> {
        let (stream, _) = UnixListener::accept(self).await?;
        Ok(stream)
    }
}

/// The socket, telling its [`Watch`] when bytes arrive.
struct Watched<S> {
    io: S,
    watch: Arc<Watch>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.watch.read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A problem document that also closes the connection (what is left of
/// the request is not read).
pub(crate) fn closing(problem: Problem) -> Response<Body> {
    let mut r = problem.into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// 414 or 431 for a request target or head over the limits.
fn oversized(req: &Request<Incoming>, cfg: &ServerConfig) -> Option<Response<Body>> {
    let uri = req.uri();
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.scheme_str().map_or(0, |s| s.len() + 3);
    if target > cfg.max_uri_bytes {
        return Some(closing(Problem::new(
            StatusCode::URI_TOO_LONG,
            "URI Too Long",
            format!(
                "the request target is {target} bytes, more than the {} allowed",
                cfg.max_uri_bytes
            ),
        )));
    }
    // The request line and every header line, as sent.
    let head = req.method().as_str().len()
        + target
        + 12
        + req
            .headers()
            .iter()
            .map(|(k, v)| k.as_str().len() + v.len() + 4)
            .sum::<usize>();
    if head > cfg.max_header_bytes {
        return Some(closing(Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
            format!(
                "the request head is {head} bytes, more than the {} allowed",
                cfg.max_header_bytes
            ),
        )));
    }
    None
}

/// The routes, each request marked busy on its connection's [`Watch`].
#[derive(Clone)]
struct Tracked {
    routes: TowerToHyperService<Router>,
    watch: Arc<Watch>,
    cfg: Arc<ServerConfig>,
}

struct Busy(Arc<Watch>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.end();
    }
}

type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, req: Request<Incoming>) -> Answer {
        self.watch.begin();
        let busy = Busy(self.watch.clone());
        if let Some(r) = oversized(&req, &self.cfg) {
            return Box::pin(async move {
                drop(busy);
                Ok(r)
            });
        }
        let answer = hyper::service::Service::call(&self.routes, req);
        Box::pin(async move {
            let r = answer.await;
            drop(busy);
            r
        })
    }
}

/// One connection, until it ends, times out, or shutdown cuts it.
async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    routes: Router,
    builder: Arc<http1::Builder>,
    cfg: Arc<ServerConfig>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let watch = Arc::new(Watch::new());
    let io = TokioIo::new(Watched {
        io: stream,
        watch: watch.clone(),
    });
    let service = Tracked {
        routes: TowerToHyperService::new(routes),
        watch: watch.clone(),
        cfg: cfg.clone(),
    };
    let http = builder.serve_connection(io, service);
    tokio::pin!(http);
    let mut stopping = false;
    // One timer, moved only when it fires: no request wakes this loop (see
    // `Watch::wake_at`).
    let timer = tokio::time::sleep_until(watch.wake_at(&cfg));
    tokio::pin!(timer);
    loop {
        let at = watch.wake_at(&cfg);
        if at != timer.deadline() {
            timer.as_mut().reset(at);
        }
        tokio::select! {
            _ = http.as_mut() => return,
            () = timer.as_mut() => {
                if watch.deadline(&cfg).is_some_and(|d| d <= Instant::now()) {
                    // Idle, or a head too slow: dropped (nothing in flight).
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                if watch.mid_head() {
                    return;
                }
                // Idle: closed now; a request in flight: answered, then closed.
                http.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Serves `routes` on `listener` until `shutdown` completes, with the
/// limits of `cfg`; then what is in flight gets the grace period.
pub async fn serve<L: Accept>(
    listener: L,
    routes: Router,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cfg = Arc::new(cfg);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        // A backstop: the watch above closes such connections first.
        .header_read_timeout(cfg.idle_timeout() + cfg.header_read_timeout());
    let builder = Arc::new(builder);
    let permits = Arc::new(Semaphore::new(cfg.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(stream) => stream,
                Err(e) => {
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::Interrupted
                    ) {
                        // Out of descriptors or the like: do not spin.
                        eprintln!("riskgate serve: accept: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(
            stream,
            routes.clone(),
            builder.clone(),
            cfg.clone(),
            stopped.clone(),
            permit,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(cfg.shutdown_grace(), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        eprintln!(
            "riskgate serve: {} connection(s) still open after the {} ms grace period: closed",
            connections.len(),
            cfg.shutdown_grace_ms
        );
        connections.abort_all();
    }
    Ok(())
}

/// A Unix domain socket's file, removed when dropped if it is still the
/// one [`bind_unix`] made (not a file another server bound since).
#[derive(Debug)]
pub struct SocketFile {
    path: std::path::PathBuf,
    id: (u64, u64),
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds a Unix domain socket at `path` (in a tokio runtime), its file's
/// permission bits set to `mode` when given.
///
/// A socket file left there by a server that is gone (nothing accepts on
/// it) is replaced; one a running server accepts on is not (the error is
/// `AddrInUse`), nor is any other kind of file. Who may connect is the
/// socket file's permissions (connecting needs write permission) and its
/// directory's. The file is made with the process's umask and then given
/// `mode`: a directory only the intended clients can enter closes the
/// moment between the two.
pub fn bind_unix(
    path: &std::path::Path,
    mode: Option<u32>,
) -> std::io::Result<(UnixListener, SocketFile)> {
    use std::io::{Error, ErrorKind};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
        Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AddrInUse,
                    format!("a server already listens on {}", path.display()),
                ));
            }
            // A socket nothing listens on: a stopped server's.
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => std::fs::remove_file(path)?,
            Err(e) => return Err(e),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(path)?;
    let m = std::fs::symlink_metadata(path)?;
    let file = SocketFile {
        path: path.to_path_buf(),
        id: (m.dev(), m.ino()),
    };
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    Ok((listener, file))
}

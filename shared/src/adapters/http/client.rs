//! The network half: resolve, vet, connect, TLS, one HTTP/1.1 POST, the answer's head and at
//! most `read_cap` bytes of its body, all within one deadline. One connection per attempt.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::http::header::{self, HeaderMap, HeaderValue};
use ::http::{Method, Request};
use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout_at;
use tokio_rustls::TlsConnector;

use super::guard::{self, Host, InvalidUrl, Policy, Refusal, Rejection, Scheme, Target};

/// What the sender calls itself: `Inlet-Webhooks/<version>`.
pub const USER_AGENT: &str = concat!("Inlet-Webhooks/", env!("CARGO_PKG_VERSION"));

/// A `Retry-After` longer than this is not kept: its two forms (seconds, an HTTP date) are
/// under 30 bytes, and the attempt log should not hold what a server chose to put there.
const MAX_RETRY_AFTER: usize = 128;

/// Hop-by-hop headers (RFC 9110 §7.6.1) a caller's map may not carry into the request: the
/// client frames the body itself with `content-length`, and asks for no upgrade.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How the client sends. Plain data; [`Default`] is production's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The whole attempt: resolving, connecting, TLS, the request, the answer's head and
    /// reading its capped body.
    pub timeout: Duration,
    /// The most response body bytes read; then the connection is dropped.
    pub read_cap: usize,
    pub user_agent: String,
    pub policy: Policy,
    /// PEM certificates trusted besides Mozilla's roots (a test CA, a private one).
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(15),
            read_cap: 1024,
            user_agent: USER_AGENT.to_owned(),
            policy: Policy::default(),
            extra_roots_pem: None,
        }
    }
}

/// A [`ClientConfig`] the client cannot be built from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("the timeout must be more than zero")]
    Timeout,
    #[error("the user agent is not a valid header value")]
    UserAgent,
    #[error("extra_roots_pem is not PEM certificates ({0})")]
    Pem(String),
    #[error("extra_roots_pem has a certificate a TLS client cannot trust ({0})")]
    Root(String),
    #[error("extra_roots_pem holds no certificate")]
    NoRoots,
    #[error("the TLS client could not be set up ({0})")]
    Tls(String),
}

/// Names to addresses. The client calls it once per attempt and vets what it returns.
pub trait Resolve: Send + Sync + fmt::Debug {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'_, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'_, io::Result<Vec<IpAddr>>> {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Opens a TCP connection to an address the client has vetted.
pub trait Connect: Send + Sync + fmt::Debug {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>>;
}

/// [`TcpStream::connect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connect for TcpConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(TcpStream::connect(addr))
    }
}

/// What the endpoint answered. A redirect is an answer like any other: nothing follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The `Retry-After` header as sent (lossy UTF-8), if any and at most 128 bytes.
    pub retry_after: Option<String>,
    /// The body's first bytes, at most `read_cap`: fewer if the body was shorter, or if it
    /// stopped, or the deadline came, before that many arrived (the status decides the
    /// attempt, and it had arrived).
    pub head: Vec<u8>,
    /// From the call to the answer, resolving included.
    pub elapsed: Duration,
}

/// Why an attempt got no answer. Messages name no URL, query or header value (a URL may carry
/// a token); the caller knows which endpoint it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("the URL is not valid: {0}")]
    InvalidUrl(InvalidUrl),
    /// The SSRF guard said no; nothing was connected to.
    #[error("refused without connecting: {0}")]
    Refused(Refusal),
    #[error("the host name did not resolve: {0}")]
    Dns(String),
    #[error("no connection could be made: {0}")]
    Connect(String),
    #[error("TLS failed: {0}")]
    Tls(String),
    #[error("no answer within the timeout")]
    Timeout,
    /// The peer reset or closed the connection before the answer's head.
    #[error("the connection was reset or closed: {0}")]
    Reset(String),
    #[error("the connection failed: {0}")]
    Io(String),
    /// The peer's answer was not HTTP/1.x the client can read.
    #[error("the answer is not valid HTTP: {0}")]
    Protocol(String),
}

impl Failure {
    /// A short stable name, for metrics and logs.
    pub fn class(&self) -> &'static str {
        match self {
            Failure::InvalidUrl(_) => "invalid_url",
            Failure::Refused(_) => "refused",
            Failure::Dns(_) => "dns",
            Failure::Connect(_) => "connect",
            Failure::Tls(_) => "tls",
            Failure::Timeout => "timeout",
            Failure::Reset(_) => "reset",
            Failure::Io(_) => "io",
            Failure::Protocol(_) => "protocol",
        }
    }

    fn io(e: &io::Error) -> Failure {
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Failure::Tls(tls.to_string());
        }
        match e.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Failure::Reset(e.to_string()),
            io::ErrorKind::TimedOut => Failure::Timeout,
            _ => Failure::Io(e.to_string()),
        }
    }

    fn hyper(e: &hyper::Error) -> Failure {
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            if let Some(io) = inner.downcast_ref::<io::Error>() {
                return Failure::io(io);
            }
            source = inner.source();
        }
        if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
            Failure::Reset(e.to_string())
        } else if e.is_timeout() {
            Failure::Timeout
        } else {
            Failure::Protocol(e.to_string())
        }
    }
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::Invalid(e) => Failure::InvalidUrl(e),
            Rejection::Refused(e) => Failure::Refused(e),
        }
    }
}

/// Sends webhook attempts. Built once and shared; each attempt resolves, vets and connects
/// afresh (nothing is pooled).
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    timeout: Duration,
    read_cap: usize,
    user_agent: HeaderValue,
    policy: Policy,
    resolver: Arc<dyn Resolve>,
    connector: Arc<dyn Connect>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("read_cap", &self.read_cap)
            .field("user_agent", &self.user_agent)
            .field("policy", &self.policy)
            .field("resolver", &self.resolver)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the system's resolver and plain TCP connections, trusting Mozilla's roots
    /// (webpki-roots) and `extra_roots_pem`, over rustls on ring.
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        if config.timeout.is_zero() {
            return Err(ClientError::Timeout);
        }
        let user_agent =
            HeaderValue::try_from(config.user_agent).map_err(|_| ClientError::UserAgent)?;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = &config.extra_roots_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| ClientError::Pem(format!("{e:?}")))?;
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Root(e.to_string()))?;
                added += 1;
            }
            if added == 0 {
                return Err(ClientError::NoRoots);
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: TlsConnector::from(Arc::new(tls)),
            timeout: config.timeout,
            read_cap: config.read_cap,
            user_agent,
            policy: config.policy,
            resolver: Arc::new(SystemResolver),
            connector: Arc::new(TcpConnector),
        })
    }

    /// The same client resolving names with `resolver`.
    pub fn with_resolver(self, resolver: Arc<dyn Resolve>) -> Self {
        Self { resolver, ..self }
    }

    /// The same client opening connections with `connector`.
    pub fn with_connector(self, connector: Arc<dyn Connect>) -> Self {
        Self { connector, ..self }
    }

    /// POSTs `body` to `url` with `headers` plus `host`, `user-agent`, `content-length` (these
    /// three replace the caller's) and `content-type: application/json` unless `headers` has
    /// one. One attempt, no redirects followed, bounded by the configured timeout.
    pub async fn post(
        &self,
        url: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response, Failure> {
        self.send(Method::POST, url, headers, body).await
    }

    /// As [`Client::post`], with `method` (a GET sends no body and no `content-type`): for the
    /// receiving side's fetched keys ([`crate::ports::fetched`]), which GET a certificate or POST for a
    /// key through the same guarded connection.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Response, Failure> {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let target = Target::parse(url, &self.policy)?;
        let request = self.request(method, &target, headers, body)?;
        let server_name = match target.scheme {
            Scheme::Https => Some(server_name(&target.host)?),
            Scheme::Http => None,
        };
        let tcp = timeout_at(deadline, self.connect(&target))
            .await
            .map_err(|_| Failure::Timeout)??;
        let _ = tcp.set_nodelay(true);
        match server_name {
            None => self.exchange(tcp, request, deadline, started).await,
            Some(name) => {
                let tls = timeout_at(deadline, self.tls.connect(name, tcp))
                    .await
                    .map_err(|_| Failure::Timeout)?
                    .map_err(|e| match Failure::io(&e) {
                        Failure::Io(detail) => Failure::Tls(detail),
                        other => other,
                    })?;
                self.exchange(tls, request, deadline, started).await
            }
        }
    }

    fn request(
        &self,
        method: Method,
        target: &Target,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, Failure> {
        let mut map = headers.clone();
        for name in HOP_BY_HOP {
            map.remove(name);
        }
        let host = HeaderValue::try_from(target.authority())
            .map_err(|_| Failure::InvalidUrl(InvalidUrl::Host))?;
        map.insert(header::HOST, host);
        map.insert(header::USER_AGENT, self.user_agent.clone());
        if method == Method::GET {
            map.remove(header::CONTENT_TYPE);
        } else {
            map.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        if method != Method::GET && !map.contains_key(header::CONTENT_TYPE) {
            map.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = method;
        *request.uri_mut() = target
            .path_and_query
            .parse()
            .map_err(|_| Failure::InvalidUrl(InvalidUrl::Syntax))?;
        *request.headers_mut() = map;
        Ok(request)
    }

    /// Resolves (once) and vets, then connects to the vetted addresses in order until one
    /// answers; each gets an equal share of the timeout, so one that drops packets does not use
    /// up the attempt.
    async fn connect(&self, target: &Target) -> Result<TcpStream, Failure> {
        let vetted = match &target.host {
            Host::Ip(ip) => vec![guard::vet(*ip, &self.policy).map_err(Failure::Refused)?],
            Host::Name(name) => {
                let resolved = self
                    .resolver
                    .resolve(name, target.port)
                    .await
                    .map_err(|e| Failure::Dns(e.to_string()))?;
                if resolved.is_empty() {
                    return Err(Failure::Dns("no addresses".into()));
                }
                let mut refused = None;
                let mut vetted: Vec<IpAddr> = Vec::with_capacity(resolved.len());
                for ip in resolved {
                    match guard::vet(ip, &self.policy) {
                        Ok(ip) if !vetted.contains(&ip) => vetted.push(ip),
                        Ok(_) => {}
                        Err(refusal) => {
                            refused.get_or_insert(refusal);
                        }
                    }
                }
                match (vetted.is_empty(), refused) {
                    (true, Some(refusal)) => return Err(Failure::Refused(refusal)),
                    _ => vetted,
                }
            }
        };
        let share = u32::try_from(vetted.len())
            .ok()
            .and_then(|n| self.timeout.checked_div(n))
            .unwrap_or(self.timeout);
        let mut last = Failure::Connect("no address to connect to".into());
        for ip in vetted {
            let addr = SocketAddr::new(ip, target.port);
            match tokio::time::timeout(share, self.connector.connect(addr)).await {
                Ok(Ok(tcp)) => return Ok(tcp),
                Ok(Err(e)) => last = Failure::Connect(e.to_string()),
                Err(_) => last = Failure::Connect("timed out".into()),
            }
        }
        Err(last)
    }

    /// The HTTP/1.1 exchange over `io`: the request, the answer's head before the deadline (or
    /// a failure), then as much of the body as `read_cap` allows and the deadline leaves.
    async fn exchange<T>(
        &self,
        io: T,
        request: Request<Full<Bytes>>,
        deadline: tokio::time::Instant,
        started: Instant,
    ) -> Result<Response, Failure>
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (mut sender, conn) = timeout_at(
            deadline,
            hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(io)),
        )
        .await
        .map_err(|_| Failure::Timeout)?
        .map_err(|e| Failure::hyper(&e))?;
        // hyper makes progress only while the connection is polled; it is dropped (and the
        // socket closed) when this function returns, whatever is left unread.
        let mut conn = pin!(conn.fuse());
        let answer = timeout_at(
            deadline,
            driving(conn.as_mut(), sender.send_request(request)),
        )
        .await
        .map_err(|_| Failure::Timeout)?
        .map_err(|e| Failure::hyper(&e))?;
        let (parts, mut body) = answer.into_parts();
        let retry_after = parts
            .headers
            .get(header::RETRY_AFTER)
            .filter(|v| v.len() <= MAX_RETRY_AFTER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut head = Vec::new();
        // The status decides the attempt; a body cut short by the deadline or the peer is kept
        // as far as it came.
        let _ = timeout_at(
            deadline,
            driving(
                conn.as_mut(),
                read_capped(&mut body, self.read_cap, &mut head),
            ),
        )
        .await;
        Ok(Response {
            status: parts.status.as_u16(),
            retry_after,
            head,
            elapsed: started.elapsed(),
        })
    }
}

/// Runs `work` while polling `conn`, the hyper connection it needs driven. A finished `conn`
/// (closed, or failed: hyper hands its error to `work`) stays pending once fused.
async fn driving<C, W>(
    mut conn: std::pin::Pin<&mut futures_util::future::Fuse<C>>,
    work: W,
) -> W::Output
where
    C: Future,
    W: Future,
{
    let mut work = pin!(work);
    tokio::select! {
        biased;
        out = &mut work => return out,
        _ = &mut conn => {}
    }
    work.await
}

/// Reads `body` into `head` until it ends, fails or `head` holds `cap` bytes.
async fn read_capped(body: &mut Incoming, cap: usize, head: &mut Vec<u8>) -> Result<(), Failure> {
    while head.len() < cap {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.map_err(|e| Failure::hyper(&e))?;
        if let Ok(data) = frame.into_data() {
            let take = data.len().min(cap - head.len());
            head.extend_from_slice(data.get(..take).unwrap_or_default());
        }
    }
    Ok(())
}

/// The name TLS checks the certificate against and sends as SNI: the URL's host.
fn server_name(host: &Host) -> Result<ServerName<'static>, Failure> {
    match host {
        Host::Ip(ip) => Ok(ServerName::IpAddress((*ip).into())),
        Host::Name(name) => {
            ServerName::try_from(name.clone()).map_err(|_| Failure::InvalidUrl(InvalidUrl::Host))
        }
    }
}

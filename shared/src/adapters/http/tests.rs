//! The client against loopback servers. Every test resolves with [`FakeDns`] and connects with
//! [`LoopbackOnly`], which records each address it is asked for and opens a connection only to
//! 127.0.0.0/8 or ::1: were the guard broken, a test would fail, never send a packet elsewhere.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ::http::header::{HeaderMap, HeaderValue};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::guard::{self, InvalidUrl, Policy, Refusal};
use super::{Client, ClientConfig, Connect, Failure, Resolve, USER_AGENT};

/// Answers every lookup from a script (the n-th lookup gets the n-th answer, the last one
/// repeating) and records what was asked.
#[derive(Debug, Default)]
struct FakeDns {
    answers: Vec<Vec<IpAddr>>,
    asked: Mutex<Vec<(String, u16)>>,
}

impl FakeDns {
    fn asked(&self) -> Vec<(String, u16)> {
        self.asked.lock().expect("lock").clone()
    }
}

impl Resolve for FakeDns {
    fn resolve(&self, host: &str, port: u16) -> BoxFuture<'_, io::Result<Vec<IpAddr>>> {
        let answer = {
            let mut asked = self.asked.lock().expect("lock");
            asked.push((host.to_owned(), port));
            self.answers
                .get(asked.len() - 1)
                .or(self.answers.last())
                .cloned()
        };
        Box::pin(async move {
            answer.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        })
    }
}

/// Records every address asked for; connects only to loopback and fails for anything else
/// without touching the network.
#[derive(Debug, Default)]
struct LoopbackOnly {
    asked: Mutex<Vec<SocketAddr>>,
}

impl LoopbackOnly {
    fn asked(&self) -> Vec<SocketAddr> {
        self.asked.lock().expect("lock").clone()
    }
}

impl Connect for LoopbackOnly {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        self.asked.lock().expect("lock").push(addr);
        Box::pin(async move {
            let loopback = match addr.ip() {
                IpAddr::V4(ip) => ip.is_loopback(),
                IpAddr::V6(ip) => ip.is_loopback(),
            };
            if !loopback {
                return Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "the test connector connects to loopback only",
                ));
            }
            TcpStream::connect(addr).await
        })
    }
}

struct Net {
    client: Client,
    dns: Arc<FakeDns>,
    tcp: Arc<LoopbackOnly>,
}

fn net(config: ClientConfig, answers: Vec<Vec<IpAddr>>) -> Net {
    let dns = Arc::new(FakeDns {
        answers,
        ..FakeDns::default()
    });
    let tcp = Arc::new(LoopbackOnly::default());
    let client = Client::new(config)
        .expect("client")
        .with_resolver(dns.clone())
        .with_connector(tcp.clone());
    Net { client, dns, tcp }
}

/// Loopback allowed, http allowed: what the delivering tests use.
fn local() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(5),
        policy: Policy {
            allow_http: true,
            allow_networks: vec![
                "127.0.0.0/8".parse().expect("net"),
                "::1/128".parse().expect("net"),
            ],
        },
        ..ClientConfig::default()
    }
}

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn bind() -> (TcpListener, u16) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    (listener, port)
}

/// Reads one request (head and `content-length` body) and returns it as text.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                break;
            }
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Accepts one connection, reads its request, writes `answer`, and returns the request.
fn answer_once(listener: TcpListener, answer: &'static [u8]) -> JoinHandle<String> {
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let request = read_request(&mut stream).await;
        let _ = stream.write_all(answer).await;
        let _ = stream.shutdown().await;
        request
    })
}

fn no_headers() -> HeaderMap {
    HeaderMap::new()
}

#[tokio::test]
async fn every_not_global_address_is_refused_without_connecting() {
    for (address, rule) in guard::tests::NOT_GLOBAL {
        let ip: IpAddr = address.parse().expect(address);
        let n = net(ClientConfig::default(), vec![vec![ip]]);
        let got = n
            .client
            .post("https://hooks.test/in", &no_headers(), Bytes::new())
            .await;
        match got {
            Err(Failure::Refused(Refusal::NotGlobal {
                address: a,
                rule: r,
            })) => {
                assert_eq!(a, ip, "{address}");
                assert!(r.name.starts_with(rule), "{address}: {}", r.name);
            }
            other => panic!("{address}: {other:?}"),
        }
        assert_eq!(n.dns.asked(), vec![("hooks.test".to_owned(), 443)]);
        assert_eq!(n.tcp.asked(), vec![], "{address}");

        // The same address written in the URL: vetted alike, nothing resolved.
        let url = match ip {
            IpAddr::V4(_) => format!("https://{ip}/in"),
            IpAddr::V6(_) => format!("https://[{ip}]/in"),
        };
        let n = net(ClientConfig::default(), vec![]);
        let got = n.client.post(&url, &no_headers(), Bytes::new()).await;
        assert!(
            matches!(got, Err(Failure::Refused(Refusal::NotGlobal { address: a, .. })) if a == ip),
            "{url}: {got:?}"
        );
        assert_eq!(n.dns.asked(), vec![], "{url}");
        assert_eq!(n.tcp.asked(), vec![], "{url}");
    }
}

#[tokio::test]
async fn private_literals_are_refused_without_an_allowance() {
    let (listener, port) = bind().await;
    let n = net(
        ClientConfig {
            policy: Policy {
                allow_http: true,
                ..Policy::default()
            },
            ..ClientConfig::default()
        },
        vec![],
    );
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::1]:{port}/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[fd00:ec2::254]/latest/meta-data/".to_owned(),
        "https://10.1.2.3/".to_owned(),
        "https://[::ffff:10.1.2.3]/".to_owned(),
    ] {
        let got = n.client.post(&url, &no_headers(), Bytes::new()).await;
        assert!(
            matches!(got, Err(Failure::Refused(Refusal::NotGlobal { .. }))),
            "{url}: {got:?}"
        );
        assert_eq!(got.expect_err("refused").class(), "refused");
    }
    assert_eq!(n.tcp.asked(), vec![]);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), listener.accept())
            .await
            .is_err(),
        "nothing connected to the loopback listener"
    );
}

#[tokio::test]
async fn delivers_over_http_to_an_allowed_loopback() {
    let (listener, port) = bind().await;
    let server = answer_once(listener, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    let n = net(local(), vec![vec![LOCALHOST]]);
    let mut headers = HeaderMap::new();
    headers.insert("webhook-id", HeaderValue::from_static("msg_1"));
    headers.insert("host", HeaderValue::from_static("evil.example"));
    headers.insert("user-agent", HeaderValue::from_static("curl"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/in?token=abc"),
            &headers,
            Bytes::from_static(br#"{"a":1}"#),
        )
        .await
        .expect("delivered");
    assert_eq!(response.status, 200);
    assert_eq!(response.head, b"ok");
    assert_eq!(response.retry_after, None);
    assert!(response.elapsed > Duration::ZERO);

    let request = server.await.expect("server");
    let lower = request.to_ascii_lowercase();
    assert!(
        request.starts_with("POST /in?token=abc HTTP/1.1\r\n"),
        "{request}"
    );
    assert!(
        lower.contains(&format!("\r\nhost: hooks.test:{port}\r\n")),
        "{request}"
    );
    assert!(
        lower.contains(&format!(
            "\r\nuser-agent: {}\r\n",
            USER_AGENT.to_ascii_lowercase()
        )),
        "{request}"
    );
    assert!(lower.contains("\r\ncontent-length: 7\r\n"), "{request}");
    assert!(
        lower.contains("\r\ncontent-type: application/json\r\n"),
        "{request}"
    );
    assert!(lower.contains("\r\nwebhook-id: msg_1\r\n"), "{request}");
    assert!(
        !lower.contains("evil.example") && !lower.contains("curl"),
        "{request}"
    );
    assert!(!lower.contains("transfer-encoding"), "{request}");
    assert!(request.ends_with("\r\n\r\n{\"a\":1}"), "{request}");
    assert_eq!(n.dns.asked(), vec![("hooks.test".to_owned(), port)]);
    assert_eq!(n.tcp.asked(), vec![SocketAddr::new(LOCALHOST, port)]);
}

#[tokio::test]
async fn delivers_to_an_allowed_ipv6_loopback_literal() {
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("no IPv6 loopback here: skipped");
        return;
    };
    let port = listener.local_addr().expect("addr").port();
    let server = answer_once(
        listener,
        b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n",
    );
    let n = net(local(), vec![]);
    let response = n
        .client
        .post(
            &format!("http://[::1]:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("delivered");
    assert_eq!(response.status, 202);
    let request = server.await.expect("server").to_ascii_lowercase();
    assert!(
        request.contains(&format!("\r\nhost: [::1]:{port}\r\n")),
        "{request}"
    );
    assert_eq!(n.dns.asked(), vec![]);
    assert_eq!(
        n.tcp.asked(),
        vec![format!("[::1]:{port}").parse().expect("addr")]
    );
}

/// A CA, and a certificate for `name` it signed.
fn certificates(name: &str) -> (String, CertificateDer<'static>, PrivateKeyDer<'static>) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Inlet sender test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().expect("key");
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca, ca_key);
    let mut leaf = CertificateParams::new(vec![name.to_owned()]).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, name);
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate().expect("key");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).expect("leaf");
    (
        ca_cert.pem(),
        leaf_cert.der().clone(),
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
}

/// An HTTPS server for one connection: the SNI it saw and the request, if the handshake worked.
fn tls_once(
    listener: TcpListener,
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    answer: &'static [u8],
) -> JoinHandle<Option<(Option<String>, String)>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut tls = acceptor.accept(tcp).await.ok()?;
        let sni = tls.get_ref().1.server_name().map(str::to_owned);
        let request = read_request(&mut tls).await;
        let _ = tls.write_all(answer).await;
        let _ = tls.shutdown().await;
        Some((sni, request))
    })
}

#[tokio::test]
async fn delivers_over_https_trusting_the_extra_root() {
    let (ca, cert, key) = certificates("hooks.test");
    let (listener, port) = bind().await;
    let server = tls_once(listener, cert, key, b"HTTP/1.1 204 No Content\r\n\r\n");
    let config = ClientConfig {
        extra_roots_pem: Some(ca.into_bytes()),
        policy: Policy {
            allow_http: false,
            ..local().policy
        },
        ..local()
    };
    let n = net(config, vec![vec![LOCALHOST]]);
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/cloudevents+json"),
    );
    let response = n
        .client
        .post(
            &format!("https://hooks.test:{port}/in"),
            &headers,
            Bytes::from_static(b"{}"),
        )
        .await
        .expect("delivered");
    assert_eq!(response.status, 204);
    let (sni, request) = server.await.expect("server").expect("handshake");
    assert_eq!(sni.as_deref(), Some("hooks.test"));
    let lower = request.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("\r\nhost: hooks.test:{port}\r\n")),
        "{request}"
    );
    assert!(
        lower.contains("\r\ncontent-type: application/cloudevents+json\r\n"),
        "{request}"
    );
    assert!(!lower.contains("application/json"), "{request}");
    assert_eq!(n.tcp.asked(), vec![SocketAddr::new(LOCALHOST, port)]);
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure() {
    let (_ca, cert, key) = certificates("hooks.test");
    let (listener, port) = bind().await;
    let server = tls_once(listener, cert, key, b"HTTP/1.1 200 OK\r\n\r\n");
    let config = ClientConfig {
        policy: Policy {
            allow_http: false,
            ..local().policy
        },
        ..local()
    };
    let n = net(config, vec![vec![LOCALHOST]]);
    let got = n
        .client
        .post(
            &format!("https://hooks.test:{port}/in"),
            &no_headers(),
            Bytes::new(),
        )
        .await;
    match &got {
        Err(f @ Failure::Tls(detail)) => {
            assert_eq!(f.class(), "tls");
            assert!(detail.contains("certificate"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.await.expect("server"),
        None,
        "no request got through"
    );
}

#[tokio::test]
async fn rebinding_cannot_redirect_the_connection() {
    let (listener, port) = bind().await;
    let server = answer_once(listener, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    let metadata: IpAddr = "169.254.169.254".parse().expect("ip");
    // First the vetted loopback, then, to any later lookup, the metadata service.
    let n = net(local(), vec![vec![LOCALHOST], vec![metadata]]);
    let url = format!("http://hooks.test:{port}/in");
    let response = n
        .client
        .post(&url, &no_headers(), Bytes::new())
        .await
        .expect("delivered");
    assert_eq!(response.status, 200);
    assert_eq!(n.dns.asked().len(), 1, "one lookup per attempt");
    assert_eq!(n.tcp.asked(), vec![SocketAddr::new(LOCALHOST, port)]);
    server.await.expect("server");

    // The next attempt resolves afresh, gets the metadata address, and connects nowhere.
    let got = n.client.post(&url, &no_headers(), Bytes::new()).await;
    assert!(
        matches!(got, Err(Failure::Refused(Refusal::NotGlobal { address, .. })) if address == metadata),
        "{got:?}"
    );
    assert_eq!(n.dns.asked().len(), 2);
    assert_eq!(n.tcp.asked(), vec![SocketAddr::new(LOCALHOST, port)]);
}

#[tokio::test]
async fn only_vetted_addresses_are_tried_in_order() {
    let (listener, port) = bind().await;
    let server = answer_once(listener, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
    let answer: Vec<IpAddr> = [
        "10.0.0.1",
        "1.1.1.1",
        "169.254.169.254",
        "::ffff:127.0.0.1",
        "127.0.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "fd00:ec2::254",
    ]
    .iter()
    .map(|a| a.parse().expect("ip"))
    .collect();
    let n = net(local(), vec![answer]);
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("delivered");
    assert_eq!(response.status, 200);
    // The public address is vetted and tried first (the test connector refuses it without
    // connecting); then loopback, once. Nothing private is asked for.
    assert_eq!(
        n.tcp.asked(),
        vec![
            SocketAddr::new("1.1.1.1".parse().expect("ip"), port),
            SocketAddr::new(LOCALHOST, port),
        ]
    );
    server.await.expect("server");
}

#[tokio::test]
async fn connect_failures_on_every_address_are_connect_failures() {
    let n = net(local(), vec![vec!["1.1.1.1".parse().expect("ip")]]);
    let got = n
        .client
        .post("https://hooks.test/", &no_headers(), Bytes::new())
        .await;
    assert!(matches!(got, Err(Failure::Connect(_))), "{got:?}");
    let n = net(local(), vec![]);
    let got = n
        .client
        .post("https://hooks.test/", &no_headers(), Bytes::new())
        .await;
    assert!(matches!(got, Err(Failure::Dns(_))), "{got:?}");
    let n = net(local(), vec![vec![]]);
    let got = n
        .client
        .post("https://hooks.test/", &no_headers(), Bytes::new())
        .await;
    assert!(matches!(got, Err(Failure::Dns(_))), "{got:?}");
}

#[tokio::test]
async fn urls_are_checked_before_anything_is_resolved() {
    let https_only = ClientConfig {
        policy: Policy {
            allow_http: false,
            ..local().policy
        },
        ..local()
    };
    let n = net(https_only, vec![vec![LOCALHOST]]);
    let cases = [
        ("http://hooks.test/", Failure::Refused(Refusal::PlainHttp)),
        (
            "https://user:pass@hooks.test/",
            Failure::Refused(Refusal::UserInfo),
        ),
        ("ftp://hooks.test/", Failure::Refused(Refusal::Scheme)),
        ("https:///x", Failure::InvalidUrl(InvalidUrl::Syntax)),
        ("https://:443/", Failure::InvalidUrl(InvalidUrl::EmptyHost)),
        (
            "https://127.1/",
            Failure::InvalidUrl(InvalidUrl::NumericHost),
        ),
    ];
    for (url, expected) in cases {
        let got = n.client.post(url, &no_headers(), Bytes::new()).await;
        assert_eq!(got, Err(expected), "{url}");
    }
    assert_eq!(n.dns.asked(), vec![]);
    assert_eq!(n.tcp.asked(), vec![]);
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let (elsewhere, elsewhere_port) = bind().await;
    let (listener, port) = bind().await;
    let location = format!(
        "HTTP/1.1 301 Moved Permanently\r\nlocation: http://hooks.test:{elsewhere_port}/stolen\r\ncontent-length: 0\r\n\r\n"
    );
    let server = answer_once(listener, location.leak().as_bytes());
    let n = net(local(), vec![vec![LOCALHOST]]);
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("answered");
    assert_eq!(response.status, 301);
    server.await.expect("server");
    assert_eq!(n.dns.asked().len(), 1);
    assert_eq!(n.tcp.asked(), vec![SocketAddr::new(LOCALHOST, port)]);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), elsewhere.accept())
            .await
            .is_err(),
        "the Location was never visited"
    );
}

fn quick(timeout_ms: u64) -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_millis(timeout_ms),
        ..local()
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let (listener, port) = bind().await;
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        // Reads until the client goes away, answering nothing.
        let mut buf = [0u8; 1024];
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    });
    let n = net(quick(300), vec![vec![LOCALHOST]]);
    let started = Instant::now();
    let got = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(got, Err(Failure::Timeout));
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(800),
        "{took:?}"
    );
}

/// Accepts one connection, reads the request, writes `head` at once, then `trickle` one byte
/// per 100 ms.
fn trickling(listener: TcpListener, head: &'static [u8], trickle: &'static [u8]) {
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_request(&mut stream).await;
        if stream.write_all(head).await.is_err() {
            return;
        }
        for byte in trickle {
            if stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

#[tokio::test]
async fn a_trickled_head_times_out_on_time() {
    let (listener, port) = bind().await;
    trickling(
        listener,
        b"",
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nx-padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n",
    );
    let n = net(quick(300), vec![vec![LOCALHOST]]);
    let started = Instant::now();
    let got = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(got, Err(Failure::Timeout));
    assert!(took < Duration::from_millis(800), "{took:?}");
}

#[tokio::test]
async fn a_trickled_body_ends_at_the_deadline_with_its_status() {
    let (listener, port) = bind().await;
    trickling(
        listener,
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n",
        &[b'x'; 1000],
    );
    let n = net(quick(300), vec![vec![LOCALHOST]]);
    let started = Instant::now();
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("the head arrived");
    let took = started.elapsed();
    assert_eq!(response.status, 200);
    assert!(
        !response.head.is_empty() && response.head.len() < 10,
        "{}",
        response.head.len()
    );
    assert!(took < Duration::from_millis(800), "{took:?}");
    assert!(response.elapsed <= took);
}

#[tokio::test]
async fn a_huge_body_is_not_read() {
    const HUGE: usize = 50 * 1024 * 1024;
    let (listener, port) = bind().await;
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_request(&mut stream).await;
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {HUGE}\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("head");
        let chunk = vec![b'x'; 64 * 1024];
        let mut written = 0;
        while written < HUGE {
            match stream.write(&chunk).await {
                Ok(n) if n > 0 => written += n,
                _ => break,
            }
        }
        written
    });
    let n = net(local(), vec![vec![LOCALHOST]]);
    let started = Instant::now();
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("answered");
    assert_eq!(response.status, 200);
    assert_eq!(response.head, vec![b'x'; 1024]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let written = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server stopped writing")
        .expect("server");
    assert!(
        written < HUGE,
        "the connection was dropped: {written} bytes written"
    );
}

#[tokio::test]
async fn a_reset_or_closed_connection_is_a_reset() {
    let (listener, port) = bind().await;
    tokio::spawn(async move {
        // First a reset (RST, SO_LINGER 0), then a close without an answer.
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_request(&mut stream).await;
        stream.set_zero_linger().expect("linger");
        drop(stream);
        let (mut stream, _) = listener.accept().await.expect("accept");
        read_request(&mut stream).await;
        drop(stream);
    });
    let n = net(local(), vec![vec![LOCALHOST]]);
    for _ in 0..2 {
        let got = n
            .client
            .post(
                &format!("http://hooks.test:{port}/"),
                &no_headers(),
                Bytes::new(),
            )
            .await;
        match got {
            Err(f @ Failure::Reset(_)) => assert_eq!(f.class(), "reset"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn an_answer_that_is_not_http_is_a_protocol_failure() {
    let (listener, port) = bind().await;
    answer_once(listener, b"SSH-2.0-OpenSSH_9.6\r\n\r\n");
    let n = net(local(), vec![vec![LOCALHOST]]);
    let got = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await;
    assert!(matches!(got, Err(Failure::Protocol(_))), "{got:?}");
}

#[tokio::test]
async fn retry_after_is_returned_raw() {
    let (listener, port) = bind().await;
    answer_once(
        listener,
        b"HTTP/1.1 503 Service Unavailable\r\nretry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\ncontent-length: 4\r\n\r\nbusy",
    );
    let n = net(local(), vec![vec![LOCALHOST]]);
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("answered");
    assert_eq!(response.status, 503);
    assert_eq!(
        response.retry_after.as_deref(),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
    assert_eq!(response.head, b"busy");

    let (listener, port) = bind().await;
    let long = format!(
        "HTTP/1.1 429 Too Many Requests\r\nretry-after: {}\r\ncontent-length: 0\r\n\r\n",
        "9".repeat(200)
    );
    answer_once(listener, long.leak().as_bytes());
    let response = n
        .client
        .post(
            &format!("http://hooks.test:{port}/"),
            &no_headers(),
            Bytes::new(),
        )
        .await
        .expect("answered");
    assert_eq!((response.status, response.retry_after), (429, None));
}

#[tokio::test]
async fn failures_name_no_query_or_header_value() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer secret-header"),
    );
    let url = "https://hooks.test/in?token=secret-query";
    let public = "1.1.1.1".parse().expect("ip");
    for answers in [vec![], vec![vec![public]], vec![vec![LOCALHOST]]] {
        let n = net(ClientConfig::default(), answers);
        let failure = n
            .client
            .post(url, &headers, Bytes::from_static(b"secret-body"))
            .await
            .expect_err("fails");
        let message = failure.to_string();
        assert!(!message.contains("secret"), "{message}");
    }
}

#[test]
fn production_defaults() {
    let config = ClientConfig::default();
    assert_eq!(config.timeout, Duration::from_secs(15));
    assert_eq!(config.read_cap, 1024);
    assert_eq!(
        config.user_agent,
        format!("Inlet-Webhooks/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(config.policy, Policy::default());
    assert!(!config.policy.allow_http && config.policy.allow_networks.is_empty());
    assert!(Client::new(config.clone()).is_ok());
    for (bad, why) in [
        (
            ClientConfig {
                timeout: Duration::ZERO,
                ..config.clone()
            },
            "timeout",
        ),
        (
            ClientConfig {
                user_agent: "bad\nagent".into(),
                ..config.clone()
            },
            "agent",
        ),
        (
            ClientConfig {
                extra_roots_pem: Some(b"not a certificate".to_vec()),
                ..config.clone()
            },
            "no roots",
        ),
        (
            ClientConfig {
                extra_roots_pem: Some(
                    b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec(),
                ),
                ..config.clone()
            },
            "bad root",
        ),
    ] {
        assert!(Client::new(bad).is_err(), "{why}");
    }
}

"""Keys fetched from the sender (issue 18): Amazon SNS's signing certificate, PayPal's, Plaid's JWK.

The compiled function runs through the Runtime API against moto's SQS, with the test-only setting
INLET_TEST_ONLY_KEY_SERVER sending every key fetch to a local HTTPS server whose certificate a test
CA made here signed (the function trusts that CA besides Mozilla's roots, and nothing else changes:
the URL's host is still checked, and is still what TLS checks the server's certificate against).
Deliveries are signed here with Python's `cryptography`, independently of Inlet's code, with test
keys made here. The tests prove a valid delivery is queued; a key URL off the sender's hosts is
never fetched (the server sees no request); a fetch that fails, or a server whose chain is not
trusted, is a 503 with Retry-After; a forged signature is a 401; SNS's SubscribeURL is visited only
for a verified message and only on an SNS host; and a fetched key is cached across invocations."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ssl
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from conftest import receive_all
from signers import api_event, response_body

TOPIC = "arn:aws:sns:us-west-2:123456789012:inlet-test"
SNS_HOST = "sns.us-west-2.amazonaws.com"
SNS_CERT_PATH = "/SimpleNotificationService-0123456789abcdef.pem"
PAYPAL_HOST = "api-m.sandbox.paypal.com"
PAYPAL_CERT_PATH = "/v1/notifications/certs/CERT-360caa42-fca2a594-test"
WEBHOOK_ID = "9XL90610J3647323C"
PLAID_SECRET = "sandbox:5f2f3b1ac8e5e000:abcdef0123456789"
KID = "bfbd5111-8e33-4643-8ced-b2e642a72f3c"
# Every host a test may name; the server's certificate covers them all.
HOSTS = [SNS_HOST, "sns.us-east-1.amazonaws.com", PAYPAL_HOST, "sandbox.plaid.com"]


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def leaf(issuer_key, issuer_cert, hosts: list[str]):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name(hosts[0])).issuer_name(issuer_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return key, cert


def pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def signing_cert(cn: str):
    """An RSA key and its self-signed certificate, as SNS and PayPal publish theirs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


class KeyServer:
    """A loopback HTTPS server standing in for SNS, PayPal and Plaid: it serves the signing
    certificates and JWK, answers SubscribeURL visits, and records every request."""

    def __init__(self, tmp_path, routes: dict, trusted: bool = True):
        ca_key, ca_cert = ca("Inlet test CA")
        key, cert = leaf(ca_key, ca_cert, HOSTS)
        (tmp_path / "server.pem").write_bytes(pem(cert) + pem(ca_cert))
        (tmp_path / "server.key").write_bytes(pem(key))
        if trusted:
            (tmp_path / "ca.pem").write_bytes(pem(ca_cert))
        else:
            # A CA the function trusts that did not sign the server's certificate.
            (tmp_path / "ca.pem").write_bytes(pem(ca("Another CA")[1]))
        self.ca = tmp_path / "ca.pem"
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(self, method: str):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                host = self.headers.get("host", "")
                server.requests.append({"method": method, "host": host, "path": self.path, "body": body})
                route = routes.get((method, host, self.path.split("?")[0]))
                status, payload = route(self.path, body) if route else (404, b"not found")
                self.send_response(status)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self.answer("GET")

            def do_POST(self):
                self.answer("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def setting(self) -> str:
        return f"127.0.0.1:{self.port},{self.ca}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


SNS_KEY, SNS_CERT = signing_cert("sns.amazonaws.com")
PAYPAL_KEY, PAYPAL_CERT = signing_cert("messageverificationcerts.paypal.com")
FORGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PLAID_KEY = ec.generate_private_key(ec.SECP256R1())
PLAID_FORGER = ec.generate_private_key(ec.SECP256R1())


def plaid_jwk(path: str, body: bytes):
    asked = json.loads(body)
    if asked.get("key_id") != KID or asked.get("client_id") != "5f2f3b1ac8e5e000":
        return 400, b'{"error_code":"INVALID_INPUT"}'
    nums = PLAID_KEY.public_key().public_numbers()
    key = {"alg": "ES256", "created_at": 1560466150, "crv": "P-256", "expired_at": None, "kid": KID, "kty": "EC",
           "use": "sig", "x": b64u(nums.x.to_bytes(32, "big")), "y": b64u(nums.y.to_bytes(32, "big"))}
    return 200, json.dumps({"key": key, "request_id": "RZ6Omi1bzzwDaLo"}).encode()


ROUTES = {
    ("GET", SNS_HOST, SNS_CERT_PATH): lambda path, body: (200, pem(SNS_CERT)),
    ("GET", SNS_HOST, "/"): lambda path, body: (200, b"<ConfirmSubscriptionResponse/>"),
    ("GET", PAYPAL_HOST, PAYPAL_CERT_PATH): lambda path, body: (200, pem(PAYPAL_CERT)),
    ("POST", "sandbox.plaid.com", "/webhook_verification_key/get"): plaid_jwk,
}


@pytest.fixture
def key_server(tmp_path):
    servers = []

    def start(trusted: bool = True) -> KeyServer:
        d = tmp_path / f"server-{len(servers)}"
        d.mkdir()
        s = KeyServer(d, ROUTES, trusted)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def run(start_function, source: str, secret: str, queue_url: str, server: KeyServer):
    return start_function("inlet", {
        "INLET_SOURCE": source,
        "QUEUE_URL": queue_url,
        "WEBHOOK_SECRET": secret,
        "INLET_TEST_ONLY_KEY_SERVER": server.setting,
    })


def invoke(fn, source: str, headers: list[tuple[str, str]], body: bytes) -> dict:
    return fn.invoke(api_event("v2", source, headers, body))


def problem_type(resp) -> str:
    return json.loads(response_body(resp))["type"]


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- Amazon SNS -------------------------------------------------------------------------------

SIGNED = ["Message", "MessageId", "Subject", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]


def sns_message(ty: str, key=None, version: str = "2", cert_url: str | None = None, **extra) -> bytes:
    """An SNS message as AWS's docs lay it out, signed by the string-to-sign rules of the docs."""
    m = {
        "Type": ty,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": json.dumps({"order": 42}),
        "Timestamp": now_rfc3339(),
        "SignatureVersion": version,
        "SigningCertURL": cert_url or f"https://{SNS_HOST}{SNS_CERT_PATH}",
        **extra,
    }
    text = "".join(f"{k}\n{m[k]}\n" for k in SIGNED if k in m)
    hash_ = hashes.SHA1() if version == "1" else hashes.SHA256()
    m["Signature"] = base64.b64encode((key or SNS_KEY).sign(text.encode(), padding.PKCS1v15(), hash_)).decode()
    return json.dumps(m).encode()


SNS_HEADERS = [("Content-Type", "text/plain; charset=UTF-8"), ("x-amz-sns-message-type", "Notification")]


@pytest.fixture
def sns(start_function, new_queue, key_server):
    server = key_server()
    queue = new_queue()
    fn = run(start_function, "aws-sns", TOPIC, queue, server)
    return fn, server, queue


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_sns_notification_is_queued(sns, sqs, version):
    fn, server, queue = sns
    body = sns_message("Notification", version=version, Subject="hello")
    resp = invoke(fn, "aws-sns", SNS_HEADERS, body)
    assert resp["statusCode"] == 202, response_body(resp)
    [msg] = receive_all(sqs, queue)
    envelope = json.loads(msg["Body"])
    sent = json.loads(body)
    assert (envelope["id"], envelope["type"], envelope["subject"]) == (sent["MessageId"], "aws-sns.notification", TOPIC)
    assert envelope["data"]["Message"] == sent["Message"]
    assert [(r["method"], r["host"], r["path"]) for r in server.requests] == [("GET", SNS_HOST, SNS_CERT_PATH)]


def test_the_certificate_is_fetched_once_across_invocations(sns, sqs):
    fn, server, queue = sns
    for _ in range(3):
        assert invoke(fn, "aws-sns", SNS_HEADERS, sns_message("Notification"))["statusCode"] == 202
    assert len(receive_all(sqs, queue)) == 3
    assert len(server.requests) == 1


@pytest.mark.parametrize("cert_url", [
    "https://sns.us-west-2.amazonaws.com.evil.com/x.pem",
    "https://sns.us-west-2.amazonaws.com@evil.example/x.pem",
    "http://sns.us-west-2.amazonaws.com/x.pem",
    "https://sns.us-west-2.amazonaws.com:8443/x.pem",
    "https://127.0.0.1/x.pem",
    "https://s3.amazonaws.com/bucket/x.pem",
])
def test_a_certificate_from_any_other_host_is_never_fetched(sns, sqs, cert_url):
    fn, server, queue = sns
    resp = invoke(fn, "aws-sns", SNS_HEADERS, sns_message("Notification", cert_url=cert_url))
    assert resp["statusCode"] == 401
    assert problem_type(resp) == "urn:inlet:problem:invalid-signature"
    assert server.requests == [], "the server must see no request"
    assert receive_all(sqs, queue) == []


def test_a_forged_sns_signature_is_401(sns, sqs):
    fn, server, queue = sns
    resp = invoke(fn, "aws-sns", SNS_HEADERS, sns_message("Notification", key=FORGER_KEY))
    assert resp["statusCode"] == 401
    assert receive_all(sqs, queue) == []
    # Another topic's message (signed by SNS's key, as every topic's is): refused before
    # anything is fetched.
    server.requests.clear()
    resp = invoke(fn, "aws-sns", SNS_HEADERS, sns_message("Notification", TopicArn="arn:aws:sns:us-west-2:1:other"))
    assert resp["statusCode"] == 401
    assert server.requests == []
    assert receive_all(sqs, queue) == []


def test_a_certificate_that_cannot_be_fetched_is_503(sns, sqs):
    fn, server, queue = sns
    body = sns_message("Notification", cert_url=f"https://{SNS_HOST}/SimpleNotificationService-missing.pem")
    resp = invoke(fn, "aws-sns", SNS_HEADERS, body)
    assert resp["statusCode"] == 503
    assert (resp.get("headers") or {}).get("retry-after") == "30"
    assert receive_all(sqs, queue) == []
    assert len(server.requests) == 1


def test_a_server_whose_chain_is_not_trusted_is_503(start_function, new_queue, key_server, sqs):
    server = key_server(trusted=False)
    queue = new_queue()
    fn = run(start_function, "aws-sns", TOPIC, queue, server)
    resp = invoke(fn, "aws-sns", SNS_HEADERS, sns_message("Notification"))
    assert resp["statusCode"] == 503
    assert receive_all(sqs, queue) == []
    assert server.requests == [], "TLS failed before any request"


def test_subscription_confirmation_visits_subscribe_url_only_when_verified(sns, sqs):
    fn, server, queue = sns
    confirm = f"https://{SNS_HOST}/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=2336412f37fb"
    headers = [("Content-Type", "text/plain; charset=UTF-8"), ("x-amz-sns-message-type", "SubscriptionConfirmation")]

    # Forged: never visited.
    forged = sns_message("SubscriptionConfirmation", key=FORGER_KEY, SubscribeURL=confirm, Token="2336412f37fb")
    assert invoke(fn, "aws-sns", headers, forged)["statusCode"] == 401
    assert not [r for r in server.requests if r["path"].startswith("/?")]

    # Signed, but the SubscribeURL is not SNS's: never visited.
    for url in ["https://evil.example/?Action=ConfirmSubscription", f"https://{SNS_HOST}.evil.example/?Action=ConfirmSubscription"]:
        body = sns_message("SubscriptionConfirmation", SubscribeURL=url, Token="t")
        assert invoke(fn, "aws-sns", headers, body)["statusCode"] == 401
    assert all(r["path"] == SNS_CERT_PATH for r in server.requests)

    # Signed, on SNS's host: visited once, answered 200, nothing queued.
    body = sns_message("SubscriptionConfirmation", SubscribeURL=confirm, Token="2336412f37fb")
    resp = invoke(fn, "aws-sns", headers, body)
    assert resp["statusCode"] == 200, response_body(resp)
    visits = [r for r in server.requests if r["path"].startswith("/?")]
    assert [(v["host"], v["path"]) for v in visits] == [(SNS_HOST, confirm.split(SNS_HOST, 1)[1])]

    # Unsubscribe: answered, never visited, never queued.
    body = sns_message("UnsubscribeConfirmation", SubscribeURL=confirm, Token="2336412f37fb")
    assert invoke(fn, "aws-sns", headers, body)["statusCode"] == 200
    assert len([r for r in server.requests if r["path"].startswith("/?")]) == 1
    assert receive_all(sqs, queue) == []


def test_raw_message_delivery_is_refused(sns, sqs):
    fn, server, queue = sns
    resp = invoke(fn, "aws-sns", [("Content-Type", "text/plain; charset=UTF-8")], b'{"order":42}')
    assert resp["statusCode"] == 401
    assert server.requests == [] and receive_all(sqs, queue) == []


# --- PayPal -----------------------------------------------------------------------------------

def paypal_headers(body: bytes, key=None, cert_url: str | None = None) -> list[tuple[str, str]]:
    tid = str(uuid.uuid4())
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    signed = f"{tid}|{when}|{WEBHOOK_ID}|{zlib.crc32(body)}".encode()
    sig = (key or PAYPAL_KEY).sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return [
        ("Content-Type", "application/json"),
        ("PAYPAL-TRANSMISSION-ID", tid),
        ("PAYPAL-TRANSMISSION-TIME", when),
        ("PAYPAL-TRANSMISSION-SIG", base64.b64encode(sig).decode()),
        ("PAYPAL-CERT-URL", cert_url or f"https://{PAYPAL_HOST}{PAYPAL_CERT_PATH}"),
        ("PAYPAL-AUTH-ALGO", "SHA256withRSA"),
    ]


PAYPAL_BODY = json.dumps({
    "id": "WH-9UG43882HX7271132-6E0871324L7949614", "event_version": "1.0", "create_time": "2024-09-21T22:00:45Z",
    "resource_type": "capture", "event_type": "PAYMENT.CAPTURE.COMPLETED", "summary": "Payment completed",
    "resource": {"id": "80F85758S3080410K", "status": "COMPLETED"},
}).encode()


def test_paypal_verifies_with_its_fetched_certificate(start_function, new_queue, key_server, sqs):
    server = key_server()
    queue = new_queue()
    fn = run(start_function, "paypal", WEBHOOK_ID, queue, server)
    resp = invoke(fn, "paypal", paypal_headers(PAYPAL_BODY), PAYPAL_BODY)
    assert resp["statusCode"] == 202, response_body(resp)
    [msg] = receive_all(sqs, queue)
    envelope = json.loads(msg["Body"])
    assert (envelope["id"], envelope["type"], envelope["subject"]) == (
        "WH-9UG43882HX7271132-6E0871324L7949614", "paypal.payment.capture.completed", "80F85758S3080410K")
    assert [(r["method"], r["host"], r["path"]) for r in server.requests] == [("GET", PAYPAL_HOST, PAYPAL_CERT_PATH)]

    # Forged: 401, nothing queued.
    assert invoke(fn, "paypal", paypal_headers(PAYPAL_BODY, key=FORGER_KEY), PAYPAL_BODY)["statusCode"] == 401
    # A certificate URL off PayPal's hosts: 401, never fetched.
    for url in [f"https://{PAYPAL_HOST}.evil.example{PAYPAL_CERT_PATH}", f"https://evil.example{PAYPAL_CERT_PATH}",
                f"https://{PAYPAL_HOST}@evil.example{PAYPAL_CERT_PATH}"]:
        assert invoke(fn, "paypal", paypal_headers(PAYPAL_BODY, cert_url=url), PAYPAL_BODY)["statusCode"] == 401
    assert len(server.requests) == 1
    # A certificate PayPal does not serve: 503.
    missing = f"https://{PAYPAL_HOST}/v1/notifications/certs/CERT-missing"
    resp = invoke(fn, "paypal", paypal_headers(PAYPAL_BODY, cert_url=missing), PAYPAL_BODY)
    assert resp["statusCode"] == 503
    assert receive_all(sqs, queue) == []


# --- Plaid ------------------------------------------------------------------------------------

def plaid_token(body: bytes, key=None, kid: str = KID, iat: int | None = None) -> str:
    header = {"alg": "ES256", "kid": kid, "typ": "JWT"}
    claims = {"iat": int(time.time()) if iat is None else iat, "request_body_sha256": hashlib.sha256(body).hexdigest()}
    signing_input = f"{b64u(json.dumps(header).encode())}.{b64u(json.dumps(claims).encode())}"
    r, s = decode_dss_signature((key or PLAID_KEY).sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


PLAID_BODY = json.dumps({
    "environment": "sandbox", "error": None, "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb", "new_transactions": 3,
    "webhook_code": "DEFAULT_UPDATE", "webhook_type": "TRANSACTIONS",
}).encode()


def test_plaid_verifies_with_its_fetched_jwk(start_function, new_queue, key_server, sqs):
    server = key_server()
    queue = new_queue()
    fn = run(start_function, "plaid", PLAID_SECRET, queue, server)
    headers = lambda token: [("Content-Type", "application/json"), ("Plaid-Verification", token)]  # noqa: E731
    resp = invoke(fn, "plaid", headers(plaid_token(PLAID_BODY)), PLAID_BODY)
    assert resp["statusCode"] == 202, response_body(resp)
    [msg] = receive_all(sqs, queue)
    envelope = json.loads(msg["Body"])
    assert (envelope["type"], envelope["subject"]) == ("plaid.transactions.default_update", "wz666MBjYWTp2PDzzggYhM6oWWmBb")
    [asked] = server.requests
    assert (asked["method"], asked["host"], asked["path"]) == ("POST", "sandbox.plaid.com", "/webhook_verification_key/get")
    assert json.loads(asked["body"]) == {"client_id": "5f2f3b1ac8e5e000", "secret": "abcdef0123456789", "key_id": KID}

    # Forged, stale, or a changed body: 401, nothing queued.
    assert invoke(fn, "plaid", headers(plaid_token(PLAID_BODY, key=PLAID_FORGER)), PLAID_BODY)["statusCode"] == 401
    assert invoke(fn, "plaid", headers(plaid_token(PLAID_BODY, iat=int(time.time()) - 600)), PLAID_BODY)["statusCode"] == 401
    assert invoke(fn, "plaid", headers(plaid_token(PLAID_BODY)), PLAID_BODY.replace(b"3", b"4"))["statusCode"] == 401
    assert len(server.requests) == 1, "the key is cached"
    # A kid Plaid does not know: the key request fails, 503.
    assert invoke(fn, "plaid", headers(plaid_token(PLAID_BODY, kid="0000")), PLAID_BODY)["statusCode"] == 503
    assert receive_all(sqs, queue) == []

"""Self-tests of the webhook receivers (receivers.py, tests/sdk/receiver.mjs): their SDK checks
refuse as well as accept, and every scripted fault is what a plain HTTP client sees."""

from __future__ import annotations

import base64
import errno
import http.client
import json
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest
import standardwebhooks
import svix.webhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, str(Path(__file__).parent))
from receivers import (  # noqa: E402
    Answer,
    Hang,
    Huge,
    NodeReceiver,
    Receiver,
    Reset,
    Trickle,
    Verdict,
    verify,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
BODY = b'{"type":"invoice.paid","data":{"id":"in_1"}}'
SDKS = ("standardwebhooks", "svix")


def signed(secret: str, body: bytes = BODY, *, at: int | None = None, msg_id: str = "msg_2Zq1",
           sdk=standardwebhooks.Webhook) -> dict[str, str]:
    """Standard Webhooks headers, signed by the SDK's own `sign`."""
    at = int(time.time()) if at is None else at
    sig = sdk(secret).sign(msg_id, datetime.fromtimestamp(at, tz=timezone.utc), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": sig}


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 5.0):
    """(status, headers, body) of a POST from http.client, which follows nothing."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        target = u.path + (f"?{u.query}" if u.query else "")
        conn.request("POST", target, body=body, headers={"Content-Type": "application/json", **headers})
        r = conn.getresponse()
        return r.status, r.headers, r.read()
    finally:
        conn.close()


# --- verification: each receiver, each SDK ------------------------------------------------------


@pytest.fixture(params=["python", "node"])
def receiver_kind(request):
    return request.param


def deliver(kind: str, secrets: list[str], body: bytes, headers: dict[str, str]) -> dict[str, Verdict]:
    """Posts to a fresh receiver of `kind` knowing `secrets`; the verdicts it recorded."""
    if kind == "python":
        with Receiver(secrets=secrets) as rx:
            status, _, _ = post(rx.url, body, headers)
            assert status == 204
            return rx.wait_for(1)[0].verdicts
    with NodeReceiver(secrets=secrets) as node:
        status, _, _ = post(node.url, body, headers)
        assert status == 204
        (only,) = node.results()
        assert only.body == body and only.header("webhook-id") == headers.get("webhook-id")
        return only.verdicts


def test_a_good_signature_verifies_with_both_sdks(receiver_kind):
    for sdk in (standardwebhooks.Webhook, svix.webhooks.Webhook):
        verdicts = deliver(receiver_kind, [SECRET], BODY, signed(SECRET, sdk=sdk))
        for name in SDKS:
            assert verdicts[name] == Verdict(True, key=0), (name, verdicts)


@pytest.mark.parametrize(
    "case",
    ["tampered body", "wrong secret", "stale timestamp", "future timestamp", "changed id", "no signature"],
)
def test_bad_deliveries_fail_with_both_sdks(receiver_kind, case):
    headers, body = signed(SECRET), BODY
    if case == "tampered body":
        body = BODY.replace(b"in_1", b"in_2")
    elif case == "wrong secret":
        headers = signed(OTHER)
    elif case == "stale timestamp":
        headers = signed(SECRET, at=int(time.time()) - 10 * 60)
    elif case == "future timestamp":
        headers = signed(SECRET, at=int(time.time()) + 10 * 60)
    elif case == "changed id":
        headers["webhook-id"] = "msg_2Zq2"
    elif case == "no signature":
        del headers["webhook-signature"]
    verdicts = deliver(receiver_kind, [SECRET], body, headers)
    for name in SDKS:
        assert not verdicts[name].ok, (name, verdicts)
        assert verdicts[name].key is None and verdicts[name].error, verdicts[name]


def test_rotation_accepts_either_secret_and_says_which(receiver_kind):
    # The sender signs with both during a rotation; a receiver knowing only the old one accepts.
    both = signed(SECRET)
    both["webhook-signature"] += " " + signed(OTHER)["webhook-signature"]
    verdicts = deliver(receiver_kind, [OTHER], BODY, both)
    assert all(verdicts[n] == Verdict(True, key=0) for n in SDKS), verdicts
    # A receiver that holds the new secret second finds it second.
    verdicts = deliver(receiver_kind, [OTHER, SECRET], BODY, signed(SECRET))
    assert all(verdicts[n] == Verdict(True, key=1) for n in SDKS), verdicts


def test_svix_headers_only_satisfy_svix(receiver_kind):
    # The two SDKs really are asked separately: only svix reads the svix-* header family.
    headers = {k.replace("webhook-", "svix-"): v for k, v in signed(SECRET).items()}
    verdicts = deliver(receiver_kind, [SECRET], BODY, headers)
    assert verdicts["svix"].ok, verdicts
    assert not verdicts["standardwebhooks"].ok, verdicts


def ed25519_pair() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    raw = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return private, "whpk_" + base64.b64encode(raw).decode()


def v1a(private: Ed25519PrivateKey, msg_id: str, at: int, body: bytes) -> str:
    return "v1a," + base64.b64encode(private.sign(f"{msg_id}.{at}.".encode() + body)).decode()


def test_neither_sdk_checks_v1a(receiver_kind):
    private, _ = ed25519_pair()
    headers = signed(SECRET)
    headers["webhook-signature"] = v1a(private, "msg_2Zq1", int(headers["webhook-timestamp"]), BODY)
    verdicts = deliver(receiver_kind, [SECRET], BODY, headers)
    for name in SDKS:
        assert not verdicts[name].ok and "No matching signature" in verdicts[name].error, verdicts


def test_v1a_is_checked_with_the_public_key():
    private, public = ed25519_pair()
    _, stranger = ed25519_pair()
    at = int(time.time())
    headers = signed(OTHER, at=at)
    headers["webhook-signature"] += " " + v1a(private, "msg_2Zq1", at, BODY)
    with Receiver(secrets=[SECRET], public_keys=[stranger, public]) as rx:
        post(rx.url, BODY, headers)
        post(rx.url, BODY + b" ", headers)
        good, tampered = rx.wait_for(2)
    assert good.verdicts["v1a"] == Verdict(True, key=1)
    assert not good.verdicts["standardwebhooks"].ok, "v1 was signed with another secret"
    assert not tampered.verdicts["v1a"].ok


def test_v1a_known_answer():
    # svix-webhooks server/svix-server/src/worker.rs test_asymmetric_key_signing (and the spec's
    # example header): the receiver's v1a check accepts it at its own time, not 10 minutes on.
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==",
    }
    public = ["whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="]
    body = b'{"test": 2432232314}'
    assert verify([], public, body, headers, now=1614265330)["v1a"] == Verdict(True, key=0)
    assert not verify([], public, body, headers, now=1614265330 + 600)["v1a"].ok
    assert not verify([], public, b'{"test": 2432232315}', headers, now=1614265330)["v1a"].ok


# --- faults: what a plain client sees -----------------------------------------------------------


@pytest.fixture
def rx():
    with Receiver(secrets=[SECRET]) as r:
        yield r


@pytest.mark.parametrize(
    "answer",
    [
        Answer(500),
        Answer(502),
        Answer(503, {"Retry-After": "30"}),
        Answer(504),
        Answer(429, {"Retry-After": "7"}),
        Answer(429),
        Answer(410, body=b"gone"),
        Answer(200, body=b"ok"),
    ],
    ids=lambda a: f"{a.status}{'+retry-after' if a.headers else ''}",
)
def test_scripted_statuses_are_answered(rx, answer):
    rx.script(answer)
    status, headers, body = post(rx.url, BODY, signed(SECRET))
    assert status == answer.status
    assert headers.get("Retry-After") == answer.headers.get("Retry-After")
    assert body == answer.body
    (got,) = rx.wait_for(1)
    assert got.verified("standardwebhooks") and got.action == repr(answer)


def test_then_the_default_and_a_behaviour(rx):
    rx.script(Answer(500), Answer(503))
    statuses = [post(rx.url, BODY, signed(SECRET))[0] for _ in range(3)]
    assert statuses == [500, 503, 204]
    rx.behave(lambda n, req: Answer(502) if n % 2 else Answer(201))
    assert [post(rx.url, BODY, signed(SECRET))[0] for _ in range(2)] == [502, 201]  # requests 3, 4
    assert [r.path for r in rx.wait_for(5)] == ["/hook"] * 5


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_point_at_the_trap(rx, status):
    rx.script(rx.redirect(status), rx.redirect(status))
    got, headers, _ = post(rx.url, BODY, signed(SECRET))
    assert got == status and headers["Location"] == rx.trap_url
    assert rx.trapped == []
    # A client that follows redirects is caught there.
    try:
        urllib.request.urlopen(urllib.request.Request(rx.url, data=BODY, headers=signed(SECRET)), timeout=5)
    except urllib.error.HTTPError:
        pass  # urllib refuses to re-POST a 307/308 itself
    else:
        assert len(rx.trapped) == 1 and rx.trapped[0].path == "/_trap"
    assert len(rx.requests) == 2


def test_a_hang_times_out_the_client(rx):
    rx.script(Hang(3))
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        post(rx.url, BODY, signed(SECRET), timeout=0.5)
    assert 0.4 < time.monotonic() - start < 2.5
    assert rx.wait_for(1)[0].verified("svix"), "the request was read before hanging"


def test_a_reset_is_a_connection_reset(rx):
    rx.script(Reset())
    with pytest.raises(ConnectionResetError) as e:
        post(rx.url, BODY, signed(SECRET))
    assert e.value.errno == errno.ECONNRESET, "an RST, not an orderly close"
    assert rx.wait_for(1)[0].verified("standardwebhooks")
    # The server goes on serving.
    assert post(rx.url, BODY, signed(SECRET))[0] == 204


def test_a_trickle_arrives_a_byte_at_a_time(rx):
    rx.script(Trickle(200, b"slow", interval=0.15))
    u = urllib.parse.urlsplit(rx.url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(f"POST {u.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}\r\n\r\n".encode() + BODY)
        first, second = s.recv(4096), s.recv(4096)
    assert (first, second) == (b"H", b"T"), "one byte per write"
    # The client went away: the server gave up before the body.
    got = rx.wait_for(1)[0]
    deadline = time.monotonic() + 5
    while got.finished is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert got.finished is not None and got.sent == 0


def test_a_trickle_beats_a_per_read_timeout(rx):
    # Every byte comes well inside a 1 s read timeout, but the whole answer takes ~3 s: only a
    # deadline on the whole attempt stops a trickling endpoint.
    rx.script(Trickle(200, b"slow", interval=0.05))
    start = time.monotonic()
    status, _, body = post(rx.url, BODY, signed(SECRET), timeout=1.0)
    assert (status, body) == (200, b"slow")
    assert time.monotonic() - start > 2.0, "about 60 bytes, 50 ms apart"


def test_a_huge_body_streams_50_mib(rx):
    rx.script(Huge(), Huge())
    status, headers, body = post(rx.url, BODY, signed(SECRET), timeout=30)
    assert status == 200 and int(headers["Content-Length"]) == 50 * 1024 * 1024 == len(body)
    # A client that stops reading early: the server stops writing.
    u = urllib.parse.urlsplit(rx.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.request("POST", u.path, body=BODY, headers=signed(SECRET))
    r = conn.getresponse()
    assert len(r.read(1024 * 1024)) == 1024 * 1024
    conn.close()
    second = rx.wait_for(2)[1]
    deadline = time.monotonic() + 10
    while second.finished is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert second.finished is not None and second.sent < 50 * 1024 * 1024


def test_node_receiver_reports_every_request_with_its_headers():
    with NodeReceiver(secrets=[SECRET]) as node:
        headers = signed(SECRET)
        post(node.url, BODY, headers)
        post(node.url + "?x=1", b"not json", headers)
        first, second = node.results()
    assert (first.method, first.path, first.body) == ("POST", "/hook", BODY)
    assert first.header("Webhook-Signature") == headers["webhook-signature"]
    assert first.verified("svix") and first.verified("standardwebhooks")
    assert second.path == "/hook?x=1" and not second.verified("svix")
    assert json.dumps([r.at for r in (first, second)])  # times are plain numbers

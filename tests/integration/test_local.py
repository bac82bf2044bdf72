"""The local dev server and the CLI, as a newcomer uses them: `inlet serve`, then `inlet send`."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest
import standardwebhooks
import stripe
from slack_sdk.signature import SignatureVerifier

from conftest import BIN_DIR, DEV_SECRETS, ROOT, SOURCES, free_port, receive_all, wait_http
from signers import github_sdk_verify

CLI = ROOT / "target" / "debug" / "inlet"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)


@pytest.fixture
def server(tmp_path):
    """Starts `inlet serve` on a free port; returns (base URL, spool dir, process env)."""
    procs = []

    def start(extra_env: dict | None = None, args: tuple[str, ...] = ()):
        port = free_port()
        spool = tmp_path / "spool"
        env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
        env.update(extra_env or {})
        log = open(tmp_path / f"serve-{port}.log", "wb")
        p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(spool),
                              "--idempotency-dir", str(tmp_path / "idempotency"), *args],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append((p, log))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        return url, spool

    yield start
    for p, log in procs:
        p.kill()
        p.wait()
        log.close()


def test_every_source_round_trips_through_the_spool(server):
    url, spool = server()
    for source in SOURCES:
        out = cli("send", source, "--url", f"{url}/webhooks/{source}")
        assert out.returncode == 0, out
        status, body = out.stdout.split("\n", 1)
        assert status.startswith("202"), out.stdout
        reply = json.loads(body)
        path = reply["messageId"]
        envelope = json.loads(open(path).read())
        assert envelope["id"] == reply["id"]
        assert envelope["source"] == source
        assert envelope["data"] == json.loads(default_sample(source))
    files = sorted(p.name for p in spool.iterdir())
    assert len(files) == 4, files
    assert not [f for f in files if not f.endswith(".json")], "no temporary files are left"


def default_sample(source: str) -> bytes:
    """The body `inlet send <source>` sends with no flags: its default sample."""
    folder = ROOT / "infra" / "samples" / source
    default = json.loads((folder / "expect.json").read_text())["default"]
    return (folder / f"{default.replace(':', '%3A')}.json").read_bytes()


def listed_senders() -> dict[str, str]:
    """Every sender `inlet sources` lists, with where its signature is (a header, or a place in the
    body), read from the book's senders table `inlet sources --markdown` prints."""
    out = cli("sources", "--markdown")
    assert out.returncode == 0, out
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| [^|`]*`([^`]+)` \|", out.stdout, re.M)
    assert len(rows) >= 50, out.stdout
    return dict(rows)


def test_sources_can_be_narrowed_by_name_scheme_and_evidence():
    """`inlet sources <name> --scheme S --verified-by K`: the rows shown, the senders table narrowed
    alike, and a name matching nothing an error (status 2) that suggests the nearest sender."""
    every = listed_senders()
    out = cli("sources", "stripe")
    assert out.returncode == 0, out
    assert [line.split()[0] for line in out.stdout.splitlines()[1:]] == ["stripe"]
    out = cli("sources", "--scheme", "ED25519", "--markdown")
    ed25519 = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ed25519 ", out.stdout, re.M)
    assert out.returncode == 0 and {"discord", "telnyx"} <= set(ed25519), out.stdout
    assert len(out.stdout.splitlines()) == 2 + len(ed25519), "only Ed25519 rows"
    sdk = cli("sources", "--verified-by", "sdk", "--markdown").stdout
    rows = re.findall(r"^\| `[^`]+` .*\| ([^|]+) \|$", sdk, re.M)
    assert rows and all(r.startswith("SDK: ") for r in rows), sdk
    assert len(rows) < len(every)
    out = cli("sources", "stirpe")
    assert (out.returncode, out.stdout) == (2, ""), out
    assert "did you mean `stripe`?" in out.stderr
    out = cli("sources", "--verified-by", "hearsay")
    assert out.returncode != 0 and "sdk, vectors, docs, configured" in out.stderr, out


def test_defect14_every_listed_source_sends_its_default_sample(server):
    """`inlet send <source>` with the generated sample and the development secret, for every
    sender: a 2xx, and its envelope(s) in the spool under its name and type."""
    url, spool = server()
    senders = listed_senders()
    assert {"graph", "twilio", "mailgun", "braintree", "gocardless", "xero", "okta"} <= senders.keys()
    refused = {}
    for source in senders:
        out = cli("send", source, "--url", f"{url}/webhooks/{source}")
        status = out.stdout.split(" ", 1)[0]
        if out.returncode != 0 or not status.startswith("2"):
            refused[source] = (out.stdout + out.stderr).strip()[:300]
    assert not refused, "\n".join(f"{s}: {why}" for s, why in refused.items())
    spooled: dict[str, list[str]] = {}
    for path in spool.glob("*.json"):
        envelope = json.loads(path.read_text())
        spooled.setdefault(envelope["source"], []).append(envelope["type"])
    assert sorted(spooled) == sorted(senders), "one source's envelopes each, under its own name"
    for source, types in spooled.items():
        assert all(t.startswith(f"{source}.") for t in types), (source, types)


def test_defect14_every_listed_source_prints_a_signed_event():
    """`inlet event <source>` for every sender: an HTTP API event whose body and headers carry the
    signature where the sender puts it."""
    for source, signature in listed_senders().items():
        out = cli("event", source)
        assert out.returncode == 0, (source, out.stderr)
        event = json.loads(out.stdout)
        assert event["requestContext"]["http"]["method"] == "POST"
        assert event["rawPath"] == f"/webhooks/{source}"
        headers, body = event["headers"], event["body"]
        assert body and headers.get("content-type"), source
        if event["isBase64Encoded"]:
            body = base64.b64decode(body).decode()
        in_body = signature.rsplit(".", 1)[-1]
        # A sender whose whole body is the signed token (Wix's JWT): three base64url parts.
        token = signature == "body" and re.fullmatch(r"[\w-]+\.[\w-]+\.[\w-]+", body)
        assert token or signature in headers or f'"{in_body}"' in body or f"{in_body}=" in body, (source, signature, event)


def test_tampered_or_wrongly_signed_requests_are_refused_locally(server):
    url, spool = server()
    out = cli("send", "stripe", "--url", f"{url}/webhooks/stripe", "--secret", "whsec_wrong")
    assert out.returncode == 1
    assert out.stdout.startswith("401")
    assert json.loads(out.stdout.split("\n", 1)[1])["type"] == "urn:inlet:problem:invalid-signature"
    # Unknown routes and methods get problems too.
    req = urllib.request.Request(f"{url}/webhooks/github", method="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 405
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(f"{url}/elsewhere", data=b"{}"))
    assert e.value.code == 404
    assert json.loads(e.value.read())["type"] == "urn:inlet:problem:not-found"
    assert not spool.exists() or not list(spool.iterdir())


def test_server_uses_sqs_when_given_a_queue_url(server, new_queue, sqs, moto_url):
    queue_url = new_queue()
    url, spool = server({"QUEUE_URL": queue_url, "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": "us-east-1",
                         "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    push = '{"ref":"refs/heads/main","repository":{"full_name":"octo-org/hello-world"}}'
    out = cli("send", "github", "--url", f"{url}/webhooks/github", "--event", "push", "--data", push)
    assert out.stdout.startswith("202"), out
    envelopes = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
    assert [(e["type"], e["subject"]) for e in envelopes] == [("github.push", "octo-org/hello-world")]
    assert not spool.exists()


def test_server_relays_to_a_deployments_relay_queue_beside_its_events_queue(server, new_queue, sqs, moto_url):
    queue_url, relay_url = new_queue(), new_queue()
    url, _ = server({"QUEUE_URL": queue_url, "RELAY_QUEUE_URL": relay_url, "AWS_ENDPOINT_URL": moto_url,
                     "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
                    args=("--no-outbound", "--relay", "github.push"))
    for event, data in [("push", '{"ref":"refs/heads/main"}'), ("star", '{"action":"created"}')]:
        out = cli("send", "github", "--url", f"{url}/webhooks/github", "--event", event, "--data", data)
        assert out.stdout.startswith("202"), out
    queued = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
    [relayed] = [json.loads(m["Body"]) for m in receive_all(sqs, relay_url)]
    assert sorted(e["type"] for e in queued) == ["github.push", "github.star.created"]
    push = next(e for e in queued if e["type"] == "github.push")
    assert relayed["inletenvelopeid"] == push["id"] and relayed["id"].startswith("github:")
    assert {k: v for k, v in relayed.items() if k not in ("id", "inletenvelopeid")} == \
        {k: v for k, v in push.items() if k != "id"}


def signed_request(url: str, source: str, *sign_args: str) -> urllib.request.Request:
    """A request signed by `inlet sign`, with the sample body (or --data)."""
    out = cli("sign", source, *sign_args)
    assert out.returncode == 0, out
    data = default_sample(source)
    if "--data" in sign_args:
        data = sign_args[sign_args.index("--data") + 1].encode()
    return urllib.request.Request(f"{url}/webhooks/{source}", data=data, headers=headers_of(out.stdout), method="POST")


def post_all(requests: list[urllib.request.Request]) -> list[tuple[int, dict]]:
    """Sends every request at once, one thread each."""
    results: list = [None] * len(requests)

    def send(i):
        with urllib.request.urlopen(requests[i], timeout=30) as r:
            results[i] = (r.status, json.loads(r.read()))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_defect4_parallel_deliveries_of_one_id_never_overwrite_each_other(server):
    url, spool = server(args=("--no-idempotency",))
    requests = [signed_request(url, "standard", "--id", "msg_same") for _ in range(6)]
    results = post_all(requests)
    assert [status for status, _ in results] == [202] * 6
    paths = {reply["messageId"] for _, reply in results}
    assert len(paths) == 6, "six distinct messages"
    assert len(list(spool.glob("*.json"))) == 6
    assert all(json.loads(open(p).read())["id"] == "msg_same" for p in paths)


def test_defect4_ids_that_share_a_long_prefix_each_get_their_own_file(server):
    url, spool = server(args=("--no-idempotency",))
    prefix = "x" * 100  # names once kept only the first 96 characters of the id
    results = post_all([signed_request(url, "standard", "--id", f"{prefix}{i}") for i in range(160)])
    assert [status for status, _ in results] == [202] * 160
    files = list(spool.glob("*.json"))
    assert len(files) == 160
    assert sorted(json.loads(f.read_text())["id"] for f in files) == sorted(f"{prefix}{i}" for i in range(160))


def test_the_local_server_recognises_duplicates_through_its_directory(server):
    url, spool = server()
    results = post_all([signed_request(url, "stripe") for _ in range(6)])
    assert [status for status, _ in results] == [202] * 6
    assert len({reply["messageId"] for _, reply in results}) == 1, "one message, the same answer"
    assert sum(1 for _, reply in results if reply.get("duplicate")) == 5
    assert len(list(spool.glob("*.json"))) == 1


def test_defect9_the_local_server_does_not_collapse_repeated_headers(server):
    import http.client

    url, spool = server()
    host, port = url.removeprefix("http://").split(":")
    signed = headers_of(cli("sign", "github").stdout)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", "/webhooks/github")
    for name, value in signed.items():
        conn.putheader(name, value)
    conn.putheader("x-github-event", "push")  # a second value: which one was meant is not guessed
    body = default_sample("github")
    conn.putheader("content-length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    assert resp.status == 400
    assert json.loads(resp.read())["type"] == "urn:inlet:problem:duplicate-header"
    assert not spool.exists() or not list(spool.glob("*.json"))


def test_idle_and_slow_clients_are_cut_off_and_connections_are_bounded(server):
    url, _ = server(args=("--read-timeout", "1", "--max-connections", "2"))
    host, port = url.removeprefix("http://").split(":")
    # A client that starts a request and never finishes its headers is closed after the timeout.
    slow = socket.create_connection((host, int(port)))
    slow.sendall(b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\n")
    slow.settimeout(5)
    started = time.monotonic()
    try:
        leftover = slow.recv(1024)
    except ConnectionResetError:
        leftover = b""
    assert time.monotonic() - started < 3, "closed by the server's read timeout"
    assert leftover == b"" or leftover.startswith(b"HTTP/1.1 408"), leftover
    slow.close()
    # Two idle connections take both slots; a third client waits until the timeout frees one.
    idle = [socket.create_connection((host, int(port))) for _ in range(2)]
    time.sleep(0.2)
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
        assert r.status == 200
    waited = time.monotonic() - started
    assert waited > 0.5, f"served after {waited:.2f} s: the limit did not hold"
    for s in idle:
        s.close()


def exchange(url: str, head: str, body: bytes = b"") -> socket.socket:
    """A connection to the server that has sent a request's head (and `body`, if any)."""
    host, port = url.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
    return s


def until_closed(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails the test)."""
    out = b""
    while chunk := s.recv(65536):
        out += chunk
    s.close()
    return out


def rejected(url: str, source: str, problem: str) -> float:
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        samples = prometheus(r.read().decode())
    return samples.get(("Rejected", frozenset({("Source", source), ("Problem", problem)})), 0)


def test_defect13_a_declared_body_over_the_limit_is_refused_at_once_without_being_read(server):
    url, spool = server(args=("--read-timeout", "3"))
    declared = 10**10
    s = exchange(url, f"POST /webhooks/github HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                      f"Content-Length: {declared}\n", b'{"action":')
    started = time.monotonic()
    head, body = until_closed(s).split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert time.monotonic() - started < 1.5, "answered at once, not after the read timeout"
    assert b"\r\nconnection: close" in head.lower(), "the unread body is not drained: the connection is closed"
    problem = json.loads(body)
    assert problem["type"] == "urn:inlet:problem:payload-too-large"
    assert problem["detail"] == f"the body is {declared} bytes; the limit is 6291456 bytes"
    assert rejected(url, "github", "payload-too-large") == 1
    assert not spool.exists() or not list(spool.iterdir())


def test_defect13_expect_100_continue_over_the_limit_gets_413_and_never_100_continue(server):
    url, spool = server(args=("--read-timeout", "3"))
    s = exchange(url, "POST /webhooks/github HTTP/1.1\nHost: x\nContent-Type: application/json\n"
                      "Expect: 100-continue\nContent-Length: 6291457\n")
    started = time.monotonic()
    reply = until_closed(s)
    assert reply.startswith(b"HTTP/1.1 413 "), "the first thing sent is the refusal, not 100 Continue: " + repr(reply)
    assert time.monotonic() - started < 1.5, "answered at once, not after the read timeout"
    assert b"100 Continue" not in reply
    assert b"\r\nconnection: close" in reply.split(b"\r\n\r\n", 1)[0].lower()
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["detail"].startswith("the body is 6291457 bytes;")
    assert rejected(url, "github", "payload-too-large") == 1
    # A body within the limit is still asked for with 100 Continue, and accepted.
    signed = headers_of(cli("sign", "github").stdout)
    body = default_sample("github")
    s = exchange(url, "POST /webhooks/github HTTP/1.1\nHost: x\nConnection: close\nExpect: 100-continue\n"
                      + "".join(f"{k}: {v}\n" for k, v in signed.items()) + f"Content-Length: {len(body)}\n")
    interim = b""
    while b"\r\n\r\n" not in interim:
        interim += s.recv(1)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.sendall(body)
    assert until_closed(s).startswith(b"HTTP/1.1 202 ")
    assert len(list(spool.glob("*.json"))) == 1


def test_defect13_a_slow_upload_within_the_read_timeout_leaves_the_pipeline_its_whole_budget(server):
    # The request's 5 s budget starts once the body is in: reading it for 6 s is not a reason for 503.
    url, spool = server(args=("--read-timeout", "10"))
    signed = headers_of(cli("sign", "github").stdout)
    body = default_sample("github")
    s = exchange(url, "POST /webhooks/github HTTP/1.1\nHost: x\nConnection: close\n"
                      + "".join(f"{k}: {v}\n" for k, v in signed.items()) + f"Content-Length: {len(body)}\n")
    pieces = 12
    step = -(-len(body) // pieces)
    started = time.monotonic()
    for i in range(0, len(body), step):
        time.sleep(0.5)
        s.sendall(body[i:i + step])
    assert time.monotonic() - started > 5.5
    reply = until_closed(s)
    assert reply.startswith(b"HTTP/1.1 202 "), reply
    assert len(list(spool.glob("*.json"))) == 1


def test_server_secret_override(server):
    url, _ = server({"INLET_GITHUB_SECRET": "my-own-secret"})
    assert cli("send", "github", "--url", f"{url}/webhooks/github").stdout.startswith("401")
    assert cli("send", "github", "--url", f"{url}/webhooks/github", "--secret", "my-own-secret").stdout.startswith("202")


def headers_of(out: str) -> dict[str, str]:
    return {k.lower(): v for k, v in (line.split(": ", 1) for line in out.strip().splitlines())}


def test_cli_signatures_are_accepted_by_the_providers_sdks():
    """The reverse direction: what `inlet sign` produces, each provider's own verifier accepts."""
    ts = int(time.time())
    for source in SOURCES:
        body = default_sample(source)
        out = cli("sign", source, "--timestamp", str(ts), "--id", "msg_cli_1")
        assert out.returncode == 0, out
        h = headers_of(out.stdout)
        secret = DEV_SECRETS[source]
        if source == "github":
            assert github_sdk_verify(secret, body, h["x-hub-signature-256"])
        elif source == "stripe":
            event = stripe.Webhook.construct_event(body.decode(), h["stripe-signature"], secret)
            assert event["id"] == "evt_3PqLmN2eZvKYlo2C0abcDEFg"
        elif source == "slack":
            assert SignatureVerifier(secret).is_valid(body=body, timestamp=h["x-slack-request-timestamp"], signature=h["x-slack-signature"])
        else:
            payload = standardwebhooks.Webhook(secret).verify(body.decode(), h)
            assert payload["type"] == "order.created"


def test_cli_events_are_accepted_by_the_functions(start_function, new_queue, sqs):
    """`inlet event` writes the API Gateway events used with `sam local invoke`."""
    for fmt in ["v1", "v2", "url"]:
        queue_url = new_queue()
        fn = start_function("slack", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS["slack"]})
        event = cli("event", "slack", "--format", fmt, "--base64").stdout
        assert fn.invoke(event)["statusCode"] == 202
        assert len(receive_all(sqs, queue_url)) == 1
        fn.stop()


def test_defect14_default_events_of_senders_that_sign_the_url_or_inside_the_body_are_accepted(
        start_function, new_queue, sqs, tmp_path):
    """`inlet event` for the senders whose requests the CLI once could not make: Twilio's JSON (its
    bodySHA256 in the query, in each event format), Graph's clientState, Mailgun's and Braintree's
    signatures inside the body; and HubSpot, which signs the URL and a timestamp."""
    sources = ["twilio", "graph", "mailgun", "braintree", "hubspot"]
    out = cli("dev-files", "--dir", str(tmp_path), "--sources", ",".join(sources))
    assert out.returncode == 0, out
    env = json.loads((tmp_path / "env.json").read_text())
    for source, fmt in [(s, "v2") for s in sources] + [("twilio", "v1"), ("twilio", "url")]:
        queue_url = new_queue()
        fn = start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": env[f"{source}Function"]["WEBHOOK_SECRET"]})
        event = cli("event", source, "--format", fmt)
        assert event.returncode == 0, event
        reply = fn.invoke(event.stdout)
        assert 200 <= reply["statusCode"] < 300, (source, fmt, reply)
        envelopes = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
        assert envelopes and all(e["type"].startswith(f"{source}.") for e in envelopes), (source, envelopes)
        fn.stop()


def test_serve_and_send_know_the_sources_the_settings_configure(server):
    """The same INLET_SOURCE_SETTINGS a deployment uses: a second Standard Webhooks sender and a
    custom one are served, signed and sent under their own names."""
    settings = json.dumps({"billing": {"INLET_SCHEME": "standard"},
                           "acme": {"INLET_SCHEME": "custom", "INLET_CUSTOM_SIGNATURE": "header:X-Signature",
                                    "INLET_CUSTOM_ID": "json:data.order_id", "INLET_CUSTOM_TYPE": "json:event"}})
    env = {"INLET_SOURCE_SETTINGS": settings}
    url, spool = server(env)
    order = json.dumps({"event": "new_order", "data": {"order_id": "ord_7", "total_amount": 3}})
    for source, args, want in [("billing", (), "billing.order.created"), ("acme", ("--data", order), "acme.new_order")]:
        out = cli("send", source, "--url", f"{url}/webhooks/{source}", *args, env=env)
        assert out.returncode == 0, out
        assert json.loads(out.stdout.split("\n", 1)[1])["type"] == want
    events = [json.loads(p.read_text()) for p in spool.glob("*.json")]
    assert sorted((e["source"], e["type"]) for e in events) == [("acme", "acme.new_order"), ("billing", "billing.order.created")]
    assert [e["id"] for e in events if e["source"] == "acme"] == ["ord_7"]
    # A name nothing configures is refused by the CLI, naming the way to configure it.
    out = cli("send", "nobody", "--url", f"{url}/webhooks/nobody")
    assert out.returncode != 0 and "INLET_SOURCE_SETTINGS" in out.stderr


def prometheus(text: str) -> dict[tuple[str, frozenset], float]:
    """Samples of a Prometheus text exposition, by name and labels."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, f"not a Prometheus sample line: {line!r}"
        labels = frozenset(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def test_the_local_server_counts_each_sources_requests_and_sums_them_up_on_exit(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(tmp_path / "spool"),
                              "--idempotency-dir", str(tmp_path / "idempotency")],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_http(url + "/healthz")
            sent = ("send", "github", "--url", f"{url}/webhooks/github", "--id", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            assert cli(*sent).returncode == 0
            assert cli(*sent).returncode == 0  # a retry: the same body and delivery id
            assert cli("send", "github", "--url", f"{url}/webhooks/github", "--secret", "wrong").returncode == 1
            assert cli("send", "stripe", "--url", f"{url}/webhooks/stripe").returncode == 0
            with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
                assert r.headers["content-type"].startswith("text/plain")
                samples = prometheus(r.read().decode())
            gh = frozenset({("Source", "github")})
            assert samples[("Accepted", gh)] == 1
            assert samples[("Duplicates", gh)] == 1
            assert samples[("Accepted", frozenset({("Source", "stripe")}))] == 1
            assert samples[("Rejected", gh | {("Problem", "invalid-signature")})] == 1
            assert samples[("ColdStarts", gh)] == 1
            assert samples.get(("Accepted", frozenset({("Source", "slack")})), 0) == 0
            assert ("QueueSendLatency_count", gh) in samples and samples[("QueueSendLatency_count", gh)] == 1
        finally:
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=20) == 0
    out = log_path.read_text()
    summary = out[out.index("Inlet stopped."):]
    rows = {line.split()[0]: line.split()[1:] for line in summary.splitlines()[2:]}
    # accepted, duplicates, handshakes, rejected, failed, parked
    assert rows == {"github": ["1", "1", "0", "1", "0", "0"], "stripe": ["1", "0", "0", "0", "0", "0"]}, summary

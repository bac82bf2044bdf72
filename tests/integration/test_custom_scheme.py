"""The custom scheme, configured as a deployment configures it (INLET_SOURCE plus its entry in
INLET_SOURCE_SETTINGS), through the compiled function and moto: the book's new-order example (docs/src/custom-scheme.md),
what the signature must cover (issue 16, defect 7), Basic credentials (defect 14a), and settings
a source does not use (defect 8)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
import urllib.parse

import pytest

from conftest import BIN_DIR, ROOT, queue_depth, receive_all
from signers import api_event

SECRET = "acme-signing-secret"
SETTINGS = {"acme": {
    "INLET_SCHEME": "custom",
    "INLET_CUSTOM_SIGNATURE": "header:X-Signature",
    "INLET_CUSTOM_ID": "json:data.order_id",
    "INLET_CUSTOM_TYPE": "json:event",
    "INLET_CUSTOM_SUBJECT": "json:data.customer_name",
}}
BODY = json.dumps({"event": "new_order", "data": {"order_id": "ord_1001", "customer_name": "Ada Lovelace",
                                                  "total_amount": 42.5}}).encode()


def start(start_function, queue_url, settings=SETTINGS):
    return start_function("acme", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": SECRET,
                                   "INLET_SOURCE_SETTINGS": json.dumps(settings)})


def signed(body: bytes, secret: str = SECRET):
    return [("Content-Type", "application/json"),
            ("X-Signature", hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())]


def test_the_new_order_example_lands_as_configured(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start(start_function, queue_url)
    resp = fn.invoke(api_event("v2", "acme", signed(BODY), BODY))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    env = json.loads(message["Body"])
    assert (env["source"], env["type"], env["id"], env["subject"]) == ("acme", "acme.new_order", "ord_1001", "Ada Lovelace")
    assert env["data"] == json.loads(BODY)
    assert env["inletverification"] == "acme-hmac-sha256"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    for headers, body in [(signed(BODY, "wrong"), BODY), (signed(BODY), BODY.replace(b"1001", b"1002"))]:
        assert fn.invoke(api_event("v2", "acme", headers, body))["statusCode"] == 401
    assert queue_depth(sqs, queue_url) == 0


def test_bad_configuration_stops_the_function_naming_the_setting(start_function, new_queue):
    bad = {"acme": {**SETTINGS["acme"], "INLET_CUSTOM_ALGORITHM": "hmac-md5"}}
    fn = start(start_function, new_queue(), bad)
    assert fn.wait_exit() != 0
    assert "INLET_CUSTOM_ALGORITHM" in fn.logs()


def refused_at_start(start_function, queue_url, settings, *named, source="acme", env=None, secret=SECRET):
    """Starts `source` with `settings` and asserts it stops before serving, its log naming each of `named`."""
    fn = start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": secret,
                                 "INLET_SOURCE_SETTINGS": json.dumps(settings), **(env or {})})
    try:
        code = fn.wait_exit(timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{source} started with {settings}: {fn.logs()}")
    assert code != 0
    logs = fn.logs()
    for name in named:
        assert name in logs, logs
    return logs


def custom(**settings: str) -> dict:
    return {"acme": {"INLET_SCHEME": "custom", "INLET_CUSTOM_SIGNATURE": "header:X-Signature", **settings}}


# --- Defect 7: what the signature does not cover ------------------------------------------------

def test_an_unsigned_timestamp_stops_the_function(start_function, new_queue, sqs):
    """A 30-day-old signature with a fresh timestamp header was accepted: the timestamp was read
    and held to the window, but the signature (over the body alone) did not cover it."""
    queue_url = new_queue()
    refused_at_start(start_function, queue_url, custom(INLET_CUSTOM_TIMESTAMP="header:X-Timestamp"),
                     "INLET_CUSTOM_TIMESTAMP", "{timestamp}")
    refused_at_start(start_function, queue_url, custom(INLET_CUSTOM_TIMESTAMP="header:X-Timestamp",
                                                       INLET_CUSTOM_UNSIGNED="timestamp"), "INLET_CUSTOM_UNSIGNED")
    # Signed, the same replay is refused.
    fn = start(start_function, queue_url, custom(INLET_CUSTOM_TIMESTAMP="header:X-Timestamp",
                                                 INLET_CUSTOM_SIGNED="{timestamp}.{body}"))
    old = str(int(time.time()) - 30 * 86400)
    sig = hmac.new(SECRET.encode(), f"{old}.".encode() + BODY, hashlib.sha256).hexdigest()
    fresh = str(int(time.time()))
    for ts, status in [(fresh, 401), (old, 400)]:
        headers = [("Content-Type", "application/json"), ("X-Signature", sig), ("X-Timestamp", ts)]
        assert fn.invoke(api_event("v2", "acme", headers, BODY))["statusCode"] == status
    assert queue_depth(sqs, queue_url) == 0


def test_a_signature_without_the_body_stops_the_function(start_function, new_queue):
    """Only `{json:id}` signed: a body changed around the signed id was accepted."""
    refused_at_start(start_function, new_queue(), custom(INLET_CUSTOM_SIGNED="{json:data.order_id}",
                                                         INLET_CUSTOM_ID="json:data.order_id"),
                     "INLET_CUSTOM_SIGNED", "INLET_CUSTOM_UNSIGNED")


def test_an_id_or_type_read_from_the_query_needs_the_opt_in_and_is_checked(start_function, new_queue, sqs):
    """The query is never signed: `acme.payment succeeded/../<b>admin</b>` and a 906-byte id were
    queued. Unlisted in INLET_CUSTOM_UNSIGNED they stop the function; listed, they are checked."""
    queue_url = new_queue()
    refused_at_start(start_function, queue_url, custom(INLET_CUSTOM_TYPE="query:event"), "INLET_CUSTOM_TYPE")
    refused_at_start(start_function, queue_url, custom(INLET_CUSTOM_ID="query:id"), "INLET_CUSTOM_ID")
    fn = start(start_function, queue_url, custom(INLET_CUSTOM_ID="query:id", INLET_CUSTOM_TYPE="query:event",
                                                 INLET_CUSTOM_UNSIGNED="id,type"))
    for query in [urllib.parse.urlencode({"id": "ord_1", "event": "payment succeeded/../<b>admin</b>"}),
                  urllib.parse.urlencode({"id": "x" * 906, "event": "payment_succeeded"}),
                  urllib.parse.urlencode({"id": "ord_1", "event": "payment.refunded"})]:
        resp = fn.invoke(api_event("v2", "acme", signed(BODY), BODY, query=query))
        assert resp["statusCode"] == 400, (query, resp)
    assert queue_depth(sqs, queue_url) == 0
    query = urllib.parse.urlencode({"id": "ord_1", "event": "payment_succeeded"})
    assert fn.invoke(api_event("v2", "acme", signed(BODY), BODY, query=query))["statusCode"] == 202
    [message] = receive_all(sqs, queue_url)
    assert (json.loads(message["Body"])["type"], json.loads(message["Body"])["id"]) == ("acme.payment_succeeded", "ord_1")


def test_a_token_signs_nothing_so_ids_and_types_from_its_body_are_checked(start_function, new_queue, sqs):
    queue_url = new_queue()
    token = {"INLET_CUSTOM_ALGORITHM": "token", "INLET_CUSTOM_SIGNATURE": "header:X-Token",
             "INLET_CUSTOM_ID": "json:id", "INLET_CUSTOM_TYPE": "json:event"}
    refused_at_start(start_function, queue_url, custom(**token), "INLET_CUSTOM_ALGORITHM", "INLET_CUSTOM_UNSIGNED")
    refused_at_start(start_function, queue_url, custom(**token, INLET_CUSTOM_UNSIGNED="body"), "INLET_CUSTOM_ID")
    fn = start(start_function, queue_url, custom(**token, INLET_CUSTOM_UNSIGNED="body,id,type"))
    headers = [("Content-Type", "application/json"), ("X-Token", SECRET)]
    for body in [{"id": "ord_1", "event": "payment succeeded/../<b>admin</b>"},
                 {"id": "x" * 906, "event": "payment_succeeded"}]:
        raw = json.dumps(body).encode()
        assert fn.invoke(api_event("v2", "acme", headers, raw))["statusCode"] == 400, body
    assert queue_depth(sqs, queue_url) == 0
    raw = json.dumps({"id": "ord_1", "event": "payment_succeeded"}).encode()
    assert fn.invoke(api_event("v2", "acme", headers, raw))["statusCode"] == 202
    assert [json.loads(m["Body"])["type"] for m in receive_all(sqs, queue_url)] == ["acme.payment_succeeded"]


# --- Defect 14a: Basic credentials --------------------------------------------------------------

CLI = BIN_DIR / "inlet" if (BIN_DIR / "inlet").exists() else ROOT / "target" / "debug" / "inlet"
CREDENTIALS = "acme:pa:ss"
BASIC = {"acme": {"INLET_SCHEME": "custom", "INLET_CUSTOM_ALGORITHM": "basic", "INLET_CUSTOM_UNSIGNED": "body"}}


def cli(*args: str, env: dict, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=timeout,
                          env={"PATH": os.environ.get("PATH", ""), **env})


def test_basic_verifies_a_real_authorization_header_with_its_defaults(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start_function("acme", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": CREDENTIALS,
                                 "INLET_SOURCE_SETTINGS": json.dumps(BASIC)})
    credentials = base64.b64encode(CREDENTIALS.encode()).decode()
    for value in [f"Basic {credentials}", f"basic {credentials}", f"BASIC {credentials}"]:
        headers = [("Content-Type", "application/json"), ("Authorization", value)]
        assert fn.invoke(api_event("v2", "acme", headers, BODY))["statusCode"] == 202, value
    out = cli("sign", "acme", "--secret", CREDENTIALS, "--data", BODY.decode(),
              env={"INLET_SOURCE_SETTINGS": json.dumps(BASIC)})
    assert out.returncode == 0, out
    headers = [tuple(line.split(": ", 1)) for line in out.stdout.splitlines()]
    assert ("authorization", f"Basic {credentials}") in headers, headers
    assert fn.invoke(api_event("v2", "acme", headers, BODY))["statusCode"] == 202
    for message in receive_all(sqs, queue_url):
        assert json.loads(message["Body"])["inletverification"] == "acme-basic-auth"
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    wrong = base64.b64encode(b"acme:guess").decode()
    for value in [f"Basic {wrong}", credentials, CREDENTIALS]:
        headers = [("Content-Type", "application/json"), ("Authorization", value)]
        assert fn.invoke(api_event("v2", "acme", headers, BODY))["statusCode"] == 401, value
    assert queue_depth(sqs, queue_url) == 0


# --- Defect 8: settings a source does not use ---------------------------------------------------

def test_a_misspelt_setting_stops_the_function_suggesting_the_name(start_function, new_queue):
    """INLET_CUSTOM_TIMESTAMPS started normally, without replay protection."""
    settings = custom(INLET_CUSTOM_TIMESTAMPS="header:X-Timestamp")
    refused_at_start(start_function, new_queue(), settings, "INLET_CUSTOM_TIMESTAMPS",
                     "did you mean INLET_CUSTOM_TIMESTAMP?")
    refused_at_start(start_function, new_queue(), SETTINGS, "INLET_METRIC_NAMESPACE",
                     env={"INLET_METRIC_NAMESPACE": "Inlet/test"})


def test_a_tolerance_for_a_sender_without_a_timestamp_stops_the_function(start_function, new_queue):
    queue_url = new_queue()
    refused_at_start(start_function, queue_url, {"github": {"WEBHOOK_TOLERANCE_SECONDS": "60"}},
                     "WEBHOOK_TOLERANCE_SECONDS", source="github")
    refused_at_start(start_function, queue_url, custom(INLET_CUSTOM_TOLERANCE="60"), "INLET_CUSTOM_TOLERANCE")
    # The template's one ToleranceSeconds reaches every function: senders without a timestamp start.
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": SECRET,
                                   "WEBHOOK_TOLERANCE_SECONDS": "60", "INLET_SOURCE_SETTINGS": ""})
    fn.wait_started()


def test_custom_settings_beside_a_catalogue_scheme_stop_the_function(start_function, new_queue):
    settings = {"billing": {"INLET_SCHEME": "standard", "INLET_CUSTOM_TOLERANCE": "60"}}
    refused_at_start(start_function, new_queue(), settings, "INLET_CUSTOM_TOLERANCE", source="billing",
                     secret="whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=")


def test_the_local_server_refuses_the_settings_a_function_refuses(tmp_path):
    """`inlet serve` builds every source from INLET_SOURCE_SETTINGS as the functions do."""
    settings = json.dumps({"billing": {"INLET_SCHEME": "standard", "INLET_CUSTOM_TOLERANCE": "60"}})
    try:
        out = cli("serve", "--addr", "127.0.0.1:0", "--spool", str(tmp_path / "spool"), "--no-idempotency",
                  env={"INLET_SOURCE_SETTINGS": settings}, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("inlet serve started")
    assert out.returncode != 0 and "INLET_CUSTOM_TOLERANCE" in out.stderr, out
    # The CLI warns of INLET_* variables it does not read, naming the one meant.
    out = cli("sign", "github", "--data", "{}", env={"INLET_GITHUB_SECERT": "s"})
    assert out.returncode == 0, out
    assert "INLET_GITHUB_SECERT" in out.stderr and "did you mean INLET_GITHUB_SECRET?" in out.stderr, out

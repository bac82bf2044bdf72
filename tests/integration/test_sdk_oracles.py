"""Every sender whose own SDK is in a registry, checked against that SDK (see oracles/__init__.py):
SDK-signed deliveries through the compiled function and moto's SQS come out as the right envelope;
tampered and wrong-secret ones are refused (401), stale and future ones too (400
timestamp-out-of-tolerance), with the queue left empty; and the SDK's
verifier accepts what `inlet sign` produces."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
import uuid

import pytest

from conftest import BIN_DIR, ROOT, queue_depth, receive_all
from oracles import Oracle, all_oracles
from oracles.comms import TWILIO_VARIANTS
from signers import api_event

ORACLES = all_oracles()
BY_ID = {o.source: o for o in ORACLES}


def start(start_function, oracle: Oracle, queue_url: str):
    env = {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": oracle.receiver_secret, **oracle.env}
    return start_function(oracle.source, env)


def deliver(fn, oracle: Oracle, headers, body: bytes) -> dict:
    return fn.invoke(api_event("v2", oracle.source, headers, body))


def tampered(oracle: Oracle, body: bytes) -> bytes:
    body = bytearray(body)
    at = len(body) // 2 if oracle.tamper_at is None else oracle.tamper_at
    # A change that keeps the body well-formed where it can: a digit or letter becomes another.
    body[at] = ord("1") if body[at] != ord("1") else ord("2")
    return bytes(body)


@pytest.mark.parametrize("source", sorted(BY_ID))
def test_sdk_signed_delivery_becomes_the_right_envelope(source, start_function, new_queue, sqs):
    oracle = BY_ID[source]
    queue_url = new_queue()
    fn = start(start_function, oracle, queue_url)
    delivery_id = f"msg_{uuid.uuid4().hex[:20]}"
    now = int(time.time())
    headers, body = oracle.signed(oracle.secret, oracle.body_for(now), now, delivery_id)
    assert oracle.verify(oracle.receiver_secret, headers, body), "the SDK refuses the delivery it should accept"

    resp = deliver(fn, oracle, headers, body)
    assert resp["statusCode"] in (200, 202, 204), resp
    messages = receive_all(sqs, queue_url)
    if oracle.events is not None:
        # A batch: one envelope per event, each its own.
        envelopes = sorted((json.loads(m["Body"]) for m in messages), key=lambda e: e["inletbatchindex"])
        assert len(envelopes) == len(oracle.events)
        for env, want, data in zip(envelopes, oracle.events, oracle.event_data(body)):
            assert env["source"] == oracle.source
            for key, value in want.items():
                assert env.get(key) == value, f"{key}: {env.get(key)!r} != {value!r}"
            assert env["data"] == data
        return
    assert len(messages) == 1
    env = json.loads(messages[0]["Body"])
    assert env["source"] == oracle.source
    for key, want in oracle.expected(delivery_id).items():
        assert env.get(key) == want, f"{key}: {env.get(key)!r} != {want!r}"
    if env.get("datacontenttype") == "application/json" and body[:1] in (b"{", b"["):
        assert env["data"] == json.loads(body)


@pytest.mark.parametrize("source", sorted(BY_ID))
def test_forged_stale_and_future_deliveries_are_refused(source, start_function, new_queue, sqs):
    oracle = BY_ID[source]
    queue_url = new_queue()
    fn = start(start_function, oracle, queue_url)
    now = int(time.time())
    body = oracle.body_for(now)
    headers, signed_body = oracle.signed(oracle.secret, body, now, "msg_t")
    cases = {
        "tampered": (headers, tampered(oracle, signed_body)),
        "wrong secret": oracle.signed(oracle.wrong_secret, body, now, "msg_w"),
    }
    if oracle.window is not None:
        # Past the SDK's window either way, with room for the clock to tick during the test.
        for name, at in (("stale", now - oracle.window - 30), ("future", now + oracle.window + 30)):
            cases[name] = oracle.signed(oracle.secret, oracle.body_for(at), at, f"msg_{name[0]}")
    for name, (headers, body) in cases.items():
        # The SDK refuses each one too (stale/future only where its verifier checks time).
        if name in ("tampered", "wrong secret"):
            assert not oracle.verify(oracle.receiver_secret, headers, body), f"SDK accepts the {name} delivery"
        resp = deliver(fn, oracle, headers, body)
        if name in ("stale", "future"):
            # Signed by the right key but outside the window: the documented problem, not a bare 401.
            assert resp["statusCode"] == 400, f"{name}: {resp}"
            assert json.loads(resp["body"])["type"] == "urn:inlet:problem:timestamp-out-of-tolerance"
        else:
            assert resp["statusCode"] == 401, f"{name}: {resp}"
    assert queue_depth(sqs, queue_url) == 0


def inlet_sign(oracle: Oracle, secret: str, body: bytes, ts: int, delivery_id: str,
               tmp_path) -> tuple[list[tuple[str, str]], bytes]:
    """What the CLI signs: `inlet sign`'s headers with the body as given, or, for senders that sign
    inside the body, the headers and body of the HTTP API event `inlet event` writes."""
    path = tmp_path / "body"
    path.write_bytes(body)
    args = ["--secret", secret, "--file", str(path), "--timestamp", str(ts), "--id", delivery_id, *oracle.cli_args]
    if not oracle.signs_body:
        out = subprocess.run([str(BIN_DIR / "inlet"), "sign", oracle.source, *args],
                             capture_output=True, text=True, cwd=ROOT, check=True).stdout
        return [tuple(line.split(": ", 1)) for line in out.splitlines() if line], body
    out = subprocess.run([str(BIN_DIR / "inlet"), "event", oracle.source, "--format", "v2", *args],
                         capture_output=True, text=True, cwd=ROOT, check=True).stdout
    event = json.loads(out)
    sent = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
    return list(event["headers"].items()), sent


@pytest.mark.parametrize("source", sorted(BY_ID))
def test_the_sdk_verifies_what_inlet_signs(source, tmp_path):
    oracle = BY_ID[source]
    ts = int(time.time())
    body = oracle.body_for(ts)
    headers, sent = inlet_sign(oracle, oracle.secret, body, ts, "msg_inletsign", tmp_path)
    assert oracle.verify(oracle.receiver_secret, headers, sent), headers
    wrong, wrong_sent = inlet_sign(oracle, oracle.wrong_secret, body, ts, "msg_inletsign", tmp_path)
    assert not oracle.verify(oracle.receiver_secret, wrong, wrong_sent)
    assert not oracle.verify(oracle.receiver_secret, headers, tampered(oracle, sent))


def test_inlet_sources_claims_an_sdk_exactly_where_an_oracle_runs():
    table = subprocess.run([str(BIN_DIR / "inlet"), "sources"], capture_output=True, text=True, check=True).stdout
    claimed = {}
    for line in table.splitlines()[1:]:
        match = re.match(r"(\S+)\s.*\sSDK (.+)$", line)
        if match:
            claimed[match.group(1)] = match.group(2).strip()
    # The first four senders have their SDK checks in test_functions.py.
    elsewhere = {"github", "stripe", "slack", "standard"}
    assert {s: claimed[s] for s in claimed if s not in elsewhere} == {o.source: o.sdk for o in ORACLES}


def test_the_books_table_of_senders_is_inlet_sources_and_the_readme_counts_it():
    table = subprocess.run([str(BIN_DIR / "inlet"), "sources", "--markdown"], capture_output=True, text=True,
                           check=True).stdout
    assert table.count("\n") >= 42  # header, rule and at least 40 senders
    page = ROOT / "docs" / "src" / "senders.md"
    assert table in page.read_text(), f"{page.relative_to(ROOT)}: paste `inlet sources --markdown` in"
    senders = table.count("\n") - 2
    counted = re.findall(r"It knows (\d+) senders by name", (ROOT / "README.md").read_text())
    assert counted == [str(senders)], f"README.md should say \"It knows {senders} senders by name\""


def test_twilio_json_bodies_are_signed_through_their_hash(start_function, new_queue, sqs):
    """Twilio signs a JSON body through `bodySHA256` in the URL's query, and only the URL: the SDK
    signs and verifies, the function (PUBLIC_URL without the query) takes the query as received."""
    import hashlib

    from oracles.comms import TWILIO_URL
    from twilio.request_validator import RequestValidator

    token = "9b1d6c0f3a7e4f2b8c5d1e0a6f3b7c92"
    body = json.dumps({"MessageSid": "SM5ef8732a3c49700934481addd5ce1659", "MessageStatus": "delivered"}).encode()
    query = f"bodySHA256={hashlib.sha256(body).hexdigest()}"
    sig = RequestValidator(token).compute_signature(f"{TWILIO_URL}?{query}", {})
    assert RequestValidator(token).validate(f"{TWILIO_URL}?{query}", body.decode(), sig)
    headers = [("Content-Type", "application/json"), ("X-Twilio-Signature", sig)]
    queue_url = new_queue()
    fn = start_function("twilio", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": token, "PUBLIC_URL": TWILIO_URL})
    other = json.dumps({"MessageSid": "SM5ef8732a3c49700934481addd5ce1659", "MessageStatus": "failed"}).encode()
    for changed_body, changed_query in [(other, query), (body, f"bodySHA256={hashlib.sha256(other).hexdigest()}")]:
        resp = fn.invoke(api_event("v2", "twilio", headers, changed_body, query=changed_query))
        assert resp["statusCode"] == 401, resp
    assert queue_depth(sqs, queue_url) == 0
    resp = fn.invoke(api_event("v2", "twilio", headers, body, query=query))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    assert json.loads(message["Body"])["data"] == json.loads(body)


@pytest.mark.parametrize("variant", sorted(TWILIO_VARIANTS))
def test_twilio_deliveries_the_sdk_also_accepts(variant, start_function, new_queue, sqs):
    """What twilio-python's `validate` accepts besides the oracle's delivery, Inlet accepts: a
    signature over the URL with its default port added (or, configured with it, removed), and a
    SharedKey's HMAC-SHA256 announced by X-Twilio-Webhooks-Signature-Settings (the function's secret
    is then the SharedKey secret). Tampered, wrong-secret, unannounced and unknown-algorithm
    deliveries are refused by both."""
    from oracles.comms import TWILIO_URL, twilio_signer, twilio_verifier

    public_url, signed_url, settings = TWILIO_VARIANTS[variant]
    oracle = BY_ID["twilio"]
    sign = twilio_signer(signed_url, settings)
    # The app's URL: what the function is configured with, or rebuilds from the event.
    sdk_accepts = twilio_verifier(public_url or TWILIO_URL)
    queue_url = new_queue()
    env = {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": oracle.secret}
    fn = start_function("twilio", env if public_url is None else {**env, "PUBLIC_URL": public_url})

    refused = {
        "tampered": (sign(oracle.secret, oracle.body, 0, "msg_t"), tampered(oracle, oracle.body)),
        "wrong secret": (sign(oracle.wrong_secret, oracle.body, 0, "msg_w"), oracle.body),
    }
    # The settings header is unsigned: an algorithm the SDK does not know fails whatever is signed.
    sha1 = twilio_signer(signed_url)(oracle.secret, oracle.body, 0, "msg_u")
    unknown = "key=webhooks_sharedkey_5f3c1e9a7b2d4c6e8f0a1b3c5d7e9f2a,algorithm=HMAC_SHA512"
    refused["unknown algorithm"] = ([*sha1, ("X-Twilio-Webhooks-Signature-Settings", unknown)], oracle.body)
    if settings is not None:
        # A SharedKey signature without its settings header is taken for HMAC-SHA1, and fails.
        unannounced = [(k, v) for k, v in sign(oracle.secret, oracle.body, 0, "msg_s")
                       if k != "X-Twilio-Webhooks-Signature-Settings"]
        refused["unannounced"] = (unannounced, oracle.body)
    for name, (headers, body) in refused.items():
        assert not sdk_accepts(oracle.secret, headers, body), f"the SDK accepts the {name} delivery"
        resp = fn.invoke(api_event("v2", "twilio", headers, body))
        assert resp["statusCode"] == 401, f"{name}: {resp}"
    assert queue_depth(sqs, queue_url) == 0

    delivery_id = f"msg_{uuid.uuid4().hex[:20]}"
    headers = sign(oracle.secret, oracle.body, 0, delivery_id)
    assert sdk_accepts(oracle.secret, headers, oracle.body), "the SDK refuses the delivery it should accept"
    resp = fn.invoke(api_event("v2", "twilio", headers, oracle.body))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    env = json.loads(message["Body"])
    for key, want in oracle.expected(delivery_id).items():
        assert env.get(key) == want, f"{key}: {env.get(key)!r} != {want!r}"


def test_the_sdk_verifies_what_inlet_signs_for_a_twilio_sharedkey(tmp_path):
    """`inlet sign twilio --header X-Twilio-Webhooks-Signature-Settings:…algorithm=HMAC_SHA256`
    signs with HMAC-SHA256, as Twilio does with a SharedKey: the SDK accepts it under that secret."""
    import dataclasses

    from oracles.comms import TWILIO_SHA256

    oracle = BY_ID["twilio"]
    sharedkey = dataclasses.replace(
        oracle, cli_args=(*oracle.cli_args, "--header", f"X-Twilio-Webhooks-Signature-Settings:{TWILIO_SHA256}"))
    ts = int(time.time())
    headers, sent = inlet_sign(sharedkey, oracle.secret, oracle.body, ts, "msg_inletsign", tmp_path)
    assert ("x-twilio-webhooks-signature-settings", TWILIO_SHA256) in headers, headers
    assert oracle.verify(oracle.secret, headers, sent), headers
    assert len(base64.b64decode(dict(headers)["x-twilio-signature"])) == 32, "an HMAC-SHA256"
    wrong, wrong_sent = inlet_sign(sharedkey, oracle.wrong_secret, oracle.body, ts, "msg_inletsign", tmp_path)
    assert not oracle.verify(oracle.secret, wrong, wrong_sent)
    assert not oracle.verify(oracle.secret, headers, tampered(oracle, sent))

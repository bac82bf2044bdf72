"""The compiled function binaries, driven through the Lambda Runtime API, against moto's SQS.
Requests are signed by the providers' own SDKs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from conftest import DEV_SECRETS, SOURCES, queue_depth, receive_all
from signers import api_event, response_body, sample, sdk_signed

EXPECTED = {
    # source: (type, subject, fixed time or None for "about now")
    "github": ("github.pull_request.opened", "octo-org/hello-world", None),
    "stripe": ("stripe.payment_intent.succeeded", "cus_QhGxYzAbCdEfGh", "2024-11-22T18:26:40.000Z"),
    "slack": ("slack.event_callback.app_mention", "C123ABC456", "2018-01-08T22:12:02.000Z"),
    "standard": ("standard.order.created", None, None),
}
BODY_IDS = {"stripe": "evt_3PqLmN2eZvKYlo2C0abcDEFg", "slack": "Ev123ABC456"}


def run_source(start_function, source, queue_url, **env):
    return start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS[source], **env})


def header(resp, name: str) -> str | None:
    """A response header, from `headers` (v2) or `multiValueHeaders` (v1)."""
    if name in (resp.get("headers") or {}):
        return resp["headers"][name]
    values = (resp.get("multiValueHeaders") or {}).get(name)
    return ",".join(values) if values else None


def problem(resp) -> dict:
    assert header(resp, "content-type") == "application/problem+json", resp
    return json.loads(response_body(resp))


@pytest.mark.parametrize("fmt", ["v1", "v2", "url"])
@pytest.mark.parametrize("source", SOURCES)
def test_sdk_signed_delivery_lands_on_sqs_as_cloudevent(source, fmt, start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_source(start_function, source, queue_url)
    body = sample(source)
    delivery_id = f"delivery-{source}-{fmt}"
    before = time.time()
    resp = fn.invoke(api_event(fmt, source, sdk_signed(source, DEV_SECRETS[source], body, delivery_id=delivery_id), body,
                               base64_body=(fmt == "v2")))
    assert resp["statusCode"] == 202, resp
    reply = json.loads(response_body(resp))
    want_id = BODY_IDS.get(source, delivery_id)
    assert reply["id"] == want_id

    messages = receive_all(sqs, queue_url)
    assert len(messages) == 1
    msg = messages[0]
    env = json.loads(msg["Body"])
    want_type, want_subject, want_time = EXPECTED[source]
    assert env["specversion"] == "1.0"
    assert env["id"] == want_id
    assert env["source"] == source
    assert env["type"] == want_type
    assert env.get("subject") == want_subject
    assert env["datacontenttype"] == "application/json"
    assert env["data"] == json.loads(body)
    assert "data_base64" not in env
    assert env["inletbodysha256"] == hashlib.sha256(body).hexdigest()
    assert env["inletverification"] == f"{source}-hmac-sha256"
    assert env["inletsecret"] == "WEBHOOK_SECRET"
    received = env["inletreceivedat"]
    assert received.endswith("Z") and received[:4] == time.strftime("%Y", time.gmtime(before))
    if want_time:
        assert env["time"] == want_time
    else:
        assert env["time"][:10] == time.strftime("%Y-%m-%d", time.gmtime(before))
    attrs = msg["MessageAttributes"]
    assert attrs["source"]["StringValue"] == source
    assert attrs["type"]["StringValue"] == want_type
    assert reply["messageId"] == msg["MessageId"]


def test_slack_url_verification_is_answered_not_enqueued(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_source(start_function, "slack", queue_url)
    body = json.dumps({"token": "t", "challenge": "chal-123", "type": "url_verification"}).encode()
    resp = fn.invoke(api_event("v2", "slack", sdk_signed("slack", DEV_SECRETS["slack"], body), body))
    assert resp["statusCode"] == 200
    assert response_body(resp) == b"chal-123"
    # A forged handshake is rejected like any other request.
    resp = fn.invoke(api_event("v2", "slack", sdk_signed("slack", "not-the-secret", body), body))
    assert resp["statusCode"] == 401
    assert queue_depth(sqs, queue_url) == 0


def test_slack_slash_command_form_becomes_json(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_source(start_function, "slack", queue_url)
    body = b"team_id=T1&channel_id=C9&command=%2Fdeploy&text=prod+now&trigger_id=123.456.abc"
    headers = sdk_signed("slack", DEV_SECRETS["slack"], body, content_type="application/x-www-form-urlencoded")
    resp = fn.invoke(api_event("v2", "slack", headers, body, base64_body=True))
    assert resp["statusCode"] == 202, resp
    env = json.loads(receive_all(sqs, queue_url)[0]["Body"])
    assert (env["id"], env["type"], env["subject"]) == ("123.456.abc", "slack.slash_command", "C9")
    assert env["data"] == {"team_id": "T1", "channel_id": "C9", "command": "/deploy", "text": "prod now", "trigger_id": "123.456.abc"}


def test_standard_non_json_body_is_kept_as_data_base64(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_source(start_function, "standard", queue_url)
    body = bytes([0x00, 0xFF, 0x10, 0x80]) + b"binary"
    secret = DEV_SECRETS["standard"]
    # The SDK signs str bodies only; these bytes are signed with Python's hmac, as the spec says.
    ts = int(time.time())
    key = base64.b64decode(secret.removeprefix("whsec_"))
    sig = base64.b64encode(hmac.new(key, f"msg_bin.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    headers = [("Content-Type", "application/octet-stream"), ("webhook-id", "msg_bin"), ("webhook-timestamp", str(ts)),
               ("webhook-signature", f"v1,{sig}")]
    resp = fn.invoke(api_event("v2", "standard", headers, body))
    assert resp["statusCode"] == 202, resp
    env = json.loads(receive_all(sqs, queue_url)[0]["Body"])
    assert env["datacontenttype"] == "application/octet-stream"
    assert base64.b64decode(env["data_base64"]) == body
    assert env["type"] == "standard.raw"
    assert "data" not in env


def test_rotation_accepts_old_and_new_secret(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": "new-secret", "WEBHOOK_SECRET_2": "old-secret"})
    body = sample("github")
    for secret, label in [("new-secret", "WEBHOOK_SECRET"), ("old-secret", "WEBHOOK_SECRET_2")]:
        resp = fn.invoke(api_event("v2", "github", sdk_signed("github", secret, body, delivery_id=label), body))
        assert resp["statusCode"] == 202, resp
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", "retired-secret", body), body))
    assert resp["statusCode"] == 401
    labels = sorted(json.loads(m["Body"])["inletsecret"] for m in receive_all(sqs, queue_url))
    assert labels == ["WEBHOOK_SECRET", "WEBHOOK_SECRET_2"]


def test_fifo_queue_gets_group_and_dedup_id(start_function, new_queue, sqs):
    queue_url = new_queue(fifo=True)
    fn = run_source(start_function, "stripe", queue_url)
    body = sample("stripe")
    for _ in range(2):  # Stripe retries the same event: one message
        resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", DEV_SECRETS["stripe"], body), body))
        assert resp["statusCode"] == 202, resp
    messages = receive_all(sqs, queue_url)
    assert len(messages) == 1
    attrs = messages[0]["Attributes"]
    assert attrs["MessageDeduplicationId"] == "evt_3PqLmN2eZvKYlo2C0abcDEFg"
    assert attrs["MessageGroupId"] == "cus_QhGxYzAbCdEfGh"


def test_a_queue_that_does_not_exist_stops_the_function_at_start(start_function, moto_url):
    missing = f"{moto_url}/123456789012/no-such-queue"
    fn = run_source(start_function, "github", missing)
    assert fn.wait_exit() != 0
    logs = fn.logs()
    assert "QUEUE_URL is invalid" in logs and "refusing to start" in logs, logs


def test_a_queue_deleted_while_running_is_a_permanent_failure(start_function, new_queue, sqs):
    """Without a payload bucket the event cannot be kept: 500 with its own problem type and an
    alert in the logs, not a 503 that asks the sender to retry for ever."""
    queue_url = new_queue()
    fn = run_source(start_function, "github", queue_url)
    fn.wait_started()
    sqs.delete_queue(QueueUrl=queue_url)
    body = sample("github")
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", DEV_SECRETS["github"], body), body))
    assert resp["statusCode"] == 500, resp
    assert header(resp, "retry-after") is None
    assert problem(resp)["type"] == "urn:inlet:problem:queue-rejected"
    time.sleep(0.2)
    failed = [json.loads(line) for line in fn.logs().splitlines() if '"request failed"' in line]
    assert failed and failed[0]["level"] == "ERROR" and failed[0]["alert"] == "queue-rejected", fn.logs()


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"WEBHOOK_SECRET": "s"}, "QUEUE_URL"),
        ({"QUEUE_URL": "http://127.0.0.1:1/123456789012/q"}, "WEBHOOK_SECRET"),
        ({"QUEUE_URL": "not-a-url", "WEBHOOK_SECRET": "s"}, "QUEUE_URL"),
        ({"QUEUE_URL": "http://127.0.0.1:1/123456789012/q", "WEBHOOK_SECRET": "s", "WEBHOOK_TOLERANCE_SECONDS": "soon"}, "WEBHOOK_TOLERANCE_SECONDS"),
        ({"QUEUE_URL": "http://127.0.0.1:1/123456789012/q", "WEBHOOK_SECRET": "s", "MAX_BODY_BYTES": "0"}, "MAX_BODY_BYTES"),
    ],
)
def test_missing_or_invalid_config_fails_at_start(env, variable, start_function):
    fn = start_function("github", env)
    assert fn.wait_exit() != 0
    logs = fn.logs()
    assert variable in logs, logs
    assert "refusing to start" in logs


def test_invalid_standard_secret_fails_at_start(start_function):
    fn = start_function("standard", {"QUEUE_URL": "http://127.0.0.1:1/123456789012/q", "WEBHOOK_SECRET": "whsec_***"})
    assert fn.wait_exit() != 0
    assert "WEBHOOK_SECRET is invalid" in fn.logs()


def github_hmac_signed(secret: str, body: bytes) -> list[tuple[str, str]]:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return [("Content-Type", "application/json"), ("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "d-1"),
            ("X-Hub-Signature-256", f"sha256={sig}")]


def _bad_cases():
    """(name, source, headers-builder, body, format, method, status, problem type)."""
    gh = sample("github")
    s = DEV_SECRETS

    def signed(source, body, offset=None, **kw):
        # Timestamps are taken when the case runs, not when the table is built.
        def build():
            if offset is not None:
                kw["timestamp"] = int(time.time()) + offset
            return sdk_signed(source, s[source], body, **kw)
        return build

    def without(source, body, name, **kw):
        return lambda: [(k, v) for k, v in sdk_signed(source, s[source], body, **kw) if k.lower() != name]

    def duplicated(source, body, name, **kw):
        def build():
            h = sdk_signed(source, s[source], body, **kw)
            return h + [(k, v) for k, v in h if k.lower() == name]
        return build

    def replaced(source, body, name, value, **kw):
        return lambda: [(k, value if k.lower() == name else v) for k, v in sdk_signed(source, s[source], body, **kw)]

    # moto's queues take 1 MiB messages, like SQS at most; without a payload bucket a larger body
    # is refused before it is verified.
    big = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
    return [
        ("wrong secret", "github", lambda: sdk_signed("github", "wrong", gh), gh, "v2", "POST", 401, "invalid-signature"),
        ("tampered body", "github", signed("github", gh), gh.replace(b"opened", b"closed"), "v2", "POST", 401, "invalid-signature"),
        ("missing signature", "github", without("github", gh, "x-hub-signature-256"), gh, "v2", "POST", 401, "invalid-signature"),
        ("garbled signature", "github", replaced("github", gh, "x-hub-signature-256", "sha256=not-hex"), gh, "v2", "POST", 401, "invalid-signature"),
        ("duplicated signature (v2 joins)", "github", duplicated("github", gh, "x-hub-signature-256"), gh, "v2", "POST", 401, "invalid-signature"),
        ("missing delivery id", "github", without("github", gh, "x-github-delivery"), gh, "v2", "POST", 400, "missing-header"),
        ("stripe stale", "stripe", signed("stripe", sample("stripe"), offset=-301), sample("stripe"), "v2", "POST", 400, "timestamp-out-of-tolerance"),
        ("stripe future", "stripe", signed("stripe", sample("stripe"), offset=330), sample("stripe"), "v1", "POST", 400, "timestamp-out-of-tolerance"),
        ("stripe garbled", "stripe", replaced("stripe", sample("stripe"), "stripe-signature", "t=abc,v1=zz"), sample("stripe"), "v2", "POST", 401, "invalid-signature"),
        ("slack stale", "slack", signed("slack", sample("slack"), offset=-600), sample("slack"), "v2", "POST", 400, "timestamp-out-of-tolerance"),
        # Header-shape problems come before a signature matches: the caller is unauthenticated.
        ("slack missing timestamp", "slack", without("slack", sample("slack"), "x-slack-request-timestamp"), sample("slack"), "v2", "POST", 401, "invalid-signature"),
        ("slack duplicated timestamp", "slack", duplicated("slack", sample("slack"), "x-slack-request-timestamp"), sample("slack"), "v2", "POST", 401, "invalid-signature"),
        ("standard missing id", "standard", without("standard", sample("standard"), "webhook-id"), sample("standard"), "url", "POST", 401, "invalid-signature"),
        ("standard future", "standard", signed("standard", sample("standard"), offset=3600), sample("standard"), "url", "POST", 400, "timestamp-out-of-tolerance"),
        # HTTP APIs join a repeated header with commas: the id no longer matches what was signed.
        ("standard duplicated id", "standard", duplicated("standard", sample("standard"), "webhook-id"), sample("standard"), "v2", "POST", 401, "invalid-signature"),
        ("oversized body", "github", signed("github", big), big, "v2", "POST", 413, "payload-too-large"),
        # Octokit signs strings only, so this one is signed with Python's hmac over the raw bytes.
        ("non-UTF-8 body", "github", lambda: github_hmac_signed(s["github"], b"\xff\xfe{}"), b"\xff\xfe{}", "v2", "POST", 400, "invalid-json"),
        ("unparsable JSON", "stripe", signed("stripe", b"{not json"), b"{not json", "v2", "POST", 400, "invalid-json"),
        ("stripe event without id", "stripe", signed("stripe", b'{"type":"x.y"}'), b'{"type":"x.y"}', "v2", "POST", 400, "missing-field"),
        ("wrong content type", "github", signed("github", gh, content_type="text/plain"), gh, "v2", "POST", 415, "unsupported-media-type"),
        ("non-POST", "github", signed("github", gh), gh, "v2", "GET", 405, "method-not-allowed"),
        ("non-POST (REST)", "stripe", signed("stripe", sample("stripe")), sample("stripe"), "v1", "PUT", 405, "method-not-allowed"),
    ]


@pytest.mark.parametrize("case", _bad_cases(), ids=lambda c: c[0])
def test_bad_input_is_rejected_and_never_enqueued(case, start_function, new_queue, sqs):
    name, source, headers, body, fmt, method, status, ptype = case
    queue_url = new_queue()
    fn = run_source(start_function, source, queue_url)
    resp = fn.invoke(api_event(fmt, source, headers(), body, method=method))
    assert resp["statusCode"] == status, (name, resp)
    p = problem(resp)
    assert p["type"] == f"urn:inlet:problem:{ptype}"
    assert p["status"] == status
    assert queue_depth(sqs, queue_url) == 0
    if status == 405:
        assert header(resp, "allow") == "POST"
    # Never reveal the expected signature, nor echo a secret; unauthenticated callers learn only
    # that the request is not verified (no header names, no reasons).
    text = response_body(resp).decode()
    assert DEV_SECRETS[source] not in text
    if source == "github":
        assert "sha256=" not in text
    if status == 401:
        assert p["detail"] == "the request's signature could not be verified", p


def test_logs_are_json_and_never_hold_a_secret_or_body(start_function, new_queue):
    queue_url = new_queue()
    fn = run_source(start_function, "stripe", queue_url)
    body = sample("stripe")
    assert fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", DEV_SECRETS["stripe"], body), body))["statusCode"] == 202
    assert fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", "wrong", body), body))["statusCode"] == 401
    time.sleep(0.2)
    lines = [json.loads(line) for line in fn.logs().splitlines() if line.startswith("{")]
    enqueued = [line for line in lines if line.get("message") == "enqueued"]
    assert enqueued and enqueued[0]["delivery_id"] == "evt_3PqLmN2eZvKYlo2C0abcDEFg"
    assert enqueued[0]["event_type"] == "stripe.payment_intent.succeeded"
    assert any(line.get("problem") == "invalid-signature" for line in lines)
    text = fn.logs()
    assert DEV_SECRETS["stripe"] not in text
    assert "pi_3PqLmN2eZvKYlo2C0xyzABCD" not in text  # nothing from the body beyond ids


def test_rejections_are_logged_with_the_claimed_delivery_id(start_function, new_queue):
    fn = run_source(start_function, "github", new_queue())
    body = sample("github")
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", "wrong", body, delivery_id="claimed-123"), body))
    assert resp["statusCode"] == 401
    time.sleep(0.2)
    rejected = [json.loads(line) for line in fn.logs().splitlines() if '"request rejected"' in line]
    assert rejected and rejected[0]["delivery_id"] == "claimed-123"
    assert rejected[0]["level"] == "WARN" and rejected[0]["problem"] == "invalid-signature"

"""The second hostile round (issue 16), replayed against the compiled function (Lambda Runtime API
and moto) and `inlet serve`: each case here was reproduced on the earlier main and must now be
refused, or, for the ones that lost real events, must now queue them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BIN_DIR, DEV_SECRETS, bucket_objects, free_port, queue_depth, receive_all, wait_http
from signers import api_event, response_body, sample, sdk_signed

CLI = BIN_DIR / "inlet"
X_SECRET = "x-consumer-secret"


def x_signature(secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def serve(tmp_path):
    """`inlet serve` on a free port with the given extra environment; its base URL."""
    procs = []

    def start(extra_env: dict | None = None) -> str:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
        env.update(extra_env or {})
        log = open(tmp_path / f"serve-{port}.log", "wb")
        p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(tmp_path / "spool"),
                              "--idempotency-dir", str(tmp_path / "idempotency")],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append((p, log))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/healthz")
        return url

    yield start
    for p, log in procs:
        p.kill()
        p.wait()
        log.close()


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# --- 1. X's CRC is no signing oracle ------------------------------------------------------------

EVENT = json.dumps({"for_user_id": "2244994945", "tweet_create_events": [{"id_str": "1700000000000000000"}]})


def test_x_crc_signs_no_event_on_the_lambda_path(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start_function("x", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": X_SECRET})
    # The forgery: a CRC whose token is an event. The earlier main answered its signature.
    query = urllib.parse.urlencode({"crc_token": EVENT})
    resp = fn.invoke(api_event("v2", "x", [], b"", method="GET", query=query))
    assert resp["statusCode"] == 401, resp
    assert "response_token" not in resp["body"]
    # A token X would send is answered; one that is valid JSON (a number) signs nothing queueable.
    resp = fn.invoke(api_event("v2", "x", [], b"", method="GET", query="crc_token=1700000000"))
    assert resp["statusCode"] == 200, resp
    answer = json.loads(resp["body"])["response_token"]
    assert answer == x_signature(X_SECRET, b"1700000000")
    resp = fn.invoke(api_event("v2", "x", [("Content-Type", "application/json"),
                                          ("x-twitter-webhooks-signature", answer)], b"1700000000"))
    assert resp["statusCode"] == 400, resp
    assert json.loads(resp["body"])["type"] == "urn:inlet:problem:invalid-json"
    # A CRC X signed (over the raw query string) is answered; a forged signature is refused.
    query = "crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553&nonce=MTcwMDAwMDAwMA"
    signed = [("x-twitter-webhooks-signature", x_signature(X_SECRET, query.encode()))]
    resp = fn.invoke(api_event("v2", "x", signed, b"", method="GET", query=query))
    assert resp["statusCode"] == 200, resp
    forged = [("x-twitter-webhooks-signature", x_signature("guess", query.encode()))]
    resp = fn.invoke(api_event("v2", "x", forged, b"", method="GET", query=query))
    assert resp["statusCode"] == 401, resp
    assert queue_depth(sqs, queue_url) == 0


def test_x_crc_signs_no_event_on_the_local_server(serve, tmp_path):
    url = serve({"INLET_X_SECRET": X_SECRET})
    status, body = http("GET", f"{url}/webhooks/x?" + urllib.parse.urlencode({"crc_token": EVENT}))
    assert status == 401, body
    assert b"response_token" not in body
    status, body = http("GET", f"{url}/webhooks/x?crc_token=challenge_string")
    assert status == 200, body
    assert json.loads(body)["response_token"] == x_signature(X_SECRET, b"challenge_string")
    assert not (tmp_path / "spool").exists() or not list((tmp_path / "spool").iterdir())


# --- 2. Zendesk signs timestamp then body -------------------------------------------------------

def test_a_zendesk_delivery_signed_as_its_docs_say_is_queued(start_function, new_queue, sqs):
    """`base64(HMACSHA256(TIMESTAMP + BODY))`, computed as n8n's Zendesk trigger computes it."""
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
    queue_url = new_queue()
    fn = start_function("zendesk", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": secret})
    ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({"type": "zen:event-type:ticket.created", "account_id": 12514403,
                       "id": "2b24ef10-19d4-4740-93cf-8f98ec4776c0", "time": ts,
                       "zendesk_event_version": "2022-06-20", "subject": "zen:ticket:12",
                       "detail": {"id": "12"}, "event": {}}).encode()
    sig = base64.b64encode(hmac.new(secret.encode(), ts.encode() + body, hashlib.sha256).digest()).decode()
    headers = [("Content-Type", "application/json"), ("X-Zendesk-Webhook-Signature", sig),
               ("X-Zendesk-Webhook-Signature-Timestamp", ts),
               ("X-Zendesk-Webhook-Invocation-Id", "8350205582")]
    resp = fn.invoke(api_event("v2", "zendesk", headers, body))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    assert json.loads(message["Body"])["type"] == "zendesk.zen:event-type:ticket.created"
    # The order the earlier main verified (body then timestamp) is not Zendesk's.
    old = base64.b64encode(hmac.new(secret.encode(), body + ts.encode(), hashlib.sha256).digest()).decode()
    headers[1] = ("X-Zendesk-Webhook-Signature", old)
    assert fn.invoke(api_event("v2", "zendesk", headers, body))["statusCode"] == 401


# --- 3 and 4. Identical bytes, and batches, through the function, SQS and DynamoDB ------------

def test_a_sendgrid_batch_is_one_message_per_event(start_function, new_queue, new_table, sqs):
    """Each event its own envelope, all queued (SendMessageBatch) before the 202, each marked on its
    own key: the sender's retry queues none again. 100 events: moto takes one request at a time (the
    benchmark times 1,000 against a stub of SQS and DynamoDB)."""
    import time

    from oracles.comms import SENDGRID_PRIVATE, sendgrid_public, sendgrid_sign, sendgrid_verify

    queue_url, table = new_queue(), new_table()
    fn = start_function("sendgrid", {"QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": table,
                                     "WEBHOOK_SECRET": sendgrid_public(SENDGRID_PRIVATE)})
    kinds = ["processed", "delivered", "open", "click", "bounce"]
    events = [{"email": f"user{i}@example.com", "timestamp": 1700000000 + i, "event": kinds[i % 5],
               "sg_event_id": f"ev{i:05d}", "sg_message_id": f"msg{i // 5}.filter0001"} for i in range(100)]
    body = (json.dumps(events, separators=(",", ":")) + "\r\n").encode()
    now = int(time.time())
    headers = sendgrid_sign(SENDGRID_PRIVATE, body, now, "")
    assert sendgrid_verify(sendgrid_public(SENDGRID_PRIVATE), headers, body), "the SDK accepts it"
    started = time.monotonic()
    resp = fn.invoke(api_event("v2", "sendgrid", headers, body))
    took = time.monotonic() - started
    print(f"\n100-event SendGrid batch through moto: {took:.2f} s")
    assert resp["statusCode"] == 202, resp
    assert json.loads(resp["body"]) == {"events": 100, "queued": 100, "duplicates": 0, "parked": 0}
    messages = receive_all(sqs, queue_url)
    envelopes = {json.loads(m["Body"])["id"]: json.loads(m["Body"]) for m in messages}
    assert len(messages) == 100 and len(envelopes) == 100
    assert envelopes["ev00003"]["type"] == "sendgrid.click"
    assert envelopes["ev00003"]["data"] == events[3]
    assert {m["MessageAttributes"]["type"]["StringValue"] for m in messages} == {f"sendgrid.{k}" for k in kinds}
    resp = fn.invoke(api_event("v2", "sendgrid", headers, body))
    assert json.loads(resp["body"]) == {"events": 100, "queued": 0, "duplicates": 100, "parked": 0}
    assert queue_depth(sqs, queue_url) == 100


@pytest.mark.parametrize("source,body", [
    ("dropbox", b'{"list_folder":{"accounts":["dbid:AAH4f99T0taONIb"]},"delta":{"users":[12345678]}}'),
    ("graph", b'{"value":[{"subscriptionId":"7f105c7d","changeType":"updated","resource":"Users/1/Messages/2",'
              b'"clientState":"graph-client-state","tenantId":"bb8775a4"}]}'),
])
def test_identical_notifications_are_each_queued(source, body, start_function, new_queue, new_table, sqs):
    """Dropbox and Microsoft Graph send the same bytes for distinct changes: the earlier main
    answered the second `202 duplicate` and queued nothing for the idempotency window."""
    secret = {"dropbox": "dropbox-app-secret", "graph": "graph-client-state"}[source]
    queue_url, table = new_queue(), new_table()
    fn = start_function(source, {"QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": table, "WEBHOOK_SECRET": secret})
    headers = [("Content-Type", "application/json")]
    if source == "dropbox":
        headers.append(("X-Dropbox-Signature", hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()))
    for _ in range(2):
        resp = fn.invoke(api_event("v2", source, headers, body))
        assert resp["statusCode"] == 202, resp
        assert "duplicate" not in json.loads(resp["body"])
    ids = [json.loads(m["Body"])["id"] for m in receive_all(sqs, queue_url)]
    assert len(ids) == 2 and len(set(ids)) == 2, ids


# --- 14. An in-progress mark with no lease or expiry expires ------------------------------------

@pytest.mark.parametrize("item", [
    {"status": {"S": "in_progress"}},
    {"status": {"S": "in_progress"}, "expires_at": {"N": "99999999999"}},
    {"status": {"S": "in_progress"}, "lease_until_ms": {"N": "99999999999999"}},
])
def test_a_mark_without_a_lease_or_an_expiry_never_blocks_its_key(item, start_function, new_queue, new_table,
                                                                  sqs, aws):
    """Written by hand, or by an older version: the earlier main answered every delivery of the
    key `503 delivery-in-progress` for ever (a mark with no expiry is never deleted by TTL)."""
    import time

    import stripe

    secret = "whsec_inlet_dev_stripe_secret"
    queue_url, table = new_queue(), new_table()
    aws("dynamodb").put_item(TableName=table, Item={"pk": {"S": "stripe#evt_stuck"}, **item})
    fn = start_function("stripe", {"QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": table, "WEBHOOK_SECRET": secret})
    body = json.dumps({"id": "evt_stuck", "type": "invoice.paid", "created": 1700000000}).encode()
    sig = stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=int(time.time()))
    headers = [("Content-Type", "application/json"), ("Stripe-Signature", sig)]
    resp = fn.invoke(api_event("v2", "stripe", headers, body))
    assert resp["statusCode"] == 202, resp
    assert queue_depth(sqs, queue_url) == 1
    # It is a live mark now: the retry is a duplicate.
    resp = fn.invoke(api_event("v2", "stripe", headers, body))
    assert json.loads(resp["body"])["duplicate"] is True


# --- 11 and 12. Secrets Manager at start-up --------------------------------------------------------

def test_a_cold_start_without_secrets_manager_answers_503_until_it_is_back(aws, fault_proxy, start_function,
                                                                           new_queue, sqs):
    """The earlier main exited (API Gateway answers 502, no Retry-After, and the log blamed the
    ARN). Now the function starts, answers 503 + Retry-After, and verifies once the secret is read."""
    import time
    import uuid

    from faultproxy import Status, secretsmanager_internal_error
    from signers import sample, sdk_signed

    arn = aws("secretsmanager").create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}",
                                              SecretString="gh-secret")["ARN"]
    fault_proxy.add("secretsmanager", "GetSecretValue", Status(secretsmanager_internal_error()))
    queue_url = new_queue()
    fn = start_function("github", {"AWS_ENDPOINT_URL": fault_proxy.url, "QUEUE_URL": queue_url,
                                   "WEBHOOK_SECRET_ARN": arn})
    body = sample("github")
    event = api_event("v2", "github", sdk_signed("github", "gh-secret", body, delivery_id="d-1"), body)
    resp = fn.invoke(event)
    assert resp["statusCode"] == 503, resp
    assert resp["headers"]["retry-after"] == "30"
    assert json.loads(resp["body"])["type"] == "urn:inlet:problem:verification-unavailable"
    logs = fn.logs()
    assert "Secrets Manager could not be reached" in logs and "refusing to start" not in logs
    fault_proxy.clear()
    time.sleep(1.1)
    resp = fn.invoke(event)
    assert resp["statusCode"] == 202, resp
    assert len(receive_all(sqs, queue_url)) == 1


@pytest.mark.parametrize("value", ['{"WEBHOOK_SECRET": "gh-secret"}', '{"secrets": ["gh-secret"],}',
                                   '{"secrets": ["gh-secret"], "rotated": "2026-01-01"}'])
def test_a_secret_that_looks_like_json_must_be_the_documented_shape(value, aws, start_function, new_queue):
    """The earlier main took such a value as one verbatim secret, so every delivery got 401."""
    import uuid

    arn = aws("secretsmanager").create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]
    fn = start_function("github", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET_ARN": arn})
    assert fn.wait_exit() != 0
    logs = fn.logs()
    assert "WEBHOOK_SECRET_ARN is invalid" in logs and "looks like JSON" in logs, logs
    assert "gh-secret" not in logs


# --- 6. `inlet replay` sends only what its key and the function that parked it say ------------

def run_replay(moto_url: str, bucket: str, queue_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run([str(CLI), "replay", *args, "--bucket", bucket, "--queue-url", queue_url],
                          capture_output=True, text=True, env=env, timeout=120)


def replay_lines(out: subprocess.CompletedProcess) -> dict[str, str]:
    """Each object's line of a replay's report, by key (the last line is the summary)."""
    lines = out.stdout.strip().splitlines()[:-1]
    return {line.split()[1].removesuffix(":"): line for line in lines}


def park(start_function, new_queue, sqs, aws, bucket: str, source: str, headers, body: bytes,
         **queue) -> tuple[str, bytes]:
    """Parks one delivery through the real function (its queue is deleted before the delivery);
    the parked object's key and bytes."""
    queue_url = new_queue(**queue)
    fn = start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS[source], "PAYLOAD_BUCKET": bucket})
    fn.wait_started()
    before = set(bucket_objects(aws, bucket))
    sqs.delete_queue(QueueUrl=queue_url)
    resp = fn.invoke(api_event("v2", source, headers, body))
    assert resp["statusCode"] == 202 and json.loads(response_body(resp)).get("parked") is True, resp
    objects = bucket_objects(aws, bucket)
    [key] = [k for k in objects if k.startswith("undelivered/") and k not in before]
    return key, objects[key]


def test_replay_sends_only_envelopes_that_agree_with_their_key(start_function, new_queue, new_bucket, sqs, aws, moto_url):
    bucket = new_bucket()
    body = sample("stripe")  # ends with a newline, which the envelope's data leaves out
    key, parked = park(start_function, new_queue, sqs, aws, bucket, "stripe",
                       sdk_signed("stripe", DEV_SECRETS["stripe"], body), body)
    digest = hashlib.sha256(body).hexdigest()
    event_id = "evt_3PqLmN2eZvKYlo2C0abcDEFg"
    assert key == f"undelivered/stripe/{event_id}/{digest}.json"
    genuine = json.loads(parked)
    data = body.decode().strip()
    assert f'"data":{data}' in parked.decode(), "data is kept as sent"
    s3 = aws("s3")

    def forge(k: str, changes: dict | None = None, *, data: str = data, raw: bytes | None = None) -> str:
        """Puts an envelope at `k`: the genuine one with `changes`, its data text `data` as given."""
        if raw is None:
            fields = {name: value for name, value in genuine.items() if name != "data"}
            fields.update(changes or {})
            raw = (json.dumps(fields, separators=(",", ":"))[:-1] + ',"data":' + data + "}").encode()
        s3.put_object(Bucket=bucket, Key=k, Body=raw)
        return k

    # Each forged object, and the reason replay must give for it.
    forged = {
        # The case: a Stripe event under github's prefix (which GitHub's function may write).
        forge(f"undelivered/github/{event_id}/{digest}.json", {"type": "stripe.payout.paid"}): "its source is",
        forge(f"undelivered/stripe/evt_retyped/{digest}.json", {"id": "evt_retyped", "type": "github.push"}): "its type",
        forge(f"undelivered/stripe/evt_changed/{digest}.json", {"id": "evt_changed", "type": "stripe.payout.paid"},
              data=data.replace("payment_intent.succeeded", "payout.paid")): "its data does not hash",
        forge(f"undelivered/stripe/evt_digest/{'0' * 64}.json", {"id": "evt_digest"}): "inletbodysha256",
        forge(f"undelivered/stripe/evt_moved/{digest}.json"): "its id belongs under",
        forge(f"undelivered/stripe/{digest}.json"): "its key is not",
        forge(f"undelivered/stripe/evt_upper/{digest.upper()}.json",
              {"id": "evt_upper", "inletbodysha256": digest.upper()}): "its key is not",
        forge(f"undelivered/stripe/../github/{event_id}/{digest}.json"): "its key is not",
        forge(f"undelivered/stripe/evt_bytes/{digest}.json", raw=b"\xff" + parked): "not UTF-8",
        forge(f"undelivered/stripe/evt_extra/{digest}.json", {"id": "evt_extra", "inletforged": 1}): "unknown field",
        forge(f"undelivered/stripe/sha256-{hashlib.sha256(b'').hexdigest()}/{digest}.json", {"id": ""}): "its id must be",
        forge(f"undelivered/stripe/evt_big/{digest}.json", raw=b" " * (1024 * 1024 + 1)): "more than the",
    }
    assert len(bucket_objects(aws, bucket)) == len(forged) + 1, "every key is kept as written"

    queue_url = new_queue()
    out = run_replay(moto_url, bucket, queue_url)
    assert out.returncode == 1, out
    assert out.stdout.strip().endswith(f"1 sent, {len(forged)} refused, 0 failed"), out.stdout
    lines = replay_lines(out)
    assert lines[key].startswith("sent "), lines
    for k, reason in forged.items():
        assert lines[k].startswith("refused ") and reason in lines[k], (k, lines[k])
    [message] = receive_all(sqs, queue_url)
    assert message["Body"] == parked.decode()
    assert message["MessageAttributes"]["type"]["StringValue"] == "stripe.payment_intent.succeeded"
    assert sorted(bucket_objects(aws, bucket)) == sorted(forged), "refused objects are kept, the sent one deleted"


def test_replay_hashes_claim_checked_bodies_and_holds_back_form_data(start_function, new_queue, new_bucket, sqs, aws, moto_url):
    bucket = new_bucket()
    # An event over the queue's size limit: its body is claim-checked, then its envelope parked.
    big = json.dumps({"id": "evt_big", "object": "event", "type": "invoice.paid", "pad": "x" * 2000}).encode()
    ref_key, ref_parked = park(start_function, new_queue, sqs, aws, bucket, "stripe",
                               sdk_signed("stripe", DEV_SECRETS["stripe"], big), big, max_message_size=1024)
    digest = hashlib.sha256(big).hexdigest()
    ref = json.loads(ref_parked)
    assert ref["dataref"] == f"s3://{bucket}/payloads/stripe/evt_big/{digest}"
    # A Slack slash command: a form, whose fields become the envelope's data.
    form = b"command=%2Fdeploy&text=prod&trigger_id=t.123&channel_id=C1"
    form_key, form_parked = park(start_function, new_queue, sqs, aws, bucket, "slack",
                                 sdk_signed("slack", DEV_SECRETS["slack"], form,
                                            content_type="application/x-www-form-urlencoded"), form)
    assert json.loads(form_parked)["data"]["command"] == "/deploy"
    assert form_key == f"undelivered/slack/t.123/{hashlib.sha256(form).hexdigest()}.json"

    s3 = aws("s3")

    def forge(event_id: str, dataref: str) -> str:
        k = f"undelivered/stripe/{event_id}/{digest}.json"
        s3.put_object(Bucket=bucket, Key=k, Body=json.dumps({**ref, "id": event_id, "dataref": dataref}).encode())
        return k

    # A changed body where the function would have stored it, and a dataref to another's body.
    tampered_body = f"payloads/stripe/evt_tampered/{digest}"
    s3.put_object(Bucket=bucket, Key=tampered_body, Body=big.replace(b"invoice.paid", b"payout.paid"))
    forged = {
        forge("evt_tampered", f"s3://{bucket}/{tampered_body}"): "its claim-checked body does not hash",
        forge("evt_elsewhere", ref["dataref"]): "its dataref is",
    }
    # A body that is gone (expired, say) is no sign of forgery: that envelope failed, and is kept.
    gone = forge("evt_gone", f"s3://{bucket}/payloads/stripe/evt_gone/{digest}")

    queue_url = new_queue()
    out = run_replay(moto_url, bucket, queue_url)
    assert out.returncode == 1, out
    assert out.stdout.strip().endswith("1 sent, 3 refused, 1 failed"), out.stdout
    lines = replay_lines(out)
    assert lines[ref_key].startswith("sent "), lines
    assert lines[gone].startswith("failed ") and "cannot read its claim-checked body" in lines[gone], lines
    assert lines[form_key].startswith("refused ") and "--unchecked-data" in lines[form_key], lines
    for k, reason in forged.items():
        assert lines[k].startswith("refused ") and reason in lines[k], (k, lines[k])
    [message] = receive_all(sqs, queue_url)
    assert message["Body"] == ref_parked.decode()

    # Once an operator has looked at it, the form is sent on request; nothing else changes.
    out = run_replay(moto_url, bucket, queue_url, "slack", "--unchecked-data")
    assert out.returncode == 0, out
    assert out.stdout.strip().endswith("1 sent (1 with data unchecked), 0 refused, 0 failed"), out.stdout
    assert replay_lines(out)[form_key].endswith("(data unchecked)")
    [message] = receive_all(sqs, queue_url)
    assert message["Body"] == form_parked.decode()
    assert message["MessageAttributes"]["type"]["StringValue"] == "slack.slash_command"
    assert sorted(k for k in bucket_objects(aws, bucket) if k.startswith("undelivered/")) == sorted([*forged, gone])

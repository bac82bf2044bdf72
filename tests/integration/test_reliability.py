"""Nothing lost, nothing forged, nothing twice: the compiled functions against moto's SQS,
DynamoDB, S3 and Secrets Manager. Each defect the hostile test of the earlier main found has a
regression test here (named after it), followed by idempotency and the claim check."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import subprocess
import threading
import time
import uuid

import pytest
import standardwebhooks

from conftest import DEV_SECRETS, ROOT, bucket_objects, queue_depth, receive_all
from faultproxy import Delay
from signers import api_event, response_body, sample, sdk_signed

SECRET = DEV_SECRETS
CLI = ROOT / "target" / "debug" / "inlet"


def run_fn(start_function, source, queue_url, **env):
    return start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": SECRET[source], **env})


def body_of(resp) -> dict:
    return json.loads(response_body(resp))


def envelopes(sqs, queue_url) -> list[dict]:
    return [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]


def standard_headers(body: bytes, msg_id: str, prefix: str = "webhook", content_type: str = "application/json", ts: int | None = None):
    ts = int(time.time()) if ts is None else ts
    when = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    sig = standardwebhooks.Webhook(SECRET["standard"]).sign(msg_id, when, body.decode())
    return [("Content-Type", content_type), (f"{prefix}-id", msg_id), (f"{prefix}-timestamp", str(ts)), (f"{prefix}-signature", sig)]


def raw_standard_headers(body: bytes, msg_id: str, content_type: str):
    """Standard Webhooks headers for any bytes (the SDK signs text only), computed as the spec says."""
    import hmac

    ts = int(time.time())
    key = base64.b64decode(SECRET["standard"].removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    return [("Content-Type", content_type), ("webhook-id", msg_id), ("webhook-timestamp", str(ts)),
            ("webhook-signature", "v1," + base64.b64encode(mac).decode())]


# ------------------------------------------------------------------ defect 1: forged ids

def test_defect1_svix_signed_delivery_keeps_the_signed_id_whatever_webhook_id_says(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "standard", queue_url)
    body = sample("standard")
    signed = standard_headers(body, "msg_signed_by_svix", prefix="svix")
    ids = []
    for forged in ["forged-1", "forged-2", "forged-3"]:
        resp = fn.invoke(api_event("v2", "standard", signed + [("webhook-id", forged)], body))
        assert resp["statusCode"] == 202, resp
        ids.append(body_of(resp)["id"])
    assert ids == ["msg_signed_by_svix"] * 3
    assert {e["id"] for e in envelopes(sqs, queue_url)} == {"msg_signed_by_svix"}


def test_defect1_with_idempotency_a_replayed_svix_delivery_is_enqueued_once(start_function, new_queue, new_table, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "standard", queue_url, IDEMPOTENCY_TABLE=new_table())
    body = sample("standard")
    signed = standard_headers(body, "msg_replayed", prefix="svix")
    replies = [body_of(fn.invoke(api_event("v2", "standard", signed + [("webhook-id", f"forged-{i}")], body))) for i in range(3)]
    assert [r.get("duplicate", False) for r in replies] == [False, True, True]
    assert len({r["messageId"] for r in replies}) == 1
    assert len(receive_all(sqs, queue_url)) == 1


# ------------------------------------------------------------------ defect 2: permanent failures

def test_defect2_a_permanently_refused_event_is_parked_in_the_bucket(start_function, new_queue, new_bucket, new_table, sqs, aws, moto_url):
    queue_url = new_queue()
    bucket = new_bucket()
    fn = run_fn(start_function, "stripe", queue_url, PAYLOAD_BUCKET=bucket, IDEMPOTENCY_TABLE=new_table())
    fn.wait_started()
    sqs.delete_queue(QueueUrl=queue_url)
    body = sample("stripe")
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
    assert resp["statusCode"] == 202, resp
    reply = body_of(resp)
    assert reply == {"id": "evt_3PqLmN2eZvKYlo2C0abcDEFg", "type": "stripe.payment_intent.succeeded", "parked": True}
    objects = bucket_objects(aws, bucket)
    [(key, parked)] = objects.items()
    assert key.startswith("undelivered/stripe/evt_3PqLmN2eZvKYlo2C0abcDEFg/") and key.endswith(".json")
    envelope = json.loads(parked)
    assert envelope["id"] == "evt_3PqLmN2eZvKYlo2C0abcDEFg"
    assert envelope["data"] == json.loads(body)
    # The sender's retry is answered as the duplicate it is.
    again = body_of(fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body)))
    assert again["duplicate"] is True and again["parked"] is True
    assert len(bucket_objects(aws, bucket)) == 1
    time.sleep(0.2)
    parked_lines = [json.loads(line) for line in fn.logs().splitlines() if '"outcome":"parked"' in line]
    assert parked_lines and parked_lines[0]["level"] == "ERROR" and parked_lines[0]["alert"] == "queue-rejected"
    # Once there is a queue again, `inlet replay` puts the parked envelope on it, then deletes it.
    new_url = new_queue()
    out = subprocess.run([str(CLI), "replay", "--bucket", bucket, "--queue-url", new_url], capture_output=True, text=True,
                         env={**os.environ, "AWS_ENDPOINT_URL": moto_url, "AWS_REGION": "us-east-1",
                              "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}, timeout=60)
    assert out.returncode == 0, out
    assert out.stdout.strip().endswith("1 sent, 0 refused, 0 failed"), out.stdout
    [message] = receive_all(sqs, new_url)
    assert message["Body"] == parked.decode()
    assert message["MessageAttributes"]["type"]["StringValue"] == "stripe.payment_intent.succeeded"
    assert bucket_objects(aws, bucket) == {}


# ------------------------------------------------------------------ defect 3: the envelope's size

def test_defect3_a_body_over_the_queue_limit_is_claim_checked(start_function, new_queue, new_bucket, sqs, aws):
    queue_url = new_queue()
    bucket = new_bucket()
    fn = run_fn(start_function, "standard", queue_url, PAYLOAD_BUCKET=bucket)
    body = json.dumps({"type": "report.ready", "rows": ["r" * 100] * 20_000}).encode()  # ~2 MB
    assert len(body) > 1024 * 1024
    resp = fn.invoke(api_event("v2", "standard", standard_headers(body, "msg_big"), body))
    assert resp["statusCode"] == 202, resp
    [envelope] = envelopes(sqs, queue_url)
    assert "data" not in envelope and "data_base64" not in envelope
    assert envelope["datacontenttype"] == "application/json"
    digest = hashlib.sha256(body).hexdigest()
    assert envelope["inletbodysha256"] == digest
    key = f"payloads/standard/msg_big/{digest}"
    assert envelope["dataref"] == f"s3://{bucket}/{key}"
    stored = aws("s3").get_object(Bucket=bucket, Key=key)
    assert stored["Body"].read() == body
    assert stored["ContentType"] == "application/json"


@pytest.mark.parametrize("kind", ["binary", "slack-form"])
def test_defect3_envelopes_that_grow_past_the_limit_are_claim_checked_too(kind, start_function, new_queue, new_bucket, sqs, aws):
    """Bodies under the queue limit whose envelope is over it: base64 grows binary bodies by a
    third, JSON escapes grow a form's control characters sixfold."""
    queue_url = new_queue()
    bucket = new_bucket()
    if kind == "binary":
        source, body = "standard", bytes(range(256)) * 3500  # 896,000 bytes, 1.19 MB as base64
        headers = raw_standard_headers(body, "msg_bin", "application/octet-stream")
    else:
        source, body = "slack", b"command=%2Fx&trigger_id=t.1&text=" + b"%01" * 200_000  # 600 KB, 1.2 MB as JSON
        headers = sdk_signed("slack", SECRET["slack"], body, content_type="application/x-www-form-urlencoded")
    assert len(body) < 1024 * 1024
    fn = run_fn(start_function, source, queue_url, PAYLOAD_BUCKET=bucket)
    resp = fn.invoke(api_event("v2", source, headers, body))
    assert resp["statusCode"] == 202, resp
    [envelope] = envelopes(sqs, queue_url)
    digest = hashlib.sha256(body).hexdigest()
    assert envelope["inletbodysha256"] == digest
    key = envelope["dataref"].removeprefix(f"s3://{bucket}/")
    assert key.endswith(f"/{digest}") and key.startswith(f"payloads/{source}/")
    if kind == "binary":
        assert aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == body
    else:
        # moto's server parses a PUT with a form content type as a form and stores an empty body
        # (real S3 stores the bytes), so only the object's presence can be checked here.
        assert aws("s3").head_object(Bucket=bucket, Key=key)["ContentType"] == "application/x-www-form-urlencoded"


def test_defect3_without_a_bucket_an_event_that_cannot_fit_is_refused_not_lost(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "standard", queue_url)
    body = bytes(range(256)) * 3500
    resp = fn.invoke(api_event("v2", "standard", raw_standard_headers(body, "msg_bin", "application/octet-stream"), body))
    assert resp["statusCode"] == 413
    problem = body_of(resp)
    assert problem["type"] == "urn:inlet:problem:payload-too-large"
    assert "1048576" in problem["detail"], problem  # the detail names the queue's limit
    assert queue_depth(sqs, queue_url) == 0


def test_defect3_bodies_up_to_lambdas_payload_limit_are_accepted_with_a_bucket(start_function, new_queue, new_bucket, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "github", queue_url, PAYLOAD_BUCKET=new_bucket())
    body = json.dumps({"zen": "z" * (4 * 1024 * 1024)}).encode()  # 4 MB: its event is well under 6 MB
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", SECRET["github"], body, event="ping"), body))
    assert resp["statusCode"] == 202, resp
    assert len(receive_all(sqs, queue_url)) == 1
    over = b"x" * (6 * 1024 * 1024 + 1)
    resp = fn.invoke(api_event("v2", "github", [("Content-Type", "application/json")], over))
    assert resp["statusCode"] == 413


# ------------------------------------------------------------------ defect 5: panics

@pytest.mark.parametrize("source", ["stripe", "slack"])
def test_defect5_times_after_year_9999_do_not_panic(source, start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, source, queue_url)
    far = 253_402_300_800  # 10000-01-01T00:00:00Z
    if source == "stripe":
        body = json.dumps({"id": "evt_far", "object": "event", "type": "x.y", "created": far}).encode()
    else:
        body = json.dumps({"type": "event_callback", "event_id": "Ev_far", "event_time": far, "event": {"type": "message"}}).encode()
    before = time.strftime("%Y-%m-%d", time.gmtime())
    resp = fn.invoke(api_event("v2", source, sdk_signed(source, SECRET[source], body), body))
    assert resp["statusCode"] == 202, resp
    [envelope] = envelopes(sqs, queue_url)
    assert envelope["time"][:10] == before, "falls back to when it was received"


def test_defect5_invalid_base64_is_a_400(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "github", queue_url)
    body = sample("github")
    event = api_event("v2", "github", sdk_signed("github", SECRET["github"], body), body, base64_body=True)
    event["body"] = "%%% not base64 %%%"
    resp = fn.invoke(event)
    assert resp["statusCode"] == 400
    assert body_of(resp)["type"] == "urn:inlet:problem:invalid-event"
    assert queue_depth(sqs, queue_url) == 0


# ------------------------------------------------------------------ defect 6: the deadline

def test_defect6_a_slow_secret_refresh_and_a_slow_queue_still_answer_before_the_deadline(start_function, new_queue, aws, fault_proxy, sqs):
    sm = aws("secretsmanager")
    arn = sm.create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}", SecretString="before-rotation")["ARN"]
    queue_url = new_queue()
    # A 2 s function: the refresh (1.2 s) and the send (1.2 s) each succeed, but not both in time.
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn, "SECRET_REFRESH_SECONDS": "1",
                                   "AWS_ENDPOINT_URL": fault_proxy.url}, timeout=2.0)
    fn.wait_started()
    sm.put_secret_value(SecretId=arn, SecretString="after-rotation")
    time.sleep(1.1)
    fault_proxy.add("secretsmanager", "GetSecretValue", Delay(1.2))
    fault_proxy.add("sqs", "SendMessage", Delay(1.2))
    body = sample("github")
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", "after-rotation", body), body))
    assert fn.last_duration < 2.0, f"answered after {fn.last_duration:.2f} s, past the 2 s deadline"
    assert resp["statusCode"] == 503, resp
    assert body_of(resp)["type"] == "urn:inlet:problem:queue-unavailable"
    # Whatever was sent late is not counted as accepted; the retry is.
    fault_proxy.clear()
    resp = fn.invoke(api_event("v2", "github", sdk_signed("github", "after-rotation", body), body))
    assert resp["statusCode"] == 202, resp
    assert body_of(resp)["messageId"] in {m["MessageId"] for m in receive_all(sqs, queue_url)}


# ------------------------------------------------------------------ defect 7: content SQS refuses

def test_defect7_any_json_value_survives_sqs_unchanged(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "standard", queue_url)
    body = '{"type":"order\\u0000created","note":"a\uffffb\ufffec","nul":"x\\u0000y"}'.encode()
    resp = fn.invoke(api_event("v2", "standard", raw_standard_headers(body, "msg_chars", "application/json"), body))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    text = message["Body"]
    assert "\uffff" not in text and "\ufffe" not in text and "\x00" not in text
    envelope = json.loads(text)
    assert envelope["data"] == json.loads(body), "the same value, escaped"
    assert envelope["type"] == "standard.order_created"
    assert message["MessageAttributes"]["type"]["StringValue"] == "standard.order_created"


# ------------------------------------------------------------------ defect 8: what logs and problems say

def test_defect8_problems_and_logs_never_quote_the_body(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "stripe", queue_url, RUST_LOG="trace")
    card, email = "4242424242424242", "ada@example.com"
    # A field Inlet reads, of the wrong type: once its value was quoted by the parser's message.
    typed = json.dumps({"id": "evt_typed", "object": "event", "type": "x.y", "created": f"{card} {email}"}).encode()
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], typed), typed))
    assert resp["statusCode"] == 202, resp  # an optional field of the wrong type is not a reason to lose the event
    # A body that is not JSON: the problem says where, not what.
    broken = f'{{"id":"evt_1","type":"x.y","card":"{card}","email":"{email}" trailing}}'.encode()
    headers = sdk_signed("stripe", SECRET["stripe"], broken)
    resp = fn.invoke(api_event("v2", "stripe", headers, broken))
    assert resp["statusCode"] == 400
    problem = body_of(resp)
    assert problem["type"] == "urn:inlet:problem:invalid-json"
    assert card not in resp["body"] and email not in resp["body"]
    assert "line 1, column" in problem["detail"], problem
    time.sleep(0.3)
    logs = fn.logs()
    signature = dict(headers)["Stripe-Signature"].split("v1=")[1]
    for private in [card, email, signature, SECRET["stripe"]]:
        assert private not in logs, f"{private!r} is in the trace-level logs"
    assert '"level":"TRACE"' in logs or '"level":"DEBUG"' in logs, "trace logging was on"
    assert [e["id"] for e in envelopes(sqs, queue_url)] == ["evt_typed"]


def test_defect8_the_accepted_line_carries_bounded_ids(start_function, new_queue):
    fn = run_fn(start_function, "standard", new_queue())
    long_id = "m" * 1000
    body = json.dumps({"type": "t" * 200}).encode()
    resp = fn.invoke(api_event("v2", "standard", standard_headers(body, long_id), body))
    assert resp["statusCode"] == 202, resp
    time.sleep(0.2)
    [line] = [json.loads(x) for x in fn.logs().splitlines() if '"message":"enqueued"' in x]
    assert line["delivery_id"] == "m" * 128
    assert len(line["event_type"]) == 128


# ------------------------------------------------------------------ defect 9: the smaller ones

def test_defect9_rest_api_repeated_headers_are_not_collapsed(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "github", queue_url)
    body = sample("github")
    headers = sdk_signed("github", SECRET["github"], body)
    event = api_event("v1", "github", headers + [("X-GitHub-Event", "push")], body)
    resp = fn.invoke(event)
    assert resp["statusCode"] == 400, resp
    assert body_of(resp)["type"] == "urn:inlet:problem:duplicate-header"
    forged = api_event("v1", "github", [("X-Hub-Signature-256", "sha256=" + "0" * 64)] + headers, body)
    assert fn.invoke(forged)["statusCode"] == 401
    assert queue_depth(sqs, queue_url) == 0


def test_defect9_json_nested_deeper_than_consumers_parse_is_refused(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = run_fn(start_function, "stripe", queue_url)
    body = ('{"id":"evt_deep","type":"x.y","d":' + "[" * 101 + "]" * 101 + "}").encode()
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
    assert resp["statusCode"] == 400
    assert body_of(resp)["type"] == "urn:inlet:problem:json-too-deep"
    ok = ('{"id":"evt_deep","type":"x.y","d":' + "[" * 99 + "]" * 99 + "}").encode()
    assert fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], ok), ok))["statusCode"] == 202
    assert queue_depth(sqs, queue_url) == 1


# ------------------------------------------------------------------ idempotency on DynamoDB

def test_a_retried_delivery_is_enqueued_once_and_answered_with_the_original_message_id(start_function, new_queue, new_table, sqs, aws):
    queue_url, table = new_queue(), new_table()
    fn = run_fn(start_function, "stripe", queue_url, IDEMPOTENCY_TABLE=table, IDEMPOTENCY_TTL_SECONDS="3600")
    body = sample("stripe")
    replies = []
    for _ in range(3):  # Stripe signs each retry anew
        resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
        assert resp["statusCode"] == 202, resp
        replies.append(body_of(resp))
    assert len({r["messageId"] for r in replies}) == 1
    assert [r.get("duplicate", False) for r in replies] == [False, True, True]
    [message] = receive_all(sqs, queue_url)
    assert message["MessageId"] == replies[0]["messageId"]
    item = aws("dynamodb").get_item(TableName=table, Key={"pk": {"S": "stripe#evt_3PqLmN2eZvKYlo2C0abcDEFg"}})["Item"]
    assert item["status"]["S"] == "completed"
    assert item["message_id"]["S"] == message["MessageId"]
    assert abs(int(item["expires_at"]["N"]) - (time.time() + 3600)) < 60


def test_concurrent_duplicates_on_two_instances_are_enqueued_once(start_function, new_queue, new_table, sqs):
    queue_url, table = new_queue(), new_table()
    fns = [run_fn(start_function, "standard", queue_url, IDEMPOTENCY_TABLE=table) for _ in range(2)]
    for fn in fns:
        fn.wait_started()
    body = sample("standard")
    for round_ in range(5):
        headers = standard_headers(body, f"msg_concurrent_{round_}")
        results: list[dict] = [None, None]  # type: ignore[list-item]
        barrier = threading.Barrier(2)

        def send(i):
            barrier.wait()
            results[i] = fns[i].invoke(api_event("v2", "standard", headers, body))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r["statusCode"] for r in results] == [202, 202], results
        assert body_of(results[0])["messageId"] == body_of(results[1])["messageId"]
    ids = [e["id"] for e in envelopes(sqs, queue_url)]
    assert sorted(ids) == sorted(f"msg_concurrent_{i}" for i in range(5))


def test_a_crash_between_marking_and_sending_never_loses_the_event(start_function, new_queue, new_table, sqs, aws):
    queue_url, table = new_queue(), new_table()
    fn = run_fn(start_function, "stripe", queue_url, IDEMPOTENCY_TABLE=table)
    ddb = aws("dynamodb")
    now_ms = int(time.time() * 1000)
    body = sample("stripe")
    pk = "stripe#evt_3PqLmN2eZvKYlo2C0abcDEFg"

    def mark(lease_until_ms):
        ddb.put_item(TableName=table, Item={"pk": {"S": pk}, "status": {"S": "in_progress"}, "lease_token": {"S": "crashed"},
                                            "lease_until_ms": {"N": str(lease_until_ms)}, "expires_at": {"N": str(now_ms // 1000 + 3600)}})

    # A live lease: another instance is sending it right now; this one asks the sender to retry.
    mark(now_ms + 60_000)
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
    assert resp["statusCode"] == 503
    assert body_of(resp)["type"] == "urn:inlet:problem:delivery-in-progress"
    assert fn.last_duration < fn.timeout
    # Its holder crashed: once the lease is over, the retry goes through.
    mark(now_ms - 1)
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
    assert resp["statusCode"] == 202, resp
    assert len(receive_all(sqs, queue_url)) == 1


def test_an_idempotency_window_past_its_end_enqueues_again(start_function, new_queue, new_table, sqs, aws):
    queue_url, table = new_queue(), new_table()
    fn = run_fn(start_function, "stripe", queue_url, IDEMPOTENCY_TABLE=table)
    body = sample("stripe")
    assert fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))["statusCode"] == 202
    # DynamoDB's TTL deletes lazily: an item past expires_at must count as gone.
    aws("dynamodb").update_item(TableName=table, Key={"pk": {"S": "stripe#evt_3PqLmN2eZvKYlo2C0abcDEFg"}},
                                UpdateExpression="SET expires_at = :past", ExpressionAttributeValues={":past": {"N": "1"}})
    resp = fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", SECRET["stripe"], body), body))
    assert resp["statusCode"] == 202 and "duplicate" not in body_of(resp)
    assert len(receive_all(sqs, queue_url)) == 2

"""The fault-injecting proxy's own tests, against a real moto server.

Clients under test talk to the proxy (`fault_proxy.url`); what really happened is checked at
moto directly (the `aws` fixture), so "the client saw an error" and "the message was stored"
are observed independently. The last test covers runtime_api.py's per-invocation deadline.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
import time
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import queue_depth, receive_all
from faultproxy import (
    AfterStore,
    Delay,
    Request,
    Reset,
    Status,
    identify,
    s3_internal_error,
    sqs_access_denied,
    sqs_internal_error,
    sqs_invalid_message_contents,
    sqs_message_too_long,
    sqs_queue_does_not_exist,
    sqs_throttled,
)
from runtime_api import Function

# What a client sees when the connection breaks under it (reset, closed, refused).
CONNECTION_ERRORS = (botocore.exceptions.HTTPClientError, botocore.exceptions.ConnectionError)


def via(proxy, service: str, attempts: int = 1, **config):
    """A boto3 client that talks to the proxy; no retries unless asked."""
    return boto3.client(
        service,
        endpoint_url=proxy.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=botocore.config.Config(retries={"mode": "standard", "total_max_attempts": attempts}, **config),
    )


def ops(proxy, service: str = "sqs", operation: str = "SendMessage"):
    return [(r.fault, r.upstream_status, r.status) for r in proxy.calls(service, operation)]


def test_forwards_faithfully_over_one_kept_alive_connection(fault_proxy, aws):
    sqs = via(fault_proxy, "sqs")
    queue_url = sqs.create_queue(QueueName=f"inlet-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="hello through the proxy")
    got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in got] == ["hello through the proxy"]
    assert got[0]["MessageId"] == sent["MessageId"]
    assert sent["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]  # moto's headers come through
    assert [(r.service, r.operation, r.fault, r.upstream_status) for r in fault_proxy.requests] == [
        ("sqs", "CreateQueue", None, 200),
        ("sqs", "SendMessage", None, 200),
        ("sqs", "ReceiveMessage", None, 200),
    ]
    assert fault_proxy.connections_accepted == 1  # keep-alive: boto3 reused its connection
    # The queue exists at moto itself, not just in the proxy's imagination.
    assert aws("sqs").get_queue_url(QueueName=queue_url.rsplit("/", 1)[1])["QueueUrl"]


def test_status_answers_instead_of_moto_once(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", Status(sqs_internal_error()), times=1)
    client = via(fault_proxy, "sqs")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.send_message(QueueUrl=queue_url, MessageBody="first")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert err.value.response["Error"]["Code"] == "InternalFailure"
    assert queue_depth(sqs, queue_url) == 0  # moto never saw it
    client.send_message(QueueUrl=queue_url, MessageBody="second")  # the rule is spent
    assert [m["Body"] for m in receive_all(sqs, queue_url)] == ["second"]
    assert ops(fault_proxy) == [("Status(500)", None, 500), (None, 200, 200)]


def test_rules_expire_after_times_and_can_be_cleared(fault_proxy, new_queue):
    queue_url = new_queue()
    client = via(fault_proxy, "sqs")
    fault_proxy.add("sqs", "*", Status(sqs_internal_error()), times=2)
    statuses = []
    for _ in range(3):
        try:
            client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])
            statuses.append(200)
        except botocore.exceptions.ClientError as e:
            statuses.append(e.response["ResponseMetadata"]["HTTPStatusCode"])
    assert statuses == [500, 500, 200]
    fault_proxy.add("sqs", "GetQueueAttributes", Status(sqs_internal_error()))  # every time
    for _ in range(2):
        with pytest.raises(botocore.exceptions.ClientError):
            client.get_queue_attributes(QueueUrl=queue_url)
    client.send_message(QueueUrl=queue_url, MessageBody="other operations pass")
    fault_proxy.clear()
    client.get_queue_attributes(QueueUrl=queue_url)


@pytest.mark.parametrize(
    "helper, status, code, modeled",
    [
        (sqs_throttled, 403, "RequestThrottled", None),
        (sqs_queue_does_not_exist, 400, "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"),
        (sqs_access_denied, 403, "AccessDenied", None),
        (sqs_message_too_long, 400, "InvalidParameterValue", None),
        (sqs_invalid_message_contents, 400, "InvalidMessageContents", "InvalidMessageContents"),
    ],
)
def test_sqs_error_helpers_parse_like_real_sqs_errors(fault_proxy, new_queue, helper, status, code, modeled):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", Status(helper()), times=1)
    client = via(fault_proxy, "sqs")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client.send_message(QueueUrl=queue_url, MessageBody="x")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert err.value.response["Error"]["Code"] == code  # taken from x-amzn-query-error, as SDKs do
    if modeled:
        assert isinstance(err.value, getattr(client.exceptions, modeled))


def test_message_too_long_matches_what_moto_itself_answers(fault_proxy, sqs):
    queue_url = sqs.create_queue(QueueName=f"inlet-{uuid.uuid4().hex[:12]}", Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]
    client = via(fault_proxy, "sqs")
    with pytest.raises(botocore.exceptions.ClientError) as real:
        client.send_message(QueueUrl=queue_url, MessageBody="x" * 2000)  # forwarded: moto's own check
    fault_proxy.add("sqs", "SendMessage", Status(sqs_message_too_long(1024)), times=1)
    with pytest.raises(botocore.exceptions.ClientError) as fake:
        client.send_message(QueueUrl=queue_url, MessageBody="short")
    for key in ("Code", "Message"):
        assert fake.value.response["Error"][key] == real.value.response["Error"][key]
    assert ops(fault_proxy) == [(None, 400, 400), ("Status(400)", None, 400)]


def test_throttled_is_retried_by_an_sdk_and_access_denied_is_not(fault_proxy, new_queue, sqs):
    # botocore's standard retry mode uses the same throttling-code list as the Rust SDK.
    queue_url = new_queue()
    client = via(fault_proxy, "sqs", attempts=2)
    fault_proxy.add("sqs", "SendMessage", Status(sqs_throttled()), times=1)
    client.send_message(QueueUrl=queue_url, MessageBody="after one throttle")
    assert ops(fault_proxy) == [("Status(403)", None, 403), (None, 200, 200)]
    fault_proxy.clear_log()
    fault_proxy.add("sqs", "SendMessage", Status(sqs_access_denied()), times=1)
    with pytest.raises(botocore.exceptions.ClientError):
        client.send_message(QueueUrl=queue_url, MessageBody="denied")
    assert ops(fault_proxy) == [("Status(403)", None, 403)]
    assert [m["Body"] for m in receive_all(sqs, queue_url)] == ["after one throttle"]


def test_reset_drops_the_request_before_moto(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", Reset(), times=1)
    with pytest.raises(CONNECTION_ERRORS):
        via(fault_proxy, "sqs").send_message(QueueUrl=queue_url, MessageBody="lost")
    assert queue_depth(sqs, queue_url) == 0
    assert ops(fault_proxy) == [("Reset()", None, None)]


def test_reset_is_a_tcp_rst_not_a_clean_close(fault_proxy):
    fault_proxy.add("*", "*", Reset(), times=1)
    with socket.create_connection(("127.0.0.1", fault_proxy.port), timeout=5) as raw:
        raw.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        with pytest.raises(ConnectionResetError):  # a FIN would read as b"" instead
            raw.recv(1024)


def test_after_store_reset_stores_but_the_client_sees_a_broken_connection(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", AfterStore(Reset()), times=1)
    with pytest.raises(CONNECTION_ERRORS):
        via(fault_proxy, "sqs").send_message(QueueUrl=queue_url, MessageBody="stored anyway")
    assert [m["Body"] for m in receive_all(sqs, queue_url)] == ["stored anyway"]
    assert ops(fault_proxy) == [("AfterStore(Reset())", 200, None)]


def test_after_store_status_stores_but_answers_an_error(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", AfterStore(Status(sqs_internal_error())), times=1)
    with pytest.raises(botocore.exceptions.ClientError):
        via(fault_proxy, "sqs").send_message(QueueUrl=queue_url, MessageBody="stored, reported failed")
    assert queue_depth(sqs, queue_url) == 1


def test_delay_slows_the_answer(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    client = via(fault_proxy, "sqs")
    start = time.monotonic()
    client.send_message(QueueUrl=queue_url, MessageBody="quick")
    quick = time.monotonic() - start
    fault_proxy.add("sqs", "SendMessage", Delay(1.0), times=1)
    start = time.monotonic()
    client.send_message(QueueUrl=queue_url, MessageBody="slow")
    slow = time.monotonic() - start
    assert quick < 0.9 and slow >= 1.0, (quick, slow)
    assert queue_depth(sqs, queue_url) == 2


def test_a_delayed_request_does_not_hold_up_other_connections(fault_proxy, new_queue):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", Delay(1.0), times=1)
    slow_client = via(fault_proxy, "sqs")
    slow = threading.Thread(target=slow_client.send_message, kwargs={"QueueUrl": queue_url, "MessageBody": "x"})
    slow.start()
    time.sleep(0.1)
    start = time.monotonic()
    via(fault_proxy, "sqs").get_queue_attributes(QueueUrl=queue_url)
    assert time.monotonic() - start < 0.5 and slow.is_alive()
    slow.join()
    assert fault_proxy.connections_accepted == 2


def test_after_store_delay_times_the_client_out_although_the_message_is_stored(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", AfterStore(Delay(1.5)), times=1)
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        via(fault_proxy, "sqs", read_timeout=0.5).send_message(QueueUrl=queue_url, MessageBody="late answer")
    assert [m["Body"] for m in receive_all(sqs, queue_url)] == ["late answer"]


def test_delay_then_applies_another_fault(fault_proxy, new_queue, sqs):
    queue_url = new_queue()
    fault_proxy.add("sqs", "SendMessage", Delay(0.3, then=Status(sqs_throttled())), times=1)
    start = time.monotonic()
    with pytest.raises(botocore.exceptions.ClientError) as err:
        via(fault_proxy, "sqs").send_message(QueueUrl=queue_url, MessageBody="x")
    assert time.monotonic() - start >= 0.3
    assert err.value.response["Error"]["Code"] == "RequestThrottled"
    assert queue_depth(sqs, queue_url) == 0


def test_down_refuses_connections_and_up_restores_the_same_port(fault_proxy, new_queue):
    queue_url = new_queue()
    client = via(fault_proxy, "sqs")
    client.send_message(QueueUrl=queue_url, MessageBody="before")  # leaves a kept-alive connection
    url = fault_proxy.url
    fault_proxy.down()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", fault_proxy.port), timeout=1).close()
    with pytest.raises(CONNECTION_ERRORS):
        client.send_message(QueueUrl=queue_url, MessageBody="while down")  # same client: old connection is gone
    fault_proxy.up()
    assert fault_proxy.url == url
    client.send_message(QueueUrl=queue_url, MessageBody="after")
    assert ops(fault_proxy) == [(None, 200, 200), (None, 200, 200)]


def test_log_names_service_and_operation_for_each_protocol(fault_proxy, aws):
    name = f"inlet-{uuid.uuid4().hex[:12]}"
    sqs = via(fault_proxy, "sqs")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    via(fault_proxy, "dynamodb").list_tables()
    sm = via(fault_proxy, "secretsmanager")
    sm.create_secret(Name=f"inlet/{name}", SecretString="s")
    sm.get_secret_value(SecretId=f"inlet/{name}")
    s3 = via(fault_proxy, "s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="deliveries/1.json", Body=b'{"ok": true}')
    s3.head_object(Bucket=name, Key="deliveries/1.json")
    assert [(r.service, r.operation) for r in fault_proxy.requests] == [
        ("sqs", "CreateQueue"),
        ("sqs", "SendMessage"),
        ("dynamodb", "ListTables"),
        ("secretsmanager", "CreateSecret"),
        ("secretsmanager", "GetSecretValue"),
        ("s3", "CreateBucket"),
        ("s3", "PutObject"),
        ("s3", "HeadObject"),
    ]
    assert all(r.upstream_status == 200 and r.fault is None for r in fault_proxy.requests)
    # S3 faults use S3's XML errors.
    fault_proxy.add("s3", "PutObject", Status(s3_internal_error()), times=1)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        s3.put_object(Bucket=name, Key="deliveries/2.json", Body=b"{}")
    assert err.value.response["Error"]["Code"] == "InternalError"
    assert "Contents" not in aws("s3").list_objects_v2(Bucket=name, Prefix="deliveries/2")


def test_identify_query_protocol_and_credential_scope():
    def req(method, target, headers, body=b""):
        return Request(method, target, "HTTP/1.1", list(headers.items()), body)

    auth = "AWS4-HMAC-SHA256 Credential=AKID/20261122/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
    form = {"Authorization": auth.format("sqs"), "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    query = req("POST", "/", form, b"Action=SendMessage&Version=2012-11-05&MessageBody=x")
    assert identify(query) == ("sqs", "SendMessage")
    json_ = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Authorization": auth.format("dynamodb")}
    assert identify(req("POST", "/", json_, b"{}")) == ("dynamodb", "PutItem")
    s3 = {"Authorization": auth.format("s3"), "Host": "127.0.0.1:1"}
    assert identify(req("PUT", "/bucket/a/b.json", s3)) == ("s3", "PutObject")
    assert identify(req("GET", "/bucket/a/b.json", s3)) == ("s3", "GetObject")
    assert identify(req("DELETE", "/bucket/a/b.json", s3)) == ("s3", "DeleteObject")
    assert identify(req("GET", "/bucket?list-type=2", s3)) == ("s3", "ListObjectsV2")
    assert identify(req("GET", "/moto-api/", {})) == ("?", "GET")


def test_chunked_request_bodies_and_keep_alive_on_one_connection(fault_proxy):
    conn = http.client.HTTPConnection("127.0.0.1", fault_proxy.port, timeout=5)
    headers = {
        "X-Amz-Target": "AmazonSQS.ListQueues",
        "Content-Type": "application/x-amz-json-1.0",
        # moto picks its backend from the credential scope (without it, everything is S3).
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261122/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    conn.request("POST", "/", body=iter([b"{", b"}"]), headers=headers, encode_chunked=True)
    chunked = conn.getresponse()
    assert chunked.status == 200
    assert isinstance(json.loads(chunked.read()), dict)
    conn.request("POST", "/", body=b"{}", headers=headers)
    plain = conn.getresponse()
    assert plain.status == 200
    plain.read()
    conn.close()
    assert fault_proxy.connections_accepted == 1
    assert ops(fault_proxy, "sqs", "ListQueues") == [(None, 200, 200), (None, 200, 200)]


# --- runtime_api.py: per-invocation deadlines ---------------------------------------------------

STAND_IN_FUNCTION = """#!{python}
# A Lambda function written against the Runtime API directly: answers with the deadline it was given.
import json, os, time, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    nxt = urllib.request.urlopen(api + "next")
    request_id, deadline = nxt.headers["Lambda-Runtime-Aws-Request-Id"], nxt.headers["Lambda-Runtime-Deadline-Ms"]
    time.sleep(json.loads(nxt.read())["sleep"])
    body = json.dumps({{"statusCode": 200, "deadline_ms": int(deadline), "answered_ms": time.time() * 1000}})
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=body.encode(), method="POST"))
"""


def test_runtime_api_deadline_follows_the_function_timeout(tmp_path):
    script = tmp_path / "bootstrap"
    script.write_text(STAND_IN_FUNCTION.format(python=sys.executable))
    script.chmod(0o755)
    fn = Function(script, {}, tmp_path / "fn.log", timeout=2.0)
    try:
        before = time.time() * 1000
        answer = fn.invoke({"sleep": 0.3})
        after = time.time() * 1000
        assert fn.last_deadline_ms == answer["deadline_ms"]
        # Handed out at some moment between `before` and `after`: now + 2 s, not the old fixed 30 s.
        assert before + 2000 - 5 <= answer["deadline_ms"] <= after + 2000 + 5
        assert 0.3 <= fn.last_duration < 2.0
        assert answer["answered_ms"] < answer["deadline_ms"]
        fn.invoke({"sleep": 0})
        assert fn.last_duration < 0.3
    finally:
        fn.stop()

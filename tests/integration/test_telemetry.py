"""What the compiled functions tell an operator, driven through the Lambda Runtime API against
moto: CloudWatch Embedded Metric Format documents (checked against the EMF specification, one per
invocation at most, written after the answer), X-Ray subsegments sent to a daemon on a UDP
socket, and log lines that carry the invocation's request id and trace id.

EMF specification: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from conftest import DEV_SECRETS, queue_depth, receive_all
from runtime_api import TRACE_HEADER
from signers import api_event, sdk_signed, sample

NAMESPACE = "InletTest"
ROOT_ID = "1-5bef4de7-ad49b0e87f6ef6c87fc2e700"
PARENT_ID = "9a9197af755a6419"
# The units CloudWatch accepts (MetricDatum.Unit).
UNITS = {"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}
# What each metric's unit must be (the template's dashboard and alarms read these).
METRIC_UNITS = {"Accepted": "Count", "Duplicates": "Count", "Handshakes": "Count", "ClaimChecked": "Count",
                "Parked": "Count", "Rejected": "Count", "Failed": "Count", "ColdStarts": "Count",
                "QueueSendLatency": "Milliseconds", "BodyBytes": "Bytes"}


def check_emf(doc: dict) -> dict[str, object]:
    """Checks `doc` against the EMF specification; returns its metric values by name."""
    aws = doc["_aws"]
    assert isinstance(aws["Timestamp"], int) and abs(aws["Timestamp"] / 1000 - time.time()) < 600, aws
    directives = aws["CloudWatchMetrics"]
    assert isinstance(directives, list) and directives
    values: dict[str, object] = {}
    for d in directives:
        assert d["Namespace"] == NAMESPACE
        assert 1 <= len(d["Namespace"]) <= 255
        assert isinstance(d["Dimensions"], list)
        for dim_set in d["Dimensions"]:
            assert 1 <= len(dim_set) <= 30
            for key in dim_set:
                assert isinstance(doc.get(key), str) and doc[key], f"dimension {key} has a string value at the root"
        assert 1 <= len(d["Metrics"]) <= 100
        for m in d["Metrics"]:
            name = m["Name"]
            assert 1 <= len(name) <= 255
            assert m.get("Unit", "None") in UNITS
            assert m.get("Unit") == METRIC_UNITS[name], m
            value = doc[name]
            numbers = value if isinstance(value, list) else [value]
            assert numbers and len(numbers) <= 100 and all(isinstance(n, (int, float)) for n in numbers), (name, value)
            values[name] = value
    return values


def emf_docs(fn) -> list[dict]:
    return [json.loads(line) for line in fn.logs().splitlines() if line.startswith('{"_aws"')]


def wait_docs(fn, count: int, timeout: float = 5.0) -> list[dict]:
    """The function's EMF documents once there are `count` of them (they are written just after
    each answer), and not one more."""
    deadline = time.monotonic() + timeout
    while len(docs := emf_docs(fn)) < count:
        assert time.monotonic() < deadline, f"{len(docs)} EMF documents, expected {count}: {fn.logs()[-3000:]}"
        time.sleep(0.02)
    time.sleep(0.2)
    docs = emf_docs(fn)
    assert len(docs) == count, docs
    return docs


def github(fn, secret: str = DEV_SECRETS["github"], delivery: str = "d-1", trace: str | None = TRACE_HEADER,
           body: bytes | None = None) -> dict:
    body = sample("github") if body is None else body
    return fn.invoke(api_event("v2", "github", sdk_signed("github", secret, body, delivery_id=delivery), body),
                     trace=trace)


def github_body(n: int) -> bytes:
    """A GitHub delivery unlike the sample (GitHub's retries are recognised by the body)."""
    doc = json.loads(sample("github"))
    doc["number"] = n
    return json.dumps(doc).encode()


@pytest.fixture
def udp():
    """A stand-in for the X-Ray daemon: a UDP socket on a free loopback port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.1)
    yield s
    s.close()


def datagrams(s: socket.socket, wait: float = 1.0) -> list[bytes]:
    out, deadline = [], time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            out.append(s.recv(65536))
        except socket.timeout:
            if out:
                deadline = min(deadline, time.monotonic() + 0.2)
    return out


def test_every_outcome_is_one_valid_emf_document_written_after_the_answer(start_function, new_queue, new_table, sqs):
    queue_url = new_queue()
    # The Runtime API takes each answer at once but acknowledges it only 0.3 s later: a document
    # written after the answer has left is stamped at least that much later than the answer.
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS["github"],
                                   "IDEMPOTENCY_TABLE": new_table(), "INLET_METRICS_NAMESPACE": NAMESPACE},
                        response_delay=0.3)
    fn.wait_started()
    [cold] = wait_docs(fn, 1)
    assert check_emf(cold) == {"ColdStarts": 1}
    assert cold["Source"] == "github" and cold["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Source"]]

    # Accepted.
    assert github(fn)["statusCode"] == 202
    accepted = wait_docs(fn, 2)[-1]
    values = check_emf(accepted)
    assert set(values) == {"Accepted", "BodyBytes", "QueueSendLatency"}, values
    assert values["Accepted"] == 1
    assert values["BodyBytes"] == [len(sample("github"))]
    [latency] = values["QueueSendLatency"]
    assert 0 < latency < 5000
    assert accepted["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Source"]]
    assert accepted["Source"] == "github"
    assert accepted["requestId"] == fn.api.last_request_id
    assert accepted["_aws"]["Timestamp"] / 1000 >= fn.api.last_answered_wall + 0.25, "written after the answer"

    # The sender's retry: a duplicate, not enqueued again.
    assert github(fn)["statusCode"] == 202
    values = check_emf(wait_docs(fn, 3)[-1])
    assert set(values) == {"Duplicates", "BodyBytes"}, values
    assert queue_depth(sqs, queue_url) == 1

    # Forged: rejected, by problem type, and nothing else about it.
    assert github(fn, secret="not-the-secret", delivery="d-2")["statusCode"] == 401
    rejected = wait_docs(fn, 4)[-1]
    assert check_emf(rejected) == {"Rejected": 1}
    assert rejected["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Source", "Problem"]]
    assert (rejected["Source"], rejected["Problem"]) == ("github", "invalid-signature")

    # An event that is no usable request (its base64 body does not decode).
    broken = {"version": "2.0", "rawPath": "/webhooks/github", "requestContext": {"http": {"method": "POST"}},
              "headers": {}, "body": "!!not base64!!", "isBase64Encoded": True}
    assert fn.invoke(broken)["statusCode"] == 400
    bad = wait_docs(fn, 5)[-1]
    assert check_emf(bad) == {"Rejected": 1} and bad["Problem"] == "invalid-event"
    assert queue_depth(sqs, queue_url) == 1


def test_an_event_the_queue_refuses_is_counted_as_failed_with_its_problem(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS["github"],
                                   "INLET_METRICS_NAMESPACE": NAMESPACE})
    fn.wait_started()
    sqs.delete_queue(QueueUrl=queue_url)
    # No payload bucket to park it in: 500, and the operator is told by the metric.
    assert github(fn)["statusCode"] == 500
    failed = wait_docs(fn, 2)[-1]
    assert check_emf(failed) == {"Failed": 1}
    assert (failed["Source"], failed["Problem"]) == ("github", "queue-rejected")
    assert failed["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Source", "Problem"]]


def test_handshakes_are_counted(start_function, new_queue):
    fn = start_function("slack", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET": DEV_SECRETS["slack"],
                                  "INLET_METRICS_NAMESPACE": NAMESPACE})
    body = json.dumps({"token": "t", "challenge": "chal-123", "type": "url_verification"}).encode()
    resp = fn.invoke(api_event("v2", "slack", sdk_signed("slack", DEV_SECRETS["slack"], body), body))
    assert resp["statusCode"] == 200
    values = check_emf(wait_docs(fn, 2)[-1])
    assert values == {"Handshakes": 1, "BodyBytes": [len(body)]}


def test_metrics_can_be_turned_off_and_a_bad_namespace_stops_the_function(start_function, new_queue):
    fn = start_function("github", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET": DEV_SECRETS["github"],
                                   "INLET_METRICS_NAMESPACE": ""})
    assert github(fn)["statusCode"] == 202
    time.sleep(0.3)
    assert emf_docs(fn) == []
    bad = start_function("github", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET": DEV_SECRETS["github"],
                                    "INLET_METRICS_NAMESPACE": "AWS/Lambda"})
    assert bad.wait_exit() != 0
    assert "INLET_METRICS_NAMESPACE" in bad.logs()


def test_sampled_invocations_send_their_calls_to_xray_annotated(start_function, new_queue, new_table, udp):
    port = udp.getsockname()[1]
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS["github"],
                                   "IDEMPOTENCY_TABLE": new_table(), "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{port}"})
    fn.wait_started()
    started = time.time()
    assert github(fn)["statusCode"] == 202
    segments = []
    for datagram in datagrams(udp):
        header, body = datagram.split(b"\n", 1)
        assert json.loads(header) == {"format": "json", "version": 1}
        segments.append(json.loads(body))
    assert [(s["name"], s["aws"]["operation"]) for s in segments] == [
        ("DynamoDB", "PutItem"), ("SQS", "SendMessage"), ("DynamoDB", "UpdateItem")]
    for s in segments:
        assert s["type"] == "subsegment" and s["namespace"] == "aws"
        assert (s["trace_id"], s["parent_id"]) == (ROOT_ID, PARENT_ID)
        assert s["annotations"] == {"source": "github", "type": "github.pull_request.opened"}
        assert re.fullmatch(r"[0-9a-f]{16}", s["id"])
        assert started - 1 < s["start_time"] <= s["end_time"] < time.time() + 1
        assert "fault" not in s
    assert len({s["id"] for s in segments}) == 3
    assert segments[1]["aws"]["queue_url"] == queue_url
    assert segments[0]["aws"]["table_name"].startswith("inlet-idem-")
    assert "queue_url" not in segments[0]["aws"] and "table_name" not in segments[1]["aws"]

    # Not sampled, or no trace at all: nothing is sent. A sampled retry sends its one call.
    unsampled = TRACE_HEADER.replace("Sampled=1", "Sampled=0")
    assert github(fn, delivery="d-3", trace=unsampled, body=github_body(3))["statusCode"] == 202
    assert github(fn, delivery="d-4", trace=None, body=github_body(4))["statusCode"] == 202
    assert datagrams(udp, wait=0.5) == []
    # GitHub's retry repeats its body and delivery id.
    assert github(fn, delivery="d-3", body=github_body(3))["statusCode"] == 202
    [retry] = [json.loads(d.split(b"\n", 1)[1]) for d in datagrams(udp)]
    assert (retry["name"], retry["aws"]["operation"]) == ("DynamoDB", "PutItem")


def test_log_lines_carry_the_request_id_and_the_trace_id(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": DEV_SECRETS["github"]})
    assert github(fn)["statusCode"] == 202
    request_id = fn.api.last_request_id
    assert github(fn, secret="wrong", delivery="d-9")["statusCode"] == 401
    rejected_id = fn.api.last_request_id
    time.sleep(0.2)
    lines = [json.loads(l) for l in fn.logs().splitlines() if l.startswith("{") and '"_aws"' not in l]
    enqueued = [l for l in lines if l.get("outcome") == "enqueued"]
    rejected = [l for l in lines if l.get("outcome") == "rejected"]
    assert len(enqueued) == 1 and len(rejected) == 1
    assert enqueued[0]["span"]["requestId"] == request_id
    assert enqueued[0]["span"]["traceId"] == ROOT_ID
    assert rejected[0]["span"]["requestId"] == rejected_id
    assert len(receive_all(sqs, queue_url)) == 1

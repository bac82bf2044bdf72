"""The outbound functions as deployed (functions/outbound: `inlet-fanout` and `inlet-delivery`),
compiled and driven through the Lambda Runtime API against moto's SQS, DynamoDB, S3 and KMS,
delivering to loopback receivers that verify every request with the Standard Webhooks and Svix
SDKs (Python, and npm for one endpoint).

Lambda's SQS event source mapping is played here: messages are received from the moto queues,
handed to the function as the SQS event Lambda builds from them, and those the function does not
report in `batchItemFailures` are deleted. The tables are shaped as template.yaml makes them
(shared/src/outbound/dynamodb.rs), and endpoints are written as `inlet endpoints add` writes them:
an item whose keys are a KMS ciphertext under the encryption context {"inlet:endpoint": <id>}."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from conftest import DEV_SECRETS, ROOT, binary, receive_all
from receivers import SDK_DIR, Answer, NodeReceiver, Receiver
from runtime_api import Function
from signers import api_event, response_body, sample, sdk_signed

# Retries a second apart (±20 %; a task is taken when it is due within a second, so at once): the
# whole file runs in well under two minutes.
SCHEDULE = "1s,1s,1s"


def millis() -> int:
    return int(time.time() * 1000)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def cloud_event(ty: str = "order.created", **data) -> dict:
    return {
        "specversion": "1.0",
        "id": f"evt_{uuid.uuid4().hex}",
        "type": ty,
        "source": "/shop",
        "datacontenttype": "application/json",
        "data": data or {"order": 42},
    }


def sqs_event(messages: list[dict], queue_arn: str) -> dict:
    """The event Lambda's SQS event source mapping hands a function for `messages`."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                # For a FIFO queue these include MessageGroupId and MessageDeduplicationId.
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


@dataclass
class Stack:
    """What template.yaml's outbound side makes, in moto, and Lambda's part in driving it."""

    aws: Callable
    moto_url: str
    tmp: Path
    endpoints: str = ""
    deliveries: str = ""
    outbox: str = ""
    relay: str = ""
    delivery: str = ""
    ordered: str = ""
    events: str = ""
    bucket: str = ""
    key: str = ""
    started: list[Function] = field(default_factory=list)

    # ---- the functions

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.moto_url,
            "RUST_LOG": "info",
            "ENDPOINTS_TABLE": self.endpoints,
            "DELIVERIES_TABLE": self.deliveries,
            "DELIVERY_QUEUE_URL": self.delivery,
            "ORDERED_QUEUE_URL": self.ordered,
            "PAYLOAD_BUCKET": self.bucket,
            "INLET_METRICS_NAMESPACE": "Inlet",
        }

    def start(self, name: str, **env: str) -> Function:
        f = Function(binary(name), {**self.env(), **env}, self.tmp / f"{name}-{len(self.started)}.log", timeout=30)
        self.started.append(f)
        return f

    def cli(self, *args: str) -> str:
        """`inlet …` against this stack, as an operator runs it with the stack's outputs."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_")}
        env |= self.env() | {
            "ENDPOINT_KEYS_KEY_ID": self.key, "OUTBOX_QUEUE_URL": self.outbox,
            "INLET_OUTBOUND_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
        }
        out = subprocess.run([str(ROOT / "target" / "debug" / "inlet"), *args], capture_output=True, text=True,
                             env=env, timeout=60)
        assert out.returncode == 0, out
        return out.stdout

    def receiver(self, source: str, events_queue: str, relay: str, **env: str) -> Function:
        """A receiving function (the source's, as the template makes it) that relays `relay`."""
        return self.start(source, **{
            "INLET_SOURCE": source, "QUEUE_URL": events_queue, "WEBHOOK_SECRET": DEV_SECRETS[source],
            "RELAY_QUEUE_URL": self.relay, "INLET_RELAY": relay, **env,
        })

    def fanout(self, **env: str) -> Function:
        return self.start("inlet-fanout", **{"RELAY_QUEUE_ARN": self.arn(self.relay), **env})

    def delivery_fn(self, **env: str) -> Function:
        return self.start("inlet-delivery", **{
            "ENDPOINT_KEYS_KEY_ID": self.key,
            "QUEUE_URL": self.events,
            # The receivers are plain HTTP on loopback, which the sender refuses by default.
            "INLET_OUTBOUND_ALLOW_HTTP": "true",
            "INLET_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
            "INLET_OUTBOUND_SCHEDULE": SCHEDULE,
            "INLET_OUTBOUND_TIMEOUT_SECONDS": "5",
            **env,
        })

    # ---- endpoints, as `inlet endpoints add` writes them

    def add_endpoint(self, url: str, *, secret: str | None = None, filters=("*",), ordered: bool = False,
                     disabled: str | None = None) -> tuple[str, str]:
        endpoint = f"ep_{uuid.uuid4().hex[:24]}"
        secret = secret or new_secret()
        keys = {"secret": secret, "previous": None, "ed25519": None, "headers": []}
        ciphertext = self.aws("kms").encrypt(
            KeyId=self.key, Plaintext=json.dumps(keys).encode(), EncryptionContext={"inlet:endpoint": endpoint},
        )["CiphertextBlob"]
        item = {
            "pk": {"S": endpoint},
            "url": {"S": url},
            "filters": {"L": [{"S": f} for f in filters]},
            "headers": {"L": []},
            "ordered": {"BOOL": ordered},
            "created_at": {"N": str(millis())},
            "keys": {"B": ciphertext},
        }
        if disabled:
            item |= {"disabled_reason": {"S": disabled}, "disabled_at": {"N": str(millis())}}
        self.aws("dynamodb").put_item(TableName=self.endpoints, Item=item,
                                      ConditionExpression="attribute_not_exists(pk)")
        return endpoint, secret

    def endpoint(self, endpoint: str) -> dict:
        return self.aws("dynamodb").get_item(TableName=self.endpoints, Key={"pk": {"S": endpoint}},
                                             ConsistentRead=True)["Item"]

    # ---- queues, and the event source mapping's part

    def publish(self, *events: dict) -> None:
        for e in events:
            self.aws("sqs").send_message(QueueUrl=self.outbox, MessageBody=json.dumps(e))

    def arn(self, queue_url: str) -> str:
        return self.aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]

    def receive(self, queue_url: str, wait: int = 0, most: int = 10) -> list[dict]:
        return self.aws("sqs").receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=most, WaitTimeSeconds=wait, AttributeNames=["All"],
        ).get("Messages", [])

    def invoke(self, fn: Function, queue_url: str, messages: list[dict]) -> set[str]:
        """Hands `messages` to `fn` and deletes those it did not report failed, as Lambda does;
        returns the ids it reported."""
        response = fn.invoke(sqs_event(messages, self.arn(queue_url)))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        assert failed <= {m["MessageId"] for m in messages}, response
        for m in messages:
            if m["MessageId"] not in failed:
                self.aws("sqs").delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        return failed

    def pump(self, fn: Function, queue_url: str, wait: int = 0, most: int = 10) -> tuple[list[dict], set[str]]:
        """One poll of the mapping: a receive, and an invocation if it got anything."""
        messages = self.receive(queue_url, wait, most)
        return (messages, self.invoke(fn, queue_url, messages)) if messages else ([], set())

    def pump_until(self, fn: Function, queue_url: str, done: Callable[[], bool], timeout: float = 20,
                   most: int = 10) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"not done in {timeout}s: {fn.logs()[-3000:]}"
            self.pump(fn, queue_url, wait=1, most=most)

    def fan_out_all(self, fn: Function, queue: str = "") -> None:
        """Fans out everything on the outbox (or `queue`: the relay queue)."""
        while True:
            messages, failed = self.pump(fn, queue or self.outbox)
            if not messages:
                return
            assert not failed, fn.logs()[-3000:]

    # ---- the deliveries table

    def task(self, endpoint: str, event_id: str) -> dict | None:
        return self.aws("dynamodb").get_item(
            TableName=self.deliveries, Key={"pk": {"S": f"{endpoint}/{event_id}"}, "sk": {"S": "task"}},
            ConsistentRead=True,
        ).get("Item")

    def state(self, endpoint: str, event_id: str) -> str | None:
        task = self.task(endpoint, event_id)
        return task["state"]["S"] if task else None

    def tasks(self) -> list[dict]:
        return self.aws("dynamodb").scan(
            TableName=self.deliveries, FilterExpression="sk = :t", ExpressionAttributeValues={":t": {"S": "task"}},
            ConsistentRead=True,
        )["Items"]

    def attempts(self, endpoint: str, event_id: str) -> list[dict]:
        return self.aws("dynamodb").query(
            TableName=self.deliveries, KeyConditionExpression="pk = :pk AND begins_with(sk, :a)",
            ExpressionAttributeValues={":pk": {"S": f"{endpoint}/{event_id}"}, ":a": {"S": "attempt#"}},
            ConsistentRead=True,
        )["Items"]

    def operational_events(self) -> list[dict]:
        return [json.loads(m["Body"]) for m in receive_all(self.aws("sqs"), self.events)]


@pytest.fixture
def stack(aws, moto_url, tmp_path):
    """A fresh set of the outbound side's tables, queues, bucket and key per test."""
    suffix = uuid.uuid4().hex[:10]
    s = Stack(aws=aws, moto_url=moto_url, tmp=tmp_path)
    ddb, sqs = aws("dynamodb"), aws("sqs")
    s.endpoints = f"inlet-endpoints-{suffix}"
    ddb.create_table(
        TableName=s.endpoints, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    s.deliveries = f"inlet-deliveries-{suffix}"
    ddb.create_table(
        TableName=s.deliveries, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in
                              [("pk", "S"), ("sk", "S"), ("endpoint_id", "S"), ("event_id", "S"), ("at", "N")]],
        GlobalSecondaryIndexes=[
            {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": "at", "KeyType": "RANGE"}]}
            for name, hash_key in [("by-endpoint", "endpoint_id"), ("by-event", "event_id")]
        ],
    )
    for table in (s.endpoints, s.deliveries):
        ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    s.outbox = sqs.create_queue(QueueName=f"inlet-outbox-{suffix}")["QueueUrl"]
    s.relay = sqs.create_queue(QueueName=f"inlet-relay-{suffix}")["QueueUrl"]
    s.delivery = sqs.create_queue(QueueName=f"inlet-delivery-{suffix}")["QueueUrl"]
    s.ordered = sqs.create_queue(QueueName=f"inlet-ordered-{suffix}.fifo",
                                 Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"})["QueueUrl"]
    s.events = sqs.create_queue(QueueName=f"inlet-events-{suffix}")["QueueUrl"]
    s.bucket = f"inlet-payloads-{suffix}"
    aws("s3").create_bucket(Bucket=s.bucket)
    s.key = aws("kms").create_key(Description="endpoint keys")["KeyMetadata"]["KeyId"]
    try:
        yield s
    finally:
        for f in s.started:
            f.stop()


def node_available() -> bool:
    return shutil.which("node") is not None and (SDK_DIR / "node_modules" / "standardwebhooks").is_dir()


# ---------------------------------------------------------------- fan-out and delivery

def test_an_event_reaches_each_subscribed_endpoint_signed_for_both_sdks(stack):
    secret, node_secret = new_secret(), new_secret()
    node = NodeReceiver(secrets=[node_secret]).start() if node_available() else None
    try:
        with Receiver(secrets=[secret]) as orders, Receiver() as invoices, Receiver() as off:
            ep_orders, _ = stack.add_endpoint(orders.url, secret=secret, filters=["order.*"])
            ep_invoices, _ = stack.add_endpoint(invoices.url, filters=["invoice.*"])
            ep_off, _ = stack.add_endpoint(off.url, disabled="operator")
            subscribed = {ep_orders}
            if node:
                ep_node, _ = stack.add_endpoint(node.url, secret=node_secret, filters=["order.created"])
                subscribed.add(ep_node)
            event = cloud_event("order.created")
            stack.publish(event)
            stack.fan_out_all(stack.fanout())

            assert {t["endpoint_id"]["S"] for t in stack.tasks()} == subscribed
            assert all(t["state"]["S"] == "pending" for t in stack.tasks())
            assert stack.task(ep_invoices, event["id"]) is None, "the filter does not match"
            assert stack.task(ep_off, event["id"]) is None, "a disabled endpoint gets no task"

            delivery = stack.delivery_fn()
            stack.pump_until(delivery, stack.delivery,
                             lambda: all(stack.state(e, event["id"]) == "delivered" for e in subscribed))
            [got] = orders.wait_for(1)
            assert got.verified("standardwebhooks") and got.verified("svix"), got.verdicts
            assert got.header("webhook-id") == event["id"]
            assert json.loads(got.body) == event
            assert not invoices.requests and not off.requests
            [attempt] = stack.attempts(ep_orders, event["id"])
            assert (attempt["status"]["N"], attempt["verdict"]["S"]) == ("204", "delivered")
            assert not stack.receive(stack.delivery), "nothing left to deliver"
            if node:
                [at_node] = node.results()
                assert at_node.verified("standardwebhooks") and at_node.verified("svix"), at_node.verdicts
                assert at_node.header("webhook-id") == event["id"]
    finally:
        if node:
            node.stop()
    if not node:
        pytest.skip("delivered and verified with the Python SDKs; the npm ones need node and "
                    "tests/sdk/node_modules (or INLET_SDK_DIR)")


def test_an_outbox_message_delivered_twice_makes_one_task_and_one_delivery(stack):
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url)
        rx.secrets.append(secret)
        event = cloud_event()
        stack.publish(event)
        fanout = stack.fanout()
        [message] = stack.receive(stack.outbox)
        # SQS delivers at least once: the same message, handed over twice.
        for _ in range(2):
            assert not fanout.invoke(sqs_event([message], stack.arn(stack.outbox))).get("batchItemFailures")
        stack.aws("sqs").delete_message(QueueUrl=stack.outbox, ReceiptHandle=message["ReceiptHandle"])
        assert len(stack.tasks()) == 1
        tasks = stack.receive(stack.delivery)
        assert len(tasks) == 1, "one task message"

        delivery = stack.delivery_fn()
        # The task message handed over twice too: the second finds the task delivered.
        for _ in range(2):
            assert not delivery.invoke(sqs_event(tasks, stack.arn(stack.delivery))).get("batchItemFailures")
        assert stack.state(endpoint, event["id"]) == "delivered"
        time.sleep(0.5)
        assert len(rx.requests) == 1 and rx.requests[0].verified("standardwebhooks")
        assert len(stack.attempts(endpoint, event["id"])) == 1


def test_a_failed_attempt_is_retried_on_the_schedule_and_logged(stack):
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url)
        rx.secrets.append(secret)
        rx.script(Answer(500))
        event = cloud_event()
        stack.publish(event)
        stack.fan_out_all(stack.fanout())
        # 3 s (±20 %), of which a task is taken up to a second early: long enough to see it wait.
        delivery = stack.delivery_fn(INLET_OUTBOUND_SCHEDULE="3s", INLET_METRICS_NAMESPACE="Inlet/outbound-test")
        messages, failed = stack.pump(delivery, stack.delivery)
        assert len(messages) == 1 and not failed, "a retry is a new message, not a failure Lambda sees"
        assert len(rx.wait_for(1)) == 1
        record = stack.task(endpoint, event["id"])
        assert (record["state"]["S"], record["attempt"]["N"]) == ("pending", "2")
        # The next attempt's message, delayed until it is due.
        attrs = stack.aws("sqs").get_queue_attributes(
            QueueUrl=stack.delivery, AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"])
        assert int(attrs["Attributes"]["ApproximateNumberOfMessagesDelayed"]) + int(
            attrs["Attributes"]["ApproximateNumberOfMessages"]) == 1, attrs

        stack.pump_until(delivery, stack.delivery, lambda: stack.state(endpoint, event["id"]) == "delivered")
        first, second = rx.wait_for(2)
        assert second.at - first.at >= 1.3, "the schedule's wait, less the second a task may be early"
        assert first.header("webhook-id") == second.header("webhook-id") == event["id"]
        assert second.verified("standardwebhooks") and second.verified("svix")
        attempts = sorted(stack.attempts(endpoint, event["id"]), key=lambda a: a["sk"]["S"])
        assert [(a["number"]["N"], a["status"]["N"], a["verdict"]["S"]) for a in attempts] == [
            ("1", "500", "retry"), ("2", "204", "delivered")]
        assert all(a["sk"]["S"] == f"attempt#{int(a['at']['N']):013d}#{int(a['number']['N']):06d}" for a in attempts)
        assert all(a["endpoint_id"]["S"] == endpoint and a["event_id"]["S"] == event["id"] for a in attempts)
        # The metrics (CloudWatch EMF on stdout) are in the stack's namespace, which the alarms read.
        emf = [json.loads(line) for line in delivery.logs().splitlines() if line.startswith('{"_aws"')]
        outcomes = {(d.get("Outcome"), d.get("Class")) for d in emf if "OutboundAttempts" in d}
        assert {("retry", "http"), ("delivered", "http")} <= outcomes, emf
        assert {m["Namespace"] for d in emf for m in d["_aws"]["CloudWatchMetrics"]} == {"Inlet/outbound-test"}


def test_410_disables_the_endpoint_tells_the_events_queue_and_parks_its_next_task(stack):
    with Receiver(default=Answer(410)) as rx:
        endpoint, secret = stack.add_endpoint(rx.url)
        rx.secrets.append(secret)
        events = [cloud_event(), cloud_event()]
        stack.publish(*events)
        stack.fan_out_all(stack.fanout())
        assert len(stack.tasks()) == 2
        delivery = stack.delivery_fn()
        # A batch's tasks go at once (a 410 cannot stop a delivery already sent): one task an
        # invocation here, so the first is answered 410 and the second finds the endpoint disabled.
        stack.pump_until(delivery, stack.delivery,
                         lambda: all(stack.state(endpoint, e["id"]) == "parked" for e in events)
                         and not stack.receive(stack.delivery), timeout=15, most=1)
        assert len(rx.requests) == 1, "nothing is sent to a disabled endpoint"
        item = stack.endpoint(endpoint)
        assert item["disabled_reason"]["S"] == "gone" and int(item["disabled_at"]["N"]) > 0
        reasons = sorted(stack.task(endpoint, e["id"]).get("parked_reason", {}).get("S", "") for e in events)
        assert "endpoint disabled" in reasons, reasons
        [notice] = [n for n in stack.operational_events() if n["type"] == "inlet.outbound.endpoint.disabled"]
        assert notice["subject"] == endpoint and notice["source"] == "inlet/outbound"
        assert notice["data"]["reason"] == "gone" and notice["data"]["endpoint_id"] == endpoint


def test_a_task_whose_schedule_runs_out_is_parked_with_its_attempts(stack):
    with Receiver(default=Answer(500)) as rx:
        endpoint, secret = stack.add_endpoint(rx.url)
        rx.secrets.append(secret)
        event = cloud_event()
        stack.publish(event)
        stack.fan_out_all(stack.fanout())
        delivery = stack.delivery_fn(INLET_OUTBOUND_SCHEDULE="1s")
        stack.pump_until(delivery, stack.delivery, lambda: stack.state(endpoint, event["id"]) == "parked")
        assert len(rx.requests) == 2, "the first attempt and the one retry"
        key = f"outbound/parked/{endpoint}/{hashlib.sha256(event['id'].encode()).hexdigest()}.json"
        parked = json.loads(stack.aws("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read())
        assert parked["task"]["event_id"] == event["id"] and parked["task"]["endpoint_id"] == endpoint
        assert sorted((a["number"], a["status"]) for a in parked["attempts"]) == [(1, 500), (2, 500)]
        [notice] = [n for n in stack.operational_events() if n["type"] == "inlet.outbound.delivery.exhausted"]
        assert notice["subject"] == endpoint and notice["data"]["event_id"] == event["id"]
        assert not stack.receive(stack.delivery), "nothing left on the queue"
        # The operator sends it again once the endpoint is back: `inlet deliveries retry`.
        rx.default = Answer(204)
        out = stack.cli("deliveries", "retry", f"{endpoint}/{event['id']}")
        assert json.loads(out) == {"requeued": 1}
        stack.pump_until(delivery, stack.delivery, lambda: stack.state(endpoint, event["id"]) == "delivered")
        assert rx.requests[-1].verified("standardwebhooks") and rx.requests[-1].verified("svix")
        shown = json.loads(stack.cli("deliveries", "show", f"{endpoint}/{event['id']}"))
        assert [a["status"] for a in shown["attempts"]] == [500, 500, 204]


def test_inlet_endpoints_and_publish_against_a_deployment(stack):
    """The CLI on a deployment's tables, key and outbox (ENDPOINTS_TABLE set): what it adds is
    what the delivery function signs with, and what it publishes is delivered."""
    with Receiver() as rx:
        added = json.loads(stack.cli("endpoints", "add", rx.url, "--filter", "invoice.*",
                                     "--header", "Authorization: Bearer t0ken-value"))
        rx.secrets.append(added["secret"])
        item = stack.endpoint(added["id"])
        assert added["secret"].encode() not in item["keys"]["B"] and b"t0ken-value" not in item["keys"]["B"]
        assert [h["S"] for h in item["headers"]["L"]] == ["Authorization"]
        listed = json.loads(stack.cli("endpoints", "list"))
        assert [e["id"] for e in listed] == [added["id"]] and "secret" not in listed[0]
        published = json.loads(stack.cli("publish", "invoice.paid", "--data", '{"amount": 3}', "--id", "evt_cli_1"))
        assert published["id"] == "evt_cli_1"
        stack.fan_out_all(stack.fanout())
        stack.pump_until(stack.delivery_fn(), stack.delivery,
                         lambda: stack.state(added["id"], "evt_cli_1") == "delivered")
        [got] = rx.wait_for(1)
        assert got.verified("standardwebhooks") and got.verified("svix")
        assert got.header("authorization") == "Bearer t0ken-value"
        assert json.loads(got.body)["data"] == {"amount": 3}
        # A test event for that endpoint alone, whatever its filters take.
        tested = json.loads(stack.cli("endpoints", "test", added["id"]))
        assert tested["delivery"] == f"{added['id']}/{tested['id']}"
        stack.pump_until(stack.delivery_fn(), stack.delivery,
                         lambda: stack.state(added["id"], tested["id"]) == "delivered")
        test = rx.wait_for(2)[1]
        assert test.verified("standardwebhooks") and test.verified("svix")
        body = json.loads(test.body)
        assert (body["type"], body["data"]) == ("inlet.endpoint.test", {"endpoint_id": added["id"], "test": True})


def test_an_ordered_endpoint_gets_its_events_in_publish_order_across_a_retry(stack):
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url, ordered=True)
        rx.secrets.append(secret)
        rx.script(Answer(503))
        events = [cloud_event(n=i) for i in range(3)]
        stack.publish(*events)
        stack.fan_out_all(stack.fanout())
        assert not stack.receive(stack.delivery), "ordered tasks go to the FIFO queue"
        delivery = stack.delivery_fn()
        messages, failed = stack.pump(delivery, stack.ordered)
        assert [json.loads(m["Body"])["event_id"] for m in messages] == [e["id"] for e in events]
        assert all(m["Attributes"]["MessageGroupId"] == endpoint for m in messages)
        # The first failed: it stays (made invisible until its retry is due), and so does the rest
        # of its group, behind it.
        assert failed == {m["MessageId"] for m in messages}
        assert len(rx.wait_for(1)) == 1
        stack.pump_until(delivery, stack.ordered,
                         lambda: all(stack.state(endpoint, e["id"]) == "delivered" for e in events), timeout=20)
        got = rx.wait_for(4)
        assert [r.header("webhook-id") for r in got] == [events[0]["id"], *[e["id"] for e in events]]
        assert all(r.verified("standardwebhooks") and r.verified("svix") for r in got)
        assert not stack.receive(stack.ordered)


def test_fan_out_refuses_to_start_with_an_unknown_setting(stack):
    fn = stack.fanout(INLET_OUTBOUNDX="1")
    assert fn.wait_exit() != 0
    logs = fn.logs()
    assert "INLET_OUTBOUNDX" in logs and "refusing to start" in logs, logs


def test_an_event_too_large_for_a_task_is_delivered_from_the_bucket(stack):
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url)
        rx.secrets.append(secret)
        # Over the 200 KB a task carries inline (outbound::lambda::INLINE_BODY_MAX), under SQS's limit.
        event = cloud_event(blob="x" * (220 * 1024))
        stack.publish(event)
        stack.fan_out_all(stack.fanout())
        key = f"outbound/events/{hashlib.sha256(event['id'].encode()).hexdigest()}"
        stored = stack.aws("s3").get_object(Bucket=stack.bucket, Key=key)["Body"].read()
        assert json.loads(stored) == event
        [task] = stack.tasks()
        # The body travels in the task's messages (here a reference to the bucket); the record
        # stays small and keeps none until the task is parked.
        assert "body" not in task
        stack.pump_until(stack.delivery_fn(), stack.delivery, lambda: stack.state(endpoint, event["id"]) == "delivered")
        [got] = rx.wait_for(1)
        assert got.body == stored and got.verified("standardwebhooks") and got.verified("svix")


def test_keys_copied_from_another_endpoint_are_not_used(stack):
    """KMS decrypts an endpoint's keys only under its own id: whoever can write the table cannot
    make one endpoint sign with another's secret."""
    with Receiver() as rx:
        victim, _ = stack.add_endpoint("https://example.invalid/hook", filters=["never.*"])
        endpoint, secret = stack.add_endpoint(rx.url)
        ddb = stack.aws("dynamodb")
        ddb.update_item(TableName=stack.endpoints, Key={"pk": {"S": endpoint}}, UpdateExpression="SET #k = :k",
                        ExpressionAttributeNames={"#k": "keys"},
                        ExpressionAttributeValues={":k": stack.endpoint(victim)["keys"]})
        event = cloud_event()
        stack.publish(event)
        stack.fan_out_all(stack.fanout())
        delivery = stack.delivery_fn()
        messages, failed = stack.pump(delivery, stack.delivery)
        assert len(messages) == 1 and failed == {messages[0]["MessageId"]}, "it stays on the queue (then its DLQ)"
        time.sleep(0.3)
        assert not rx.requests
        assert "could not be decrypted" in delivery.logs() and secret not in delivery.logs()
        assert stack.state(endpoint, event["id"]) == "pending"


def stripe_event(event_id: str, ty: str, pad: str = "") -> bytes:
    """A Stripe event as Stripe sends it (the sample, with another id and type)."""
    event = json.loads(sample("stripe"))
    event |= {"id": event_id, "type": ty}
    if pad:
        event["pad"] = pad
    return json.dumps(event).encode()


def stripe_delivery(fn: Function, body: bytes) -> dict:
    return fn.invoke(api_event("v2", "stripe", sdk_signed("stripe", DEV_SECRETS["stripe"], body), body))


def test_received_events_the_relay_takes_reach_subscribers_once_and_signed(stack):
    """INLET_RELAY on a receiver: Stripe's events of the chosen types go to the outbox before the
    events queue, and on to the subscribed endpoints, verified by both SDKs; Stripe's retry of one
    is delivered once; other types are only queued."""
    events_queue = stack.aws("sqs").create_queue(QueueName=f"inlet-received-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url, filters=["stripe.invoice.*"])
        rx.secrets.append(secret)
        receiver = stack.receiver("stripe", events_queue, "stripe.invoice.*")
        paid = stripe_event("evt_relay_paid", "invoice.paid")
        for _ in range(2):  # Stripe retries a delivery it did not see answered
            resp = stripe_delivery(receiver, paid)
            assert resp["statusCode"] == 202, resp
        other = stripe_event("evt_relay_charge", "charge.succeeded")
        assert stripe_delivery(receiver, other)["statusCode"] == 202
        queued = [json.loads(m["Body"]) for m in receive_all(stack.aws("sqs"), events_queue)]
        assert sorted(e["id"] for e in queued) == ["evt_relay_charge", "evt_relay_paid", "evt_relay_paid"]
        assert all("inletenvelopeid" not in e for e in queued), "the events queue's envelopes are unchanged"

        stack.fan_out_all(stack.fanout(), stack.relay)
        [task] = stack.tasks()
        relayed_id = task["event_id"]["S"]
        assert relayed_id.startswith("stripe:") and task["endpoint_id"]["S"] == endpoint
        stack.pump_until(stack.delivery_fn(), stack.delivery, lambda: stack.state(endpoint, relayed_id) == "delivered")
        [got] = rx.wait_for(1)
        time.sleep(0.3)
        assert len(rx.requests) == 1, "Stripe's retry is delivered once"
        assert got.verified("standardwebhooks") and got.verified("svix"), got.verdicts
        event = json.loads(got.body)
        assert got.header("webhook-id") == event["id"] == relayed_id
        assert (event["type"], event["source"], event["inletenvelopeid"]) == ("stripe.invoice.paid", "stripe", "evt_relay_paid")
        assert event["data"] == json.loads(paid), "the sender's event, as received"
        paid_envelope = next(e for e in queued if e["id"] == "evt_relay_paid")
        assert {k: v for k, v in event.items() if k not in ("id", "inletenvelopeid")} == \
            {k: v for k, v in paid_envelope.items() if k != "id"}


def test_a_receiver_that_cannot_relay_answers_503_and_queues_nothing(stack):
    events_queue = stack.aws("sqs").create_queue(QueueName=f"inlet-received-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    receiver = stack.receiver("stripe", events_queue, "*")
    receiver.wait_started()
    stack.aws("sqs").delete_queue(QueueUrl=stack.relay)  # refused for good: QueueDoesNotExist
    resp = stripe_delivery(receiver, stripe_event("evt_no_outbox", "invoice.paid"))
    assert resp["statusCode"] == 503 and "retry-after" in {k.lower() for k in resp["headers"]}, resp
    assert json.loads(response_body(resp))["type"].endswith("queue-unavailable")
    assert not receive_all(stack.aws("sqs"), events_queue), "not relayed: not received, so not queued either"
    assert "did not take the relayed copy" in receiver.logs()


@pytest.mark.parametrize("relay, settings, refused", [
    ("stripe.*.paid", "", "INLET_RELAY"),
    ("", '{"stripe": {"INLET_RELAY": "invoice.*"}}', "can never match"),
])
def test_a_receiver_refuses_to_start_with_a_relay_that_cannot_work(stack, relay, settings, refused):
    events_queue = stack.aws("sqs").create_queue(QueueName=f"inlet-received-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    fn = stack.receiver("stripe", events_queue, relay, INLET_SOURCE_SETTINGS=settings)
    assert fn.wait_exit() != 0
    assert refused in fn.logs() and "refusing to start" in fn.logs(), fn.logs()
    fn = stack.receiver("stripe", events_queue, "stripe.invoice.*", RELAY_QUEUE_URL="")
    assert fn.wait_exit() != 0
    assert "RELAY_QUEUE_URL" in fn.logs(), fn.logs()


def test_a_claim_checked_relayed_event_is_delivered_with_its_body(stack):
    """An event too large for the events queue's messages: the receiver claim-checks its body, the
    relayed envelope carries the dataref, and fan-out puts the body back before delivery."""
    events_queue = stack.aws("sqs").create_queue(
        QueueName=f"inlet-received-{uuid.uuid4().hex[:10]}", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    with Receiver() as rx:
        endpoint, secret = stack.add_endpoint(rx.url, filters=["stripe.invoice.*"])
        rx.secrets.append(secret)
        receiver = stack.receiver("stripe", events_queue, "stripe.invoice.*", PAYLOAD_BUCKET=stack.bucket)
        big = stripe_event("evt_relay_big", "invoice.paid", pad="x" * 4000)
        resp = stripe_delivery(receiver, big)
        assert resp["statusCode"] == 202, resp
        [queued] = [json.loads(m["Body"]) for m in receive_all(stack.aws("sqs"), events_queue)]
        assert queued["dataref"].startswith(f"s3://{stack.bucket}/payloads/stripe/") and "data" not in queued
        messages = stack.receive(stack.relay)
        [relayed] = [json.loads(m["Body"]) for m in messages]
        assert relayed["dataref"] == queued["dataref"], "relayed as received"
        assert not stack.invoke(stack.fanout(), stack.relay, messages)
        [task] = stack.tasks()
        relayed_id = task["event_id"]["S"]
        stack.pump_until(stack.delivery_fn(), stack.delivery, lambda: stack.state(endpoint, relayed_id) == "delivered")
        [got] = rx.wait_for(1)
        assert got.verified("standardwebhooks") and got.verified("svix")
        event = json.loads(got.body)
        assert "dataref" not in event and event["data"] == json.loads(big)
        assert event["inletbodysha256"] == hashlib.sha256(big).hexdigest()

        # The same envelope published on the outbox: a publisher may not name a body in the bucket.
        stack.publish(relayed | {"id": "evt_published_dataref"})
        stack.fan_out_all(stack.fanout())
        stack.pump_until(stack.delivery_fn(), stack.delivery,
                         lambda: stack.state(endpoint, "evt_published_dataref") == "delivered")
        published = json.loads(rx.wait_for(2)[1].body)
        assert published["dataref"] == relayed["dataref"] and "data" not in published, "delivered as published"

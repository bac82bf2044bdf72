"""The compiled functions with AWS failing the way it really fails: each case puts a FaultProxy
(faultproxy.py) between a function and moto, injects one fault, and checks

- the status the contract gives that fault (202 / 503 + Retry-After / 500 queue-rejected / parked),
- that every answer left before the invocation's deadline (`last_duration < timeout`),
- that nothing answered 2xx is missing from the queue (or, when parked, from the bucket),

then, where the sender would retry, clears the fault and retries as the sender does. Copies of a
delivery that the queue holds more than once (SQS stored it, but the answer was lost) are counted
and reported, not failed on: the promise is no loss, and at-least-once delivery.

A table of every case (statuses, slowest answer vs the deadline, 2xx answers, messages in the
queue, extra copies) is printed at the end of the run.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest

from conftest import DEV_SECRETS, bucket_objects, report
from faultproxy import (
    AfterStore,
    Delay,
    Reset,
    Response,
    Status,
    aws_json_error,
    dynamodb_throttled,
    s3_internal_error,
    sqs_access_denied,
    sqs_internal_error,
    sqs_invalid_message_contents,
    sqs_queue_does_not_exist,
    sqs_throttled,
)
from soak import Attempt, Delivery, drain, make_delivery, send, sign_github

# Under pytest-xdist (infra/scripts/test) every case runs on one worker, one at a time: each checks
# answers against deadlines, and the table of cases is printed whole.
pytestmark = pytest.mark.xdist_group("faults")

TIMEOUT = 5.0  # the functions' timeout in template.yaml
RETRY_AFTER = "30"
ROWS: list[dict] = []


# ---------------------------------------------------------------------------------------------
# Faults the proxy module has no helper for
# ---------------------------------------------------------------------------------------------


def sqs_kms_access_denied() -> Response:
    """400 KmsAccessDenied, query code KMS.AccessDeniedException (SQS model, awsQueryError)."""
    return aws_json_error(400, "KmsAccessDenied", "The ciphertext refers to a customer master key that does not "
                          "exist, does not exist in this region, or you are not allowed to access.",
                          "KMS.AccessDeniedException;Sender")


def sqs_kms_throttled() -> Response:
    """400 KmsThrottled, query code KMS.ThrottlingException (SQS model: "AWS KMS throttles requests
    for the following conditions"): throttling, so a later attempt succeeds."""
    return aws_json_error(400, "KmsThrottled", "Rate exceeded", "KMS.ThrottlingException;Sender")


def s3_access_denied() -> Response:
    """403 AccessDenied, S3's REST-XML error body (S3 API reference, "Error responses")."""
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>").encode()
    return Response(403, [("Content-Type", "application/xml")], body)


def never_answers() -> Delay:
    """A hung endpoint: holds the request past any deadline, then drops it (moto never sees it)."""
    return Delay(30, then=Reset())


# ---------------------------------------------------------------------------------------------
# One function (or two) behind the proxy, and the checks every case makes
# ---------------------------------------------------------------------------------------------


def label(a: Attempt) -> str:
    if a.status is None:
        return "no answer"
    if a.reply.get("duplicate"):
        return f"{a.status} dup"
    if a.reply.get("parked"):
        return f"{a.status} parked"
    return f"{a.status} {a.problem}" if a.problem else str(a.status)


class Scenario:
    """Functions of one source whose AWS endpoint is the proxy, sharing one queue (and table,
    bucket); every invocation is recorded and checked by `finish`."""

    def __init__(self, case, start_function, proxy, sqs, aws, source, queue_url, table, bucket, env):
        self.case, self.start_function, self.proxy, self.sqs, self.aws = case, start_function, proxy, sqs, aws
        self.source, self.queue_url, self.table, self.bucket, self.env = source, queue_url, table, bucket, env
        self.attempts: list[tuple[Attempt, float]] = []  # with the deadline (the function's timeout)
        self.lock = threading.Lock()
        self.fns = []
        self.finished = False
        self.messages: list[dict] = []

    def start(self, timeout: float = TIMEOUT, wait: bool = True, **env):
        e = {"AWS_ENDPOINT_URL": self.proxy.url, "QUEUE_URL": self.queue_url, "WEBHOOK_SECRET": DEV_SECRETS[self.source]}
        if self.table:
            e["IDEMPOTENCY_TABLE"] = self.table
        if self.bucket:
            e["PAYLOAD_BUCKET"] = self.bucket
        fn = self.start_function(self.source, {**e, **self.env, **env}, timeout=timeout)
        self.fns.append(fn)
        if wait:
            fn.wait_started()
        return fn

    def delivery(self, pad: int = 0) -> Delivery:
        d = make_delivery(self.source, len(self.attempts), pad=pad)
        if self.source == "github":
            sign_github([d])
        return d

    def send(self, d: Delivery, fn=None, **kw) -> Attempt:
        fn = fn or self.fns[0]
        a = send(fn, d, **kw)
        with self.lock:
            self.attempts.append((a, fn.timeout))
        assert a.error is None, (a.error, fn.logs())
        return a

    def send_while_twin_sends(self, d: Delivery, twin_fn, dup_fn) -> list[Attempt]:
        """Sends `d` through `twin_fn`, then through `dup_fn` once the twin's first SendMessage
        has reached the proxy: by then the twin holds the in-progress mark, however loaded the
        machine is (a fixed head start is not enough on a busy CI machine)."""
        before = len(self.proxy.calls("sqs", "SendMessage"))
        out: list = [None]

        def twin():
            try:
                out[0] = self.send(d, twin_fn)
            except BaseException as e:  # raised again in the test's thread
                out[0] = e

        thread = threading.Thread(target=twin)
        thread.start()
        waited_until = time.monotonic() + 10
        while len(self.proxy.calls("sqs", "SendMessage")) == before:
            assert time.monotonic() < waited_until, "the twin never reached SendMessage"
            time.sleep(0.01)
        dup = self.send(d, dup_fn)
        thread.join()
        if isinstance(out[0], BaseException):
            raise out[0]
        return [out[0], dup]

    def send_concurrently(self, pairs: list[tuple[float, Delivery, object]]) -> list[Attempt]:
        """Sends each (start offset in seconds, delivery, function) at once, in threads."""
        out: list = [None] * len(pairs)
        t0 = time.monotonic()

        def go(i, offset, d, fn):
            time.sleep(max(0.0, t0 + offset - time.monotonic()))
            try:
                out[i] = self.send(d, fn)
            except BaseException as e:  # raised again in the test's thread
                out[i] = e

        threads = [threading.Thread(target=go, args=(i, *p)) for i, p in enumerate(pairs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in out:
            if isinstance(r, BaseException):
                raise r
        return out

    def calls(self, service: str, operation: str) -> int:
        return len(self.proxy.calls(service, operation))

    def finish(self, note: str = "") -> Counter:
        """The checks every case makes; returns the queue's copies per envelope id."""
        self.finished = True
        self.messages = messages = drain(self.sqs, self.queue_url)
        copies = self.row(messages, note)
        message_ids = {m["MessageId"] for m in messages}
        parked = bucket_objects(self.aws, self.bucket) if self.bucket else {}
        ok = [a for a, _ in self.attempts if a.ok]
        for a, timeout in self.attempts:
            assert a.duration < timeout, f"answered {a.duration:.3f} s after hand-out; the deadline is {timeout} s: {a}"
        for a in ok:
            if a.reply.get("parked"):
                key = [k for k in parked if k.startswith(f"undelivered/{self.source}/{a.reply['id']}/")]
                assert key, f"answered 202 parked, but nothing is parked: {a.reply} {sorted(parked)}"
            else:
                assert copies[a.reply["id"]] >= 1, f"answered 2xx, but not in the queue: {a.reply}"
                assert a.reply["messageId"] in message_ids, a.reply
        return copies

    def row(self, messages: list[dict], note: str) -> Counter:
        """Adds this case's line to the table; returns the queue's copies per envelope id."""
        copies = Counter(json.loads(m["Body"])["id"] for m in messages)
        slowest = max(self.attempts, key=lambda p: (p[0].duration or float("inf")) / p[1])
        ok = [a for a, _ in self.attempts if a.ok]
        ROWS.append({
            "case": self.case,
            "statuses": " → ".join(label(a) for a, _ in self.attempts),
            "max": slowest[0].duration if slowest[0].duration is not None else float("nan"),
            "deadline": slowest[1],
            "ok": len(ok),
            "queued": len(messages),
            "extra": sum(c - 1 for c in copies.values()),
            "note": note,
        })
        return copies


@pytest.fixture
def scenario(request, start_function, fault_proxy, new_queue, new_table, new_bucket, sqs, aws):
    made: list[Scenario] = []

    def make(case: str, source: str = "stripe", *, idempotency: bool = True, bucket: bool = False,
             max_message_size: int | None = None, env: dict | None = None) -> Scenario:
        s = Scenario(case, start_function, fault_proxy, sqs, aws, source, new_queue(max_message_size=max_message_size),
                     new_table() if idempotency else None, new_bucket() if bucket else None, env or {})
        made.append(s)
        return s

    yield make
    for s in made:  # a case that failed before its checks still gets its row
        if not s.finished and s.attempts:
            fault_proxy.clear()
            s.row(drain(sqs, s.queue_url), "FAILED (see the test)")


@pytest.fixture(scope="module", autouse=True)
def fault_table():
    yield
    if not ROWS:
        return
    w = max(len(r["case"]) for r in ROWS)
    v = max(len(r["statuses"]) for r in ROWS)
    lines = [f"{'case':<{w}}  {'statuses':<{v}}  {'slowest':>7} {'limit':>5} {'2xx':>3} {'queue':>5} {'extra':>5}  note"]
    for r in ROWS:
        lines.append(f"{r['case']:<{w}}  {r['statuses']:<{v}}  {r['max']:>7.2f} {r['deadline']:>5.1f} "
                     f"{r['ok']:>3} {r['queued']:>5} {r['extra']:>5}  {r['note']}")
    report("fault injection: status, slowest answer vs deadline, 2xx, messages, extra copies", lines)


def problem_is(a: Attempt, status: int, slug: str, retry_after: str | None) -> None:
    assert a.status == status, a
    assert a.problem == slug, a
    assert a.retry_after == retry_after, a


# ---------------------------------------------------------------------------------------------
# Transient SQS failures: the SDK's own retries absorb one; a lasting one is a 503 in time
# ---------------------------------------------------------------------------------------------

TRANSIENT = [
    ("sqs-500", lambda: Status(sqs_internal_error())),
    ("sqs-throttled", lambda: Status(sqs_throttled())),
    ("connection-reset", lambda: Reset()),
    ("no-answer", never_answers),
]


@pytest.mark.parametrize("name, fault", TRANSIENT, ids=[t[0] for t in TRANSIENT])
def test_one_transient_sqs_failure_is_retried_by_the_sdk(name, fault, scenario):
    s = scenario(f"SQS {name.removeprefix('sqs-')} once", "github" if name == "connection-reset" else "stripe")
    s.start()
    s.proxy.add("sqs", "SendMessage", fault(), times=1)
    a = s.send(s.delivery())
    assert a.status == 202, a
    assert s.calls("sqs", "SendMessage") == 2  # the failed attempt, and the SDK's retry
    copies = s.finish("SDK retried once")
    assert copies[a.reply["id"]] == 1


@pytest.mark.parametrize("name, fault", TRANSIENT, ids=[t[0] for t in TRANSIENT])
def test_a_lasting_transient_sqs_failure_is_a_503_in_time_then_the_retry_lands(name, fault, scenario):
    s = scenario(f"SQS {name.removeprefix('sqs-')} always, then cleared", "slack" if name == "sqs-throttled" else "standard")
    s.start()
    s.proxy.add("sqs", "SendMessage", fault())
    d = s.delivery()
    problem_is(s.send(d), 503, "queue-unavailable", RETRY_AFTER)
    attempts = s.calls("sqs", "SendMessage")
    assert 1 <= attempts <= 3, attempts  # bounded by the SDK's attempts and the deadline
    s.proxy.clear()
    # The sender retries; the failed request released its in-progress mark, so this one goes through.
    retry = s.send(d)
    assert retry.status == 202 and not retry.reply.get("duplicate"), retry
    copies = s.finish(f"{attempts} SendMessage attempts, then sender retry")
    assert copies == {d.id: 1}


@pytest.mark.parametrize("delay, want", [(1.0, 202)], ids=["1s"])
def test_a_slow_queue_within_the_attempt_timeout_is_only_slower(delay, want, scenario):
    s = scenario(f"SQS slow ({delay:g} s) always", "standard")
    s.start()
    s.proxy.add("sqs", "SendMessage", Delay(delay))
    a = s.send(s.delivery())
    assert a.status == want, a
    assert a.duration >= delay
    assert s.finish(f"Delay({delay:g}) on every SendMessage")[a.reply["id"]] == 1


def test_a_request_slower_than_the_sdk_attempt_timeout_may_be_stored_twice(scenario):
    """The first attempt is given up after 1.5 s and retried; the proxy still delivers the first
    one to SQS later, as a slow network would: two copies, one 202."""
    s = scenario("SQS slow (2 s) once, then forwarded", "stripe")
    s.start()
    s.proxy.add("sqs", "SendMessage", Delay(2.0), times=1)
    d = s.delivery()
    a = s.send(d)
    assert a.status == 202, a
    time.sleep(1.0)  # the late first attempt reaches moto
    copies = s.finish("first attempt timed out, reached SQS late")
    assert copies[d.id] in (1, 2)


# ---------------------------------------------------------------------------------------------
# Stored, but the answer was lost: at-least-once, never a loss
# ---------------------------------------------------------------------------------------------

AFTER_STORE = [
    ("after-store-500", lambda: AfterStore(Status(sqs_internal_error()))),
    ("after-store-reset", lambda: AfterStore(Reset())),
    ("after-store-no-answer", lambda: AfterStore(never_answers())),
]


@pytest.mark.parametrize("name, fault", AFTER_STORE, ids=[t[0] for t in AFTER_STORE])
def test_stored_once_but_answer_lost_is_retried_by_the_sdk(name, fault, scenario):
    s = scenario(f"SQS {name} once", "slack")
    s.start()
    s.proxy.add("sqs", "SendMessage", fault(), times=1)
    d = s.delivery()
    a = s.send(d)
    assert a.status == 202, a
    copies = s.finish("SDK retry stored a second copy")
    assert copies[d.id] == 2  # SQS kept both: the function cannot know the first landed


@pytest.mark.parametrize("name, fault", AFTER_STORE, ids=[t[0] for t in AFTER_STORE])
def test_stored_every_time_but_answer_lost_then_the_sender_retries(name, fault, scenario):
    s = scenario(f"SQS {name} always, then cleared", "github")
    s.start()
    s.proxy.add("sqs", "SendMessage", fault())
    d = s.delivery()
    first = s.send(d)
    problem_is(first, 503, "queue-unavailable", RETRY_AFTER)
    stored = s.calls("sqs", "SendMessage")
    s.proxy.clear()
    retry = s.send(d)  # GitHub's "redeliver": same body, same delivery id
    assert retry.status == 202 and not retry.reply.get("duplicate"), retry
    again = s.send(d)  # and once more: now recognised
    assert again.status == 202 and again.reply.get("duplicate") and again.reply["messageId"] == retry.reply["messageId"], again
    copies = s.finish(f"{stored} stored by the failed request + 1 by the retry")
    assert copies[d.id] == stored + 1


# ---------------------------------------------------------------------------------------------
# The endpoint down: at start-up, and while running
# ---------------------------------------------------------------------------------------------


def test_endpoint_down_at_start_up_then_back(scenario):
    s = scenario("endpoint down at start-up, then up", "stripe")
    s.proxy.down()
    fn = s.start()  # starts anyway, with the queue's default size limit
    assert "could not read the queue's attributes at start-up" in fn.logs()
    d = s.delivery()
    problem_is(s.send(d), 503, "queue-unavailable", RETRY_AFTER)
    s.proxy.up()
    retry = s.send(d)
    assert retry.status == 202 and not retry.reply.get("duplicate"), retry
    assert s.finish("down at start, then up") == {d.id: 1}


def test_endpoint_down_while_running_then_back(scenario):
    s = scenario("endpoint down mid-run, then up", "slack")
    s.start()
    before = s.send(s.delivery())
    assert before.status == 202, before
    s.proxy.down()
    d = s.delivery()
    problem_is(s.send(d), 503, "queue-unavailable", RETRY_AFTER)
    s.proxy.up()
    retry = s.send(d)
    assert retry.status == 202 and not retry.reply.get("duplicate"), retry
    assert s.finish("down mid-run, then up") == {before.reply["id"]: 1, d.id: 1}


# ---------------------------------------------------------------------------------------------
# Secrets Manager slow while a rotated secret is re-read
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [3.0, TIMEOUT], ids=["timeout-3s", "timeout-5s"])
def test_slow_secret_refresh_is_a_503_in_time_and_the_retry_verifies(timeout, scenario, aws):
    sm = aws("secretsmanager")
    arn = sm.create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}", SecretString="before-rotation")["ARN"]
    s = scenario(f"Secrets Manager hung during refresh ({timeout:g} s fn)", "github", env={"WEBHOOK_SECRET_ARN": arn, "WEBHOOK_SECRET": "", "SECRET_REFRESH_SECONDS": "1"})
    fn = s.start(timeout=timeout)
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"secrets": ["after-rotation", "before-rotation"]}))
    time.sleep(1.1)
    s.proxy.add("secretsmanager", "GetSecretValue", never_answers())
    d = make_delivery("github", 1)
    sign_github([d], "after-rotation")
    first = s.send(d)
    problem_is(first, 503, "verification-unavailable", RETRY_AFTER)
    s.proxy.clear()
    time.sleep(1.1)  # the refresh interval, and the background re-read gives up
    retry = s.send(d)
    assert retry.status == 202, (retry, fn.logs())
    copies = s.finish(f"function timeout {timeout:g} s")
    assert copies == {d.id: 1}
    assert [json.loads(m["Body"])["inletsecret"] for m in s.messages] == ["secretsmanager[0]"]


# ---------------------------------------------------------------------------------------------
# Permanent SQS failures: parked in the bucket (202), or 500 queue-rejected without one
# ---------------------------------------------------------------------------------------------

PERMANENT = [
    ("QueueDoesNotExist", sqs_queue_does_not_exist),
    ("AccessDenied", sqs_access_denied),
    ("KmsAccessDenied", sqs_kms_access_denied),
    ("InvalidMessageContents", sqs_invalid_message_contents),
]


@pytest.mark.parametrize("with_bucket", [True, False], ids=["bucket", "no-bucket"])
@pytest.mark.parametrize("name, error", PERMANENT, ids=[p[0] for p in PERMANENT])
def test_a_permanent_queue_failure_parks_the_event_or_is_a_500(name, error, with_bucket, scenario):
    s = scenario(f"SQS {name} ({'bucket' if with_bucket else 'no bucket'})", "standard", bucket=with_bucket)
    fn = s.start()
    s.proxy.add("sqs", "SendMessage", Status(error()))
    d = s.delivery()
    a = s.send(d)
    assert s.calls("sqs", "SendMessage") == 1  # not retried: it would fail the same way
    time.sleep(0.2)
    lines = [json.loads(line) for line in fn.logs().splitlines() if line.startswith("{")]
    alerts = [line for line in lines if line.get("alert") == "queue-rejected"]
    assert alerts and alerts[0]["level"] == "ERROR", fn.logs()
    if with_bucket:
        assert a.status == 202, a
        assert a.reply == {"id": d.id, "type": "standard.order.created", "parked": True}, a.reply
        assert alerts[0].get("outcome") == "parked"
        objects = bucket_objects(s.aws, s.bucket)
        assert list(objects) == [f"undelivered/standard/{d.id}/{d.sha256}.json"], list(objects)
        envelope = json.loads(objects[f"undelivered/standard/{d.id}/{d.sha256}.json"])
        assert (envelope["id"], envelope["source"], envelope["inletbodysha256"]) == (d.id, "standard", d.sha256)
        assert envelope["data"] == json.loads(d.body)
        # The sender's retry (it got a 202, so it would not; an operator's replay might) is a duplicate.
        s.proxy.clear()
        again = s.send(d)
        assert again.status == 202 and again.reply.get("duplicate") and again.reply.get("parked"), again
    else:
        problem_is(a, 500, "queue-rejected", None)
    copies = s.finish("parked" if with_bucket else "500, no Retry-After")
    assert not copies


def test_kms_throttling_is_transient_not_permanent(scenario):
    """SQS's KmsThrottled (query code KMS.ThrottlingException) is throttling: the next attempt
    succeeds, so it is a 503 (or the SDK's retry lands), never parked nor a 500."""
    s = scenario("SQS KmsThrottled always (bucket)", "stripe", bucket=True)
    s.start()
    s.proxy.add("sqs", "SendMessage", Status(sqs_kms_throttled()))
    d = s.delivery()
    a = s.send(d)
    s.proxy.clear()
    retry = s.send(d)
    s.finish("KMS.ThrottlingException on every SendMessage")
    problem_is(a, 503, "queue-unavailable", RETRY_AFTER)
    assert retry.status == 202 and not retry.reply.get("parked"), retry


# ---------------------------------------------------------------------------------------------
# The idempotency table failing: fail open, still enqueued
# ---------------------------------------------------------------------------------------------

DYNAMODB = [
    ("throttled", lambda: Status(dynamodb_throttled())),
    ("throttling-exception", lambda: Status(dynamodb_throttled("ThrottlingException"))),
    ("slow-3s", lambda: Delay(3.0)),
    ("no-answer", never_answers),
]


@pytest.mark.parametrize("name, fault", DYNAMODB, ids=[t[0] for t in DYNAMODB])
def test_a_failing_idempotency_table_still_enqueues(name, fault, scenario):
    s = scenario(f"DynamoDB {name} always", "slack")
    fn = s.start()
    s.proxy.add("dynamodb", "*", fault())
    d = s.delivery()
    a = s.send(d)
    assert a.status == 202 and a.reply.get("messageId"), a
    assert a.duration < 1.0 + 1.5, a  # one idempotency budget (1 s), then the queue
    time.sleep(0.2)
    assert "queueing without de-duplication" in fn.logs()
    assert s.finish("fail open")[d.id] == 1


def sleep_until_lease_ends(holder: Attempt, timeout: float = TIMEOUT) -> None:
    """An in-progress mark is held until its holder's deadline plus 2 s of grace."""
    time.sleep(max(0.0, holder.started + timeout + 2.0 + 0.3 - time.monotonic()))


def test_queued_but_not_marked_done_holds_repeats_for_the_lease_then_lets_one_through(scenario):
    s = scenario("DynamoDB UpdateItem (mark done) throttled", "stripe")
    s.start()
    s.proxy.add("dynamodb", "UpdateItem", Status(dynamodb_throttled()))
    d = s.delivery()
    first = s.send(d)
    assert first.status == 202 and not first.reply.get("duplicate"), first
    # The mark still says "in progress" and its holder is gone: a repeat waits, then is told to retry.
    repeat = s.send(d)
    assert repeat.started + TIMEOUT < first.started + TIMEOUT + 2.0, "the repeat came too late to test the lease"
    problem_is(repeat, 503, "delivery-in-progress", RETRY_AFTER)
    s.proxy.clear()
    sleep_until_lease_ends(first)
    later = s.send(d)
    assert later.status == 202 and not later.reply.get("duplicate"), later
    copies = s.finish("mark left in progress; after its lease a retry queues it again")
    assert copies[d.id] == 2  # at-least-once: the second copy is what the contract allows


def test_a_failed_delivery_whose_mark_cannot_be_released_is_retried_after_the_lease(scenario):
    """The queue refuses at once (no bucket: 500) and releasing the mark fails (throttled, at most
    the 1 s idempotency budget), so the sender's immediate retry falls inside the mark's lease (its
    holder's deadline + 2 s) for the whole of its own deadline."""
    s = scenario("SQS AccessDenied + DynamoDB DeleteItem (release) throttled", "slack")
    s.start()
    s.proxy.add("sqs", "SendMessage", Status(sqs_access_denied()))
    s.proxy.add("dynamodb", "DeleteItem", Status(dynamodb_throttled()))
    d = s.delivery()
    first = s.send(d)
    problem_is(first, 500, "queue-rejected", None)
    s.proxy.clear()  # the operator fixes the queue's policy; Stripe retries 500s
    retry = s.send(d)
    assert retry.started + TIMEOUT < first.started + TIMEOUT + 2.0, "the retry came too late to test the lease"
    problem_is(retry, 503, "delivery-in-progress", RETRY_AFTER)
    sleep_until_lease_ends(first)
    later = s.send(d)
    assert later.status == 202 and not later.reply.get("duplicate"), later
    assert s.finish("mark not released; retry after its lease")[d.id] == 1


# ---------------------------------------------------------------------------------------------
# The payload bucket failing during a claim check
# ---------------------------------------------------------------------------------------------

S3 = [
    ("s3-500", lambda: Status(s3_internal_error()), 503, "queue-unavailable", RETRY_AFTER),
    ("s3-no-answer", never_answers, 503, "queue-unavailable", RETRY_AFTER),
    ("s3-access-denied", lambda: Status(s3_access_denied()), 500, "queue-rejected", None),
]


@pytest.mark.parametrize("name, fault, status, slug, retry_after", S3, ids=[t[0] for t in S3])
def test_a_failing_bucket_during_a_claim_check(name, fault, status, slug, retry_after, scenario):
    s = scenario(f"claim check, {name} always, then cleared", "stripe", bucket=True, max_message_size=1024)
    s.start()
    s.proxy.add("s3", "PutObject", fault())
    d = s.delivery(pad=2000)
    problem_is(s.send(d), status, slug, retry_after)
    assert s.calls("sqs", "SendMessage") == 0
    s.proxy.clear()
    retry = s.send(d)
    assert retry.status == 202 and retry.reply.get("messageId"), retry
    copies = s.finish("claim check, then retry")
    assert copies == {d.id: 1}
    objects = bucket_objects(s.aws, s.bucket)
    assert list(objects) == [f"payloads/stripe/{d.id}/{d.sha256}"] and objects[f"payloads/stripe/{d.id}/{d.sha256}"] == d.body


# ---------------------------------------------------------------------------------------------
# Concurrent duplicates on two instances, the first one slowed or failing
# ---------------------------------------------------------------------------------------------


def test_a_duplicate_waits_for_its_slow_twin_and_gets_its_message_id(scenario):
    s = scenario("concurrent duplicate, twin's SQS answer 1 s late", "stripe")
    a_fn, b_fn = s.start(), s.start()
    s.proxy.add("sqs", "SendMessage", AfterStore(Delay(1.0)), times=1)
    d = s.delivery()
    twin, dup = s.send_while_twin_sends(d, a_fn, b_fn)
    assert twin.status == 202 and not twin.reply.get("duplicate"), twin
    assert dup.status == 202 and dup.reply.get("duplicate"), dup
    assert dup.reply["messageId"] == twin.reply["messageId"]
    assert dup.ended >= twin.ended - 0.2  # it waited for the twin
    assert s.finish("twin's SendMessage answered 1 s late") == {d.id: 1}


def test_a_duplicate_whose_twin_outlasts_its_deadline_is_told_to_retry(scenario):
    s = scenario("concurrent duplicate, twin hung past its deadline", "standard")
    slow, quick = s.start(timeout=10.0), s.start(timeout=3.0)
    s.proxy.add("sqs", "SendMessage", never_answers())
    d = s.delivery()
    twin, dup = s.send_while_twin_sends(d, slow, quick)
    problem_is(dup, 503, "delivery-in-progress", RETRY_AFTER)
    problem_is(twin, 503, "queue-unavailable", RETRY_AFTER)
    s.proxy.clear()
    retry = s.send(d, quick)  # the twin failed and let go of the mark
    assert retry.status == 202 and not retry.reply.get("duplicate"), retry
    assert s.finish("twin stuck on SQS past the duplicate's deadline") == {d.id: 1}


def test_a_duplicate_whose_twin_fails_goes_through(scenario):
    s = scenario("concurrent duplicate, twin fails (3x SQS 500)", "slack")
    a_fn, b_fn = s.start(), s.start()
    # The twin's SDK makes its three attempts within its 4 s operation timeout whatever its
    # backoff jitter draws (up to 1 s, then 2 s): 3 x 0.2 s + 3 s. With 0.8 s each, one run in ten
    # timed out after two, leaving the third fault to the duplicate, which then ran out of time.
    s.proxy.add("sqs", "SendMessage", Delay(0.2, then=Status(sqs_internal_error())), times=3)
    d = s.delivery()
    twin, dup = s.send_while_twin_sends(d, a_fn, b_fn)
    problem_is(twin, 503, "queue-unavailable", RETRY_AFTER)
    assert dup.status == 202 and not dup.reply.get("duplicate") and dup.reply.get("messageId"), dup
    assert dup.ended > twin.ended - 0.3  # it went through after the twin let go
    assert s.finish("twin failed 3 SDK attempts") == {d.id: 1}

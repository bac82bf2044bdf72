"""What the fault and soak tests share: unique signed deliveries for every source, a fleet of
function processes driven the way Lambda drives them (one invocation per instance at a time),
a sender that retries like the providers do, a FaultProxy action that injects faults at random
(and remembers which delivery each one hit), and the checks on what reached the queue.

Signing. Stripe, Slack and Standard Webhooks deliveries are signed when they are sent (their
signatures carry a timestamp) by the providers' Python SDKs, through `signers.sdk_signed`. GitHub
bodies are signed ahead of time, all at once, by GitHub's own @octokit/webhooks-methods in one
node process (tests/sdk/github-sign-batch.mjs): its signature has no timestamp, and one node
process per delivery would cost ~0.1 s each.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import queue
import random
import string
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Optional

from conftest import DEV_SECRETS, SOURCES
from signers import SDK_DIR, api_event, response_body, sample, sdk_signed

FORMATS = ["v2", "v1", "url"]


# ---------------------------------------------------------------------------------------------
# Deliveries
# ---------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One webhook delivery: what the provider would send, and what Inlet should make of it."""

    n: int
    source: str
    id: str  # the envelope id Inlet must give it
    body: bytes
    header_id: Optional[str] = None  # X-GitHub-Delivery / webhook-id
    signature: Optional[str] = None  # GitHub's, signed ahead of time
    fmt: str = "v2"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def key(self) -> str:
        """Inlet's idempotency key: the envelope id, or for GitHub (whose delivery id is not
        signed) the body's SHA-256."""
        return f"sha256:{self.sha256}" if self.source == "github" else self.id

    @property
    def pk(self) -> str:
        """The idempotency table's partition key."""
        return f"{self.source}#{self.key}"

    def headers(self, secret: Optional[str] = None) -> list[tuple[str, str]]:
        """The headers as the provider sends them now (fresh timestamp where there is one)."""
        secret = secret or DEV_SECRETS[self.source]
        if self.source == "github":
            assert self.signature, "sign GitHub deliveries first (sign_github)"
            return [
                ("Content-Type", "application/json"),
                ("X-GitHub-Event", "pull_request"),
                ("X-GitHub-Delivery", self.header_id),
                ("X-Hub-Signature-256", self.signature),
            ]
        return sdk_signed(self.source, secret, self.body, delivery_id=self.header_id)

    def event(self, secret: Optional[str] = None) -> dict:
        """The API Gateway / function URL event carrying this delivery, signed now."""
        return api_event(self.fmt, self.source, self.headers(secret), self.body)


def _token(rng: random.Random, n: int = 20) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


def make_delivery(source: str, n: int = 0, rng: Optional[random.Random] = None, pad: int = 0) -> Delivery:
    """A delivery for `source` whose id and body are its own (so neither its envelope id nor,
    for GitHub, its body digest collides with another's). `pad` adds that many bytes to the body."""
    rng = rng or random.Random()
    tag = _token(rng)
    obj = json.loads(sample(source))
    header_id = None
    if source == "github":
        obj["number"] = obj["pull_request"]["number"] = n
        obj["pull_request"]["id"] = 10**9 + n
        obj["pull_request"]["head"]["sha"] = hashlib.sha1(tag.encode()).hexdigest()
        header_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        id_ = header_id
    elif source == "stripe":
        id_ = obj["id"] = f"evt_{tag}"
        obj["created"] = int(time.time())
        obj["data"]["object"]["id"] = f"pi_{tag}"
    elif source == "slack":
        id_ = obj["event_id"] = f"Ev{tag}"
        obj["event_time"] = int(time.time())
    elif source == "standard":
        obj["data"]["order_id"] = f"ord_{n}_{tag}"
        header_id = id_ = f"msg_{tag}"
    else:
        raise ValueError(source)
    if pad:
        obj["padding"] = "x" * pad
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Delivery(n, source, id_, body, header_id, fmt=FORMATS[n % len(FORMATS)])


def make_deliveries(count: int, seed: int = 0) -> list[Delivery]:
    """`count` deliveries, the four sources in turn, GitHub's signed (in one batch)."""
    rng = random.Random(seed)
    out = [make_delivery(SOURCES[i % len(SOURCES)], i, rng) for i in range(count)]
    sign_github([d for d in out if d.source == "github"])
    return out


def sign_github(deliveries: list[Delivery], secret: Optional[str] = None) -> None:
    """Signs GitHub deliveries' bodies with @octokit/webhooks-methods, one node process for all."""
    if not deliveries:
        return
    lines = "".join(json.dumps(d.body.decode()) + "\n" for d in deliveries)
    out = subprocess.run(
        ["node", str(SDK_DIR / "github-sign-batch.mjs")],
        input=lines.encode(),
        capture_output=True,
        env={**os.environ, "GITHUB_SECRET": secret or DEV_SECRETS["github"]},
        cwd=SDK_DIR,
        check=True,
    )
    signatures = out.stdout.decode().split()
    assert len(signatures) == len(deliveries), out
    for d, sig in zip(deliveries, signatures):
        d.signature = sig


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One request to one function instance, and its answer."""

    delivery: int
    kind: str  # original | concurrent | later
    attempt: int  # 1 for the first try, 2.. for the sender's retries
    instance: str
    status: Optional[int]
    reply: dict = field(default_factory=dict)  # the JSON body (202 reply or problem)
    retry_after: Optional[str] = None
    duration: Optional[float] = None  # hand-out to answer, as the Runtime API measured it
    started: float = 0.0
    ended: float = 0.0
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def problem(self) -> Optional[str]:
        t = self.reply.get("type", "")
        return t.removeprefix("urn:inlet:problem:") if t.startswith("urn:inlet:problem:") else None


def _header(resp: dict, name: str) -> Optional[str]:
    for k, v in (resp.get("headers") or {}).items():
        if k.lower() == name:
            return v
    for k, v in (resp.get("multiValueHeaders") or {}).items():
        if k.lower() == name:
            return ",".join(v)
    return None


def send(fn, d: Delivery, *, kind: str = "original", attempt: int = 1, instance: str = "",
         secret: Optional[str] = None, event: Optional[dict] = None) -> Attempt:
    """Invokes `fn` once with `d` (signed now) and records the answer."""
    started = time.monotonic()
    a = Attempt(d.n, kind, attempt, instance, None, started=started)
    try:
        resp = fn.invoke(event if event is not None else d.event(secret))
    except Exception as e:  # the function died, or never answered (or the signing failed)
        a.error = f"{type(e).__name__}: {e}"[:500]
        a.ended = time.monotonic()
        return a
    a.ended = time.monotonic()
    a.duration = fn.last_duration
    a.status = resp.get("statusCode")
    a.retry_after = _header(resp, "retry-after")
    try:
        a.reply = json.loads(response_body(resp) or b"{}")
    except ValueError:
        a.reply = {"raw": response_body(resp).decode(errors="replace")[:200]}
    return a


@dataclass
class Task:
    delivery: Delivery
    kind: str
    barrier: Optional[threading.Barrier] = None
    attempt: int = 1


def plan(deliveries: list[Delivery], repeat_fraction: float, rng: random.Random) -> dict[str, list[Task]]:
    """The order each source's deliveries are sent in. `repeat_fraction` of them are sent twice:
    half of those together with the original (to another instance, started at the same moment),
    half later on (somewhere after the original in the rest of the run)."""
    by_source: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_source[d.source].append(d)
    out: dict[str, list[Task]] = {}
    for source, ds in by_source.items():
        repeated = rng.sample(range(len(ds)), k=round(len(ds) * repeat_fraction))
        together = set(repeated[: len(repeated) // 2])
        later = repeated[len(repeated) // 2 :]
        order: list[Task] = []
        position: dict[int, int] = {}
        for j, d in enumerate(ds):
            position[j] = len(order)
            if j in together:
                b = threading.Barrier(2)
                order += [Task(d, "original", b), Task(d, "concurrent", b)]
            else:
                order.append(Task(d, "original"))
        # Inserted from the back, so earlier positions stay valid.
        for j in sorted(later, key=lambda j: position[j], reverse=True):
            lo = min(len(order), position[j] + 2)
            order.insert(rng.randint(lo, len(order)), Task(ds[j], "later"))
        out[source] = order
    return out


class Fleet:
    """Several instances of each source's function, each driven by one thread: Lambda hands an
    instance one invocation at a time, and concurrency comes from several instances."""

    def __init__(self, functions: dict[str, list]):
        self.functions = functions

    def run(self, tasks: dict[str, list[Task]], retry_delays: tuple[float, ...] = (),
            progress: Optional[Callable[[int], None]] = None) -> list[Attempt]:
        """Sends every task; a non-2xx answer is retried after each of `retry_delays` in turn (the
        sender's retry policy; empty: never). Returns every attempt."""
        attempts: list[Attempt] = []
        lock = threading.Lock()
        queues = {s: queue.Queue() for s in tasks}
        outstanding = [sum(len(t) for t in tasks.values())]
        timers: list[tuple[float, int, str, Task]] = []  # (due, seq, source, task)
        timer_cv = threading.Condition()
        seq = [0]
        done = threading.Event()
        for s, ts in tasks.items():
            for t in ts:
                queues[s].put(t)
        if outstanding[0] == 0:
            return attempts

        def finish_one():
            with lock:
                outstanding[0] -= 1
                if outstanding[0] == 0:
                    done.set()
                    with timer_cv:
                        timer_cv.notify_all()

        def scheduler():
            while not done.is_set():
                with timer_cv:
                    now = time.monotonic()
                    while timers and timers[0][0] <= now:
                        _, _, s, t = heapq.heappop(timers)
                        queues[s].put(t)
                    wait = (timers[0][0] - now) if timers else 0.5
                    timer_cv.wait(timeout=min(wait, 0.5))

        def worker(source: str, index: int, fn):
            q = queues[source]
            name = f"{source}-{index}"
            while not done.is_set():
                try:
                    task = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                if task.barrier is not None and task.attempt == 1:
                    try:
                        task.barrier.wait(timeout=30)
                    except threading.BrokenBarrierError:
                        pass
                a = send(fn, task.delivery, kind=task.kind, attempt=task.attempt, instance=name)
                with lock:
                    attempts.append(a)
                    count = len(attempts)
                if progress:
                    progress(count)
                if not a.ok and task.attempt <= len(retry_delays):
                    retry = Task(task.delivery, task.kind, None, task.attempt + 1)
                    with timer_cv:
                        seq[0] += 1
                        heapq.heappush(timers, (time.monotonic() + retry_delays[task.attempt - 1], seq[0], source, retry))
                        timer_cv.notify_all()
                else:
                    finish_one()

        threads = [threading.Thread(target=scheduler, name="soak-scheduler", daemon=True)]
        for source, fns in self.functions.items():
            for i, fn in enumerate(fns):
                threads.append(threading.Thread(target=worker, args=(source, i, fn), name=f"soak-{source}-{i}", daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return attempts


# ---------------------------------------------------------------------------------------------
# Faults at random
# ---------------------------------------------------------------------------------------------


def request_key(service: str, body: bytes) -> Optional[str]:
    """Which delivery a request is for: "<source>#<envelope id>" for an SQS SendMessage (from the
    envelope in MessageBody), the partition key for a DynamoDB item request."""
    try:
        req = json.loads(body or b"{}")
        if service == "sqs":
            env = json.loads(req["MessageBody"])
            return f"{env['source']}#{env['id']}"
        if service == "dynamodb":
            item = req.get("Item") or req.get("Key") or {}
            return item["pk"]["S"]
    except (ValueError, KeyError, TypeError):
        return None
    return None


class RandomFaults:
    """A FaultProxy action: each request gets one of `choices` — (probability, name, action) —
    at random, else is forwarded untouched. During a `storm`, every request gets the storm's
    action. `hits` counts what was applied; `by_key[key]` lists the faults each delivery met (see
    `request_key`)."""

    def __init__(self, service: str, choices: list[tuple[float, str, object]], seed: int = 0):
        self.service = service
        self.choices = choices
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.hits: Counter = Counter()
        self.by_key: dict[str, list[str]] = defaultdict(list)
        self.requests = 0
        self._storm: Optional[tuple[float, str, object]] = None

    def storm(self, seconds: float, name: str, action) -> None:
        with self.lock:
            self._storm = (time.monotonic() + seconds, name, action)

    def _choose(self):
        with self.lock:
            self.requests += 1
            if self._storm and time.monotonic() < self._storm[0]:
                return self._storm[1], self._storm[2]
            roll = self.rng.random()
            for p, name, action in self.choices:
                if roll < p:
                    return name, action
                roll -= p
        return None, None

    def run(self, exchange, respond) -> None:
        name, action = self._choose()
        if action is None:
            exchange.send(respond())
            return
        key = request_key(self.service, exchange.request.body)
        with self.lock:
            self.hits[name] += 1
            self.by_key[key].append(name)
        action.run(exchange, respond)

    def __repr__(self) -> str:
        return f"RandomFaults({self.service})"


# ---------------------------------------------------------------------------------------------
# What reached the queue
# ---------------------------------------------------------------------------------------------


def drain(sqs, queue_url: str) -> list[dict]:
    """Every message in the queue, each once (received with a long visibility timeout, so none
    comes back while a large queue is being read; de-duplicated by MessageId all the same)."""
    seen: dict[str, dict] = {}
    empty = 0
    while empty < 2:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  VisibilityTimeout=43200, MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            empty += 1
            continue
        empty = 0
        for m in got:
            seen.setdefault(m["MessageId"], m)
    return list(seen.values())


def idempotency_lapses(logs) -> dict[str, set[str]]:
    """Deliveries ("source#id") the functions say they queued without the table's protection, from
    their logs: the table did not answer in time when the delivery was marked in progress (fail
    open), or when it was marked done (the next "enqueued" line of the same instance: an instance
    serves one invocation at a time). Either lets a later repeat of the delivery be queued again."""
    out: dict[str, set[str]] = defaultdict(set)
    for text in logs:
        not_marked = False
        for line in text.splitlines():
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            message = rec.get("message", "")
            if "queueing without de-duplication" in message:
                out[f"{rec.get('source')}#{rec.get('delivery_id')}"].add("table unavailable (fail open)")
            elif "could not be marked done" in message:
                not_marked = True
            elif not_marked and rec.get("outcome") in ("enqueued", "parked"):
                out[f"{rec.get('source')}#{rec.get('delivery_id')}"].add("not marked done")
                not_marked = False
    return out


class Consumer:
    """Reads and deletes the queue's messages while a soak runs, as the real consumer would, and
    keeps every one it saw (by MessageId). Needed with moto: each SQS call scans every message the
    queue holds (its visibility and delay are re-computed each time), so a queue left to fill up
    with thousands of messages slows every SendMessage and makes reading it back take minutes."""

    def __init__(self, sqs, queue_url: str):
        self.sqs, self.queue_url = sqs, queue_url
        self.seen: dict[str, dict] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-consumer", daemon=True)
        self.error: Optional[BaseException] = None

    def __enter__(self) -> "Consumer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def messages(self) -> list[dict]:
        if self.error:
            raise self.error
        return list(self.seen.values())

    def _run(self) -> None:
        empty_after_stop = 0
        try:
            while empty_after_stop < 2:
                # No long polling: moto_serial.py serves one request at a time, and a receive waiting
                # for messages would hold every other request (the functions' too) back meanwhile.
                got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                               VisibilityTimeout=43200, MessageAttributeNames=["All"]).get("Messages", [])
                for m in got:
                    self.seen.setdefault(m["MessageId"], m)
                if got:
                    self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
                elif self._stop.is_set():
                    empty_after_stop += 1
                else:
                    time.sleep(0.2)
        except BaseException as e:  # reported when the messages are asked for
            self.error = e


@dataclass
class Tally:
    """The figures of one run."""

    sent: int = 0  # deliveries
    repeats: int = 0  # deliveries sent twice (by plan)
    requests: int = 0  # invocations, retries included
    acked: int = 0  # deliveries with at least one 2xx
    answers_2xx: int = 0
    duplicates_suppressed: int = 0  # 202 "duplicate": true
    parked: int = 0
    in_queue: int = 0  # messages
    distinct_in_queue: int = 0
    extra_copies: int = 0  # messages beyond one per delivery
    lost: list = field(default_factory=list)  # acked, yet not in the queue
    unknown: list = field(default_factory=list)  # in the queue, never sent
    never_acked: list = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    max_duration: float = 0.0
    late: list = field(default_factory=list)  # answers at or after the deadline
    errors: list = field(default_factory=list)  # invocations that got no answer at all
    wrong_message_id: list = field(default_factory=list)
    wrong_body: list = field(default_factory=list)
    # "source#id" -> (copies, distinct envelopes) for ids queued more than once. Copies of one
    # envelope (byte for byte: same inletreceivedat) come from one invocation whose SendMessage was
    # stored more than once (an attempt's answer lost, the SDK retried); distinct envelopes come from
    # separate invocations that were both queued (idempotency did not hold them back).
    duplicated: dict = field(default_factory=dict)
    resent_copies: int = 0  # extra copies of the same envelope
    requeued_copies: int = 0  # extra envelopes from further invocations
    duplicated_bodies: dict = field(default_factory=dict)  # GitHub body sha256 -> copies (>1)
    concurrent_overlapping: int = 0  # concurrent repeats whose request overlapped the original's


def tally(deliveries: list[Delivery], attempts: list[Attempt], messages: list[dict], timeout: float,
          repeats: int = 0) -> Tally:
    t = Tally(sent=len(deliveries), repeats=repeats, requests=len(attempts))
    by_n = {d.n: d for d in deliveries}
    by_ref = {f"{d.source}#{d.id}": d for d in deliveries}
    copies: Counter = Counter()
    bodies: dict[str, set] = defaultdict(set)
    message_ids: dict[str, set] = defaultdict(set)
    github_shas: Counter = Counter()
    for m in messages:
        env = json.loads(m["Body"])
        ref = f"{env['source']}#{env['id']}"
        copies[ref] += 1
        bodies[ref].add(m["Body"])
        message_ids[ref].add(m["MessageId"])
        d = by_ref.get(ref)
        if d is None:
            t.unknown.append(ref)
        elif env.get("inletbodysha256") != d.sha256:
            t.wrong_body.append(ref)
        if env["source"] == "github":
            github_shas[env.get("inletbodysha256")] += 1
    t.in_queue = len(messages)
    t.distinct_in_queue = len(copies)
    t.extra_copies = sum(c - 1 for c in copies.values())
    t.duplicated = {k: (c, len(bodies[k])) for k, c in copies.items() if c > 1}
    t.resent_copies = sum(c - n for c, n in t.duplicated.values())
    t.requeued_copies = sum(n - 1 for c, n in t.duplicated.values())
    # For GitHub the key is the body: the same body twice is a duplicate whatever the ids say.
    t.duplicated_bodies = {sha: c for sha, c in github_shas.items() if c > 1}
    acked = set()
    first_ok: dict[int, Attempt] = {}
    for a in sorted(attempts, key=lambda a: a.ended):
        t.statuses[(a.status, a.problem)] += 1
        if a.duration is not None:
            t.max_duration = max(t.max_duration, a.duration)
            if a.duration >= timeout:
                t.late.append((a.delivery, a.status, round(a.duration, 3)))
        if a.error:
            t.errors.append((a.delivery, a.error))
        if not a.ok:
            continue
        t.answers_2xx += 1
        acked.add(a.delivery)
        d = by_n[a.delivery]
        ref = f"{d.source}#{d.id}"
        if a.reply.get("duplicate"):
            t.duplicates_suppressed += 1
        if a.reply.get("parked"):
            t.parked += 1
        elif a.reply.get("messageId") not in message_ids.get(ref, set()):
            t.wrong_message_id.append((ref, a.reply))
        if a.reply.get("id") != d.id:
            t.wrong_message_id.append((ref, a.reply))
        first_ok.setdefault(a.delivery, a)
    t.acked = len(acked)
    t.lost = sorted(f"{by_n[n].source}#{by_n[n].id}" for n in acked if copies[f"{by_n[n].source}#{by_n[n].id}"] == 0
                    and not first_ok[n].reply.get("parked"))
    t.never_acked = sorted(d.n for d in deliveries if d.n not in acked)
    # Did "concurrent" repeats really run alongside their originals?
    spans: dict[tuple[int, str], Attempt] = {}
    for a in attempts:
        if a.attempt == 1:
            spans[(a.delivery, a.kind)] = a
    for (n, kind), a in spans.items():
        if kind == "concurrent" and (n, "original") in spans:
            o = spans[(n, "original")]
            if a.started < o.ended and o.started < a.ended:
                t.concurrent_overlapping += 1
    return t

"""Soak: thousands of signed deliveries across the four sources, 10 % of them sent twice (half
together with the original on another instance, half later on), through several instances of
each function at once (Lambda runs one invocation per instance; concurrency comes from more
instances), with idempotency on (one table). Then the same with faults injected at random between
the functions and AWS, and a sender that retries every non-2xx a bounded number of times.

Checks: every delivery answered 2xx is in the queue; every answer left before its deadline; no
delivery is queued by two invocations unless the function logged that the table failed it (fail
open) — without faults that means none — and with faults, only deliveries that met a fault which
can duplicate (SQS stored a message whose answer was lost, or the idempotency table failed). The
queue is read while the soak runs (soak.Consumer: moto slows down with every message it holds).
Figures are printed at the end of the run.

Size: INLET_SOAK_DELIVERIES (default 2000, what the test command runs on CI; infra/scripts/soak runs
10,000), INLET_SOAK_INSTANCES per source (default 2), INLET_SOAK_SEED. Signing: the providers' Python
SDKs for Stripe, Slack and Standard Webhooks at send time; GitHub's octokit in one batch (soak.py).
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections import Counter

import pytest

from conftest import DEV_SECRETS, SOURCES, report
from faultproxy import AfterStore, Reset, Status, dynamodb_throttled, sqs_internal_error, sqs_throttled
from soak import Consumer, Fleet, RandomFaults, idempotency_lapses, make_deliveries, plan, tally

# Under pytest-xdist (infra/scripts/test) both soaks run on one worker, one after the other: two at
# once on a 2-core machine would slow each function's answers towards its deadline.
pytestmark = pytest.mark.xdist_group("soak")

DELIVERIES = int(os.environ.get("INLET_SOAK_DELIVERIES", "2000"))
INSTANCES = int(os.environ.get("INLET_SOAK_INSTANCES", "2"))
SEED = int(os.environ.get("INLET_SOAK_SEED", "20261122"))
REPEAT_FRACTION = 0.10
TIMEOUT = 5.0
# The sender's retries after a non-2xx answer (as Stripe retries; bounded here).
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)

# Faults per request, as (probability, name, action).
SQS_FAULTS = [
    (0.03, "500", Status(sqs_internal_error())),
    (0.01, "throttled", Status(sqs_throttled())),
    (0.01, "reset", Reset()),
    (0.01, "after-store 500", AfterStore(Status(sqs_internal_error()))),
    (0.005, "after-store reset", AfterStore(Reset())),
]
DYNAMODB_FAULTS = [
    (0.02, "throttled", Status(dynamodb_throttled())),
]
# Faults after which SQS may hold a copy the function never heard about.
DUPLICATING = {"after-store 500", "after-store reset"}


def progress_printer(total: int, label: str):
    if not os.environ.get("INLET_SOAK_PROGRESS"):
        return None
    t0 = time.monotonic()

    def show(count: int) -> None:
        if count % 500 == 0:
            rate = count / (time.monotonic() - t0)
            print(f"  {label}: {count} requests ({total} deliveries planned), {rate:.0f}/s", file=sys.stderr, flush=True)

    return show


def start_fleet(start_function, env: dict[str, str]) -> Fleet:
    fns = {
        s: [start_function(s, {**env, "WEBHOOK_SECRET": DEV_SECRETS[s]}, timeout=TIMEOUT) for _ in range(INSTANCES)]
        for s in SOURCES
    }
    for group in fns.values():
        for fn in group:
            fn.wait_started()
    return Fleet(fns)


def all_logs(fleet: Fleet) -> list[str]:
    return [fn.logs() for group in fleet.functions.values() for fn in group]


def log_lines(fleet: Fleet, needles) -> list[str]:
    """The functions' log lines that mention any of `needles`, each with its instance."""
    out = []
    for source, group in fleet.functions.items():
        for i, fn in enumerate(group):
            for line in fn.logs().splitlines():
                if any(n in line for n in needles):
                    out.append(f"{source}-{i}: {line[:400]}")
    return out


def figures(title: str, t, wall: float, extra: list[str]) -> None:
    lines = [
        f"deliveries sent          {t.sent}  ({t.repeats} of them twice: {t.concurrent_overlapping} overlapping their original)",
        f"requests                 {t.requests}",
        f"deliveries answered 2xx  {t.acked}   (2xx answers: {t.answers_2xx})",
        f"duplicates suppressed    {t.duplicates_suppressed}  (202 \"duplicate\": true)",
        f"messages in the queue    {t.in_queue}  ({t.distinct_in_queue} distinct envelope ids, {t.extra_copies} extra copies)",
        f"2xx lost                 {len(t.lost)}",
        f"never answered 2xx       {len(t.never_acked)}",
        f"slowest answer           {t.max_duration:.2f} s (deadline {TIMEOUT:g} s; {len(t.late)} late)",
        f"statuses                 " + ", ".join(f"{s}{' ' + p if p else ''}: {c}" for (s, p), c in sorted(t.statuses.items(), key=str)),
        f"wall time                {wall:.1f} s  ({t.sent / wall:.1f} deliveries/s, {t.requests / wall:.1f} requests/s)",
        f"instances                {INSTANCES} per source ({INSTANCES * len(SOURCES)} function processes)",
        *extra,
    ]
    report(title, lines)
    out = os.environ.get("INLET_SOAK_REPORT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"title": title, "wall": wall, "lines": lines}) + "\n")


def duplicate_lines(t, lapses) -> list[str]:
    fail_open = sum(1 for v in lapses.values() if "table unavailable (fail open)" in v)
    not_done = sum(1 for v in lapses.values() if "not marked done" in v)
    return [
        f"table too slow (>1 s)    {fail_open} deliveries queued without de-duplication, {not_done} not marked done",
        f"extra copies             {t.extra_copies}: {t.requeued_copies} from a further invocation, "
        f"{t.resent_copies} resent by the SDK in the same invocation",
    ]


def test_soak_every_acknowledged_delivery_is_queued_once(start_function, new_queue, new_table, aws):
    deliveries = make_deliveries(DELIVERIES, SEED)
    tasks = plan(deliveries, REPEAT_FRACTION, random.Random(SEED))
    repeats = sum(1 for ts in tasks.values() for t in ts if t.kind != "original")
    queue_url = new_queue()
    fleet = start_fleet(start_function, {"QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": new_table()})

    with Consumer(aws("sqs"), queue_url) as consumer:
        t0 = time.monotonic()
        attempts = fleet.run(tasks, progress=progress_printer(len(deliveries), "soak"))
        wall = time.monotonic() - t0
    messages = consumer.messages
    t = tally(deliveries, attempts, messages, TIMEOUT, repeats)
    lapses = idempotency_lapses(all_logs(fleet))
    figures(f"soak: {len(deliveries)} deliveries, no faults", t, wall, duplicate_lines(t, lapses))

    assert not t.errors, t.errors[:5]
    assert not t.late, t.late[:5]
    assert not t.lost, t.lost[:5]
    assert not t.unknown and not t.wrong_body and not t.wrong_message_id, (t.unknown[:3], t.wrong_body[:3], t.wrong_message_id[:3])
    # No delivery is queued twice by two invocations, unless the function said it had to go on
    # without the table for it (the contract's fail-open when the table takes over 1 s: on a
    # saturated machine moto can). The SDK resending one invocation's message is transport-level
    # at-least-once, counted above.
    requeued = {r: v for r, v in t.duplicated.items() if v[1] > 1}
    unexplained = [r for r in requeued if r not in lapses]
    assert not unexplained, (f"queued by two invocations, the table never failed: {unexplained[:5]}\n"
                             + "\n".join(log_lines(fleet, [r.split("#", 1)[1] for r in unexplained[:3]])))
    # GitHub's key is the body: a body queued twice must be one of the ids above.
    github_twice = {r for r in t.duplicated if r.startswith("github#")}
    assert len(t.duplicated_bodies) == len(github_twice), (t.duplicated_bodies, github_twice)
    # Without faults every delivery is accepted, and repeats are recognised.
    assert t.acked == t.sent, (t.statuses, t.never_acked[:5])
    assert t.duplicates_suppressed + t.requeued_copies >= repeats - sum(
        c for (s, _), c in t.statuses.items() if s != 202), t.statuses
    assert t.duplicates_suppressed >= repeats // 2, "the table hardly ever answered in time"
    assert t.distinct_in_queue == t.sent


def test_soak_with_random_faults_loses_no_acknowledged_delivery(start_function, new_queue, new_table, aws, fault_proxy):
    deliveries = make_deliveries(DELIVERIES, SEED + 1)
    rng = random.Random(SEED + 1)
    tasks = plan(deliveries, REPEAT_FRACTION, rng)
    repeats = sum(1 for ts in tasks.values() for t in ts if t.kind != "original")
    sqs_faults = RandomFaults("sqs", SQS_FAULTS, seed=SEED)
    ddb_faults = RandomFaults("dynamodb", DYNAMODB_FAULTS, seed=SEED + 2)
    fault_proxy.add("sqs", "SendMessage", sqs_faults)
    fault_proxy.add("dynamodb", "*", ddb_faults)
    queue_url = new_queue()
    fleet = start_fleet(start_function, {"QUEUE_URL": queue_url, "IDEMPOTENCY_TABLE": new_table(),
                                         "AWS_ENDPOINT_URL": fault_proxy.url})

    # Now and then SQS fails every request for a few seconds (before storing): the SDK's retries
    # cannot ride that out, so the sender's retries are exercised too.
    storms = Counter()
    stop = threading.Event()

    def storm_maker():
        r = random.Random(SEED + 3)
        while not stop.wait(r.uniform(8, 20)):
            seconds = r.uniform(1.5, 4.0)
            sqs_faults.storm(seconds, "storm 500", Status(sqs_internal_error()))
            storms["storms"] += 1
            storms["storm seconds"] += seconds

    stormer = threading.Thread(target=storm_maker, daemon=True)
    stormer.start()
    with Consumer(aws("sqs"), queue_url) as consumer:
        t0 = time.monotonic()
        try:
            attempts = fleet.run(tasks, retry_delays=RETRY_DELAYS, progress=progress_printer(len(deliveries), "soak+faults"))
        finally:
            stop.set()
        wall = time.monotonic() - t0
        fault_proxy.clear()
    messages = consumer.messages
    t = tally(deliveries, attempts, messages, TIMEOUT, repeats)

    # What each delivery queued more than once met.
    lapses = idempotency_lapses(all_logs(fleet))
    by_ref = {f"{d.source}#{d.id}": d for d in deliveries}
    causes, unexplained = Counter(), []
    for ref, (copies, envelopes) in t.duplicated.items():
        after_store = set(sqs_faults.by_key.get(ref, [])) & DUPLICATING
        table = ddb_faults.by_key.get(by_ref[ref].pk) if ref in by_ref else None
        if copies > envelopes:  # one invocation's message stored more than once
            causes["resent: after-store fault" if after_store else "resent: SDK retry of a slow answer"] += copies - envelopes
        if envelopes > 1:  # further invocations queued it again
            if after_store:
                causes["requeued: after-store fault, 503, sender retry"] += envelopes - 1
            elif table or ref in lapses:
                causes["requeued: idempotency table fault or too slow"] += envelopes - 1
            else:
                unexplained.append((ref, copies, envelopes, sqs_faults.by_key.get(ref), table))
    final = Counter()
    for a in attempts:
        if not a.ok and a.attempt == len(RETRY_DELAYS) + 1:
            final[(a.status, a.problem)] += 1
    figures(f"soak: {len(deliveries)} deliveries, random faults, sender retries {len(RETRY_DELAYS)}x", t, wall, [
        f"SQS requests / faults    {sqs_faults.requests} / " + ", ".join(f"{k}: {v}" for k, v in sorted(sqs_faults.hits.items())),
        f"storms                   {storms['storms']} ({storms['storm seconds']:.0f} s of SendMessage 500s)",
        f"DynamoDB requests/faults {ddb_faults.requests} / " + ", ".join(f"{k}: {v}" for k, v in sorted(ddb_faults.hits.items())),
        f"sender retries           {sum(1 for a in attempts if a.attempt > 1)}",
        *duplicate_lines(t, lapses),
        f"extra copies, by cause   " + (", ".join(f"{k}: {v}" for k, v in sorted(causes.items())) or "none"),
        f"unexplained requeues     {len(unexplained)}",
        f"last answers of deliveries never acknowledged: {dict(final) or 'none'}",
    ])

    assert not t.errors, t.errors[:5]
    assert not t.late, t.late[:5]
    assert not t.lost, t.lost[:5]
    assert not t.unknown and not t.wrong_body and not t.wrong_message_id, (t.unknown[:3], t.wrong_body[:3], t.wrong_message_id[:3])
    assert not unexplained, (f"queued again by a further invocation, no fault explains it: {unexplained[:5]}\n"
                             + "\n".join(log_lines(fleet, [u[0].split("#", 1)[1] for u in unexplained[:3]])))
    # Valid deliveries are only ever told to retry (503), never refused.
    assert {s for (s, _p) in t.statuses} <= {202, 503}, t.statuses
    assert sqs_faults.hits and ddb_faults.hits  # the faults did happen

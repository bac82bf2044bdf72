"""Outbound soak: `inlet serve` delivers thousands of published events to three endpoints whose
receivers fail a seeded-random 20 % of requests (500, 503, 429 without Retry-After, a TCP reset,
a hang past the attempt timeout) and answer 204 otherwise. Every request is verified by the
subscribers' own SDKs (standardwebhooks and svix, receivers.py).

Checks, once the store has nothing pending:
- every (event, endpoint) pair got at least one request that both SDKs verified and that was
  answered 2xx, and `inlet deliveries list --state delivered` has exactly one row per pair;
  nothing is pending or parked: 0 lost;
- a duplicate is a pair answered 2xx more than once; each is explained from the attempt log and
  the server's log (the only cause allowed is a lease that ran out while its attempt was in
  flight, which cannot happen here: the lease is 120 s, an attempt at most 1 s), so 0 is asserted;
- every request answered with a failure is followed by a later request for the same pair, and
  the last request of every pair is the 2xx one;
- the attempts the store counted (each delivered task's attempt number, summed) equal the
  requests the receivers saw, and on a sample of pairs (`inlet deliveries show`, half of them
  pairs that met a failure) the attempt log matches the receiver's requests one to one: the same
  number, in order, each with the status or failure class the receiver gave it.

Events are published the only way there is locally, `inlet publish` (one process each, from a
thread pool, while the worker delivers). Figures are printed at the end of the run.

Size: INLET_OUTBOUND_SOAK_EVENTS (default 2000, what the test command runs: about 47 s here on
2 cores; infra/scripts/soak-outbound runs 10,000 in about 4 minutes), INLET_OUTBOUND_SOAK_SEED,
INLET_OUTBOUND_SOAK_PUBLISHERS (parallel `inlet publish` processes, default 4),
INLET_OUTBOUND_SOAK_SHOW (pairs checked with `inlet deliveries show`, default 200),
INLET_OUTBOUND_SOAK_PROGRESS=1 (progress on stderr), INLET_OUTBOUND_SOAK_REPORT (append the
figures to this file as a JSON line).
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import report
from receivers import Answer, Hang, Receiver, Received, Reset
from test_outbound_local import LOOPBACK, Outbound, parse

# Under pytest-xdist (infra/scripts/test) on the worker that runs test_soak.py's, one after the other.
pytestmark = pytest.mark.xdist_group("soak")

EVENTS = int(os.environ.get("INLET_OUTBOUND_SOAK_EVENTS", "2000"))
SEED = int(os.environ.get("INLET_OUTBOUND_SOAK_SEED", "20261206"))
PUBLISHERS = int(os.environ.get("INLET_OUTBOUND_SOAK_PUBLISHERS", "4"))
SHOW_SAMPLE = int(os.environ.get("INLET_OUTBOUND_SOAK_SHOW", "200"))
PROGRESS = bool(os.environ.get("INLET_OUTBOUND_SOAK_PROGRESS"))
ENDPOINTS = 3
FAILURE_RATE = 0.20
TIME_SCALE = 10
SCHEDULE_STEPS = 12  # 13 attempts: a pair fails them all with probability 0.2^13, about 1e-9
HANG_SECONDS = 1.5  # past the 1 s attempt timeout: the sender gives up first
LEASE_SECONDS = 120  # the worker's lease on a task (shared/src/outbound/worker.rs), not time-scaled
STALL = LEASE_SECONDS + 30  # how long without progress before the soak gives up

# Each failure as (name, what the receiver does, what the attempt log must say: status, class).
FAULTS = [
    ("500", Answer(500), (500, "http")),
    ("503", Answer(503), (503, "http")),
    ("429", Answer(429), (429, "http")),  # no Retry-After: the schedule decides
    ("reset", Reset(), (None, "reset")),
    ("hang", Hang(HANG_SECONDS), (None, "timeout")),
]
OK = ("204", Answer(204), (204, "http"))
LOGGED_AS = {name: logged for name, _, logged in [*FAULTS, OK]}

SERVE_ENV = {
    **LOOPBACK,
    "INLET_OUTBOUND_TIMEOUT_SECONDS": "1",
    # Twelve 1 s steps, a tenth as long under --time-scale 10: a retry comes ~0.1 s (±20 %) later.
    "INLET_OUTBOUND_SCHEDULE": ",".join(["1s"] * SCHEDULE_STEPS),
    # The circuit is kept out of the way on purpose: at 20 % random failures, five in a row (the
    # default threshold) happen every few thousand requests, and each opening would hold the
    # endpoint's deliveries for a cool-down. That is the circuit doing its job (test_outbound_local
    # tests it), but here it would make the soak measure cool-downs instead of retries; 1000 (the
    # highest allowed) never opens at this failure rate.
    "INLET_OUTBOUND_CIRCUIT_THRESHOLD": "1000",
}


def log(message: str) -> None:
    if PROGRESS:
        print(f"  outbound soak: {message}", file=sys.stderr, flush=True)


class Faults:
    """A receiver's behaviour: a seeded-random FAILURE_RATE of requests fail, each with one of
    FAULTS; the rest get 204. Request n of receiver `index` always gets the same answer."""

    def __init__(self, index: int):
        self.index = index

    def __call__(self, n: int, request: Received):
        rng = random.Random(f"{SEED}/{self.index}/{n}")
        name, action, _ = rng.choice(FAULTS) if rng.random() < FAILURE_RATE else OK
        request.fault = name  # read back below: what this request was answered
        return action


def answered(r: Received) -> str:
    return getattr(r, "fault", "?")


def answered_late(r: Received, attempt: dict) -> bool:
    """Whether the receiver carried out its answer to `r` only after the deadline of the attempt
    that sent it (its start plus the attempt timeout, less 50 ms for the clocks): on a busy
    machine (the receiver checks both SDKs' signatures before it answers) the sender has then
    given up, and a timeout is what it saw."""
    timeout = float(SERVE_ENV["INLET_OUTBOUND_TIMEOUT_SECONDS"])
    return r.finished is None or r.finished >= parse(attempt["at"]) + timeout - 0.05


def both_verified(r: Received) -> bool:
    return r.verified("standardwebhooks") and r.verified("svix")


def event_id(i: int) -> str:
    return f"evt_soak_{i:05d}"


def test_outbound_soak_every_pair_delivered_and_verified_none_lost_none_duplicated(tmp_path):
    home = tmp_path / "serve"
    home.mkdir()
    o = Outbound(home, SERVE_ENV, TIME_SCALE)
    receivers = [Receiver().start() for _ in range(ENDPOINTS)]
    try:
        run(o, receivers)
    finally:
        for rx in receivers:
            rx.stop()
        o.stop()


def run(o: Outbound, receivers: list[Receiver]) -> None:
    endpoints: list[str] = []
    for i, rx in enumerate(receivers):
        ep = o.add(rx.url, "--description", f"soak receiver {i}")
        rx.secrets = [ep["secret"]]
        rx.behave(Faults(i))
        endpoints.append(ep["id"])
    by_endpoint = dict(zip(endpoints, receivers))
    events = [event_id(i) for i in range(EVENTS)]
    pairs = {(ep, ev) for ep in endpoints for ev in events}

    # Publish while the worker delivers: a thread pool of `inlet publish` processes.
    t0, t0_wall = time.monotonic(), time.time()

    def publish(i: int) -> None:
        out = o.publish("soak.item", {"n": i, "pad": "x" * 64}, "--id", event_id(i))
        assert sorted(out["endpoints"]) == sorted(endpoints), out

    with ThreadPoolExecutor(PUBLISHERS) as pool:
        for k, _ in enumerate(pool.map(publish, range(EVENTS)), 1):
            if k % 1000 == 0:
                log(f"published {k} of {EVENTS} ({k / (time.monotonic() - t0):.0f}/s); "
                    f"{sum(len(rx.requests) for rx in receivers)} requests so far")
    publish_wall = time.monotonic() - t0
    log(f"published {EVENTS} events in {publish_wall:.1f} s")

    # Wait for every pair to be answered 2xx, then for the store to hold nothing pending.
    delivered_at: dict[tuple[str, str], float] = {}
    read = {ep: 0 for ep in endpoints}  # requests looked at so far, per receiver
    last_count, last_change = -1, time.monotonic()
    last_log = time.monotonic()
    while len(delivered_at) < len(pairs):
        for ep, rx in by_endpoint.items():
            got = rx.requests[read[ep]:]  # one slice of a list only appended to: atomic
            read[ep] += len(got)
            for r in got:
                if answered(r) == "204" and both_verified(r):
                    delivered_at.setdefault((ep, r.header("webhook-id")), r.at)
        count = sum(len(rx.requests) for rx in receivers)
        now = time.monotonic()
        if count != last_count:
            last_count, last_change = count, now
        if now - last_log > 10:
            log(f"{len(delivered_at)} of {len(pairs)} pairs delivered, {count} requests, "
                f"{now - t0:.0f} s")
            last_log = now
        # Stalled: no request while pairs are missing, for longer than a lease (a task whose
        # settle failed is handed out again when its 120 s lease runs out; retries come ~0.1 s).
        assert now - last_change < STALL, (
            f"no request for {STALL} s; {len(pairs) - len(delivered_at)} pairs never delivered, e.g. "
            f"{sorted(pairs - set(delivered_at))[:5]}\n{o.logs()[-3000:]}")
        time.sleep(0.2)
    wall = max(delivered_at.values()) - t0_wall
    # A pair answered 2xx whose task is still pending would be sent again once its lease ran
    # out: wait that long, so such a duplicate is seen and explained below rather than missed.
    deadline = time.monotonic() + STALL
    while o.cli("deliveries", "list", "--state", "pending", "--limit", "0"):
        assert time.monotonic() < deadline, f"deliveries still pending {STALL} s after the last pair was answered 2xx"
        time.sleep(0.5)
    time.sleep(1.0)  # anything still on its way arrives now, and is counted
    log(f"every pair delivered; checking ({time.monotonic() - t0:.0f} s in)")

    # What the receivers saw, per pair, in the order the requests arrived.
    seen: dict[tuple[str, str], list[Received]] = defaultdict(list)
    unverified, unknown = [], []
    for ep, rx in by_endpoint.items():
        got = list(rx.requests)
        assert rx.trapped == []
        for r in got:
            key = (ep, r.header("webhook-id"))
            if key not in pairs:
                unknown.append((key, r.action))
                continue
            if not both_verified(r):
                unverified.append((key, r.verdicts))
            seen[key].append(r)
    for rs in seen.values():
        rs.sort(key=lambda r: r.at)
    requests = sum(len(rs) for rs in seen.values())
    injected = Counter(answered(r) for rs in seen.values() for r in rs if answered(r) != "204")

    # The store's word: one delivered row per pair, nothing pending or parked.
    listed = o.cli("deliveries", "list", "--state", "delivered", "--limit", "0")
    delivered_rows = {(d["endpoint"], d["event"]): d for d in listed}
    pending = o.cli("deliveries", "list", "--state", "pending", "--limit", "0")
    parked = o.cli("deliveries", "list", "--state", "parked", "--limit", "0")
    counted_attempts = sum(d["attempt"] for d in listed)
    # Pairs whose attempt count in the store is not the number of requests their receiver saw.
    miscounted = sorted(p for p, d in delivered_rows.items() if d["attempt"] != len(seen.get(p, [])))

    # Lost: a pair never answered 2xx with both SDKs' approval, or not delivered in the store.
    lost = sorted(p for p in pairs if not any(answered(r) == "204" and both_verified(r) for r in seen.get(p, [])))
    not_in_store = sorted(pairs - set(delivered_rows))
    # Duplicates: a pair answered 2xx more than once.
    duplicates = {p: rs for p, rs in seen.items() if sum(1 for r in rs if answered(r) == "204") > 1}
    # A failure must be followed by another request for the same pair; the 2xx is the last.
    unretried = [(p, [answered(r) for r in rs]) for p, rs in seen.items() if answered(rs[-1]) != "204"]
    retries = requests - len(seen)
    attempts_per_pair = Counter(len(rs) for rs in seen.values())

    # The attempt log, pair by pair, on a sample: half of it pairs that met a failure.
    rng = random.Random(SEED)
    failed_pairs = sorted(p for p, rs in seen.items() if len(rs) > 1)
    clean_pairs = sorted(p for p, rs in seen.items() if len(rs) == 1)
    sample = (rng.sample(failed_pairs, min(len(failed_pairs), SHOW_SAMPLE // 2))
              + rng.sample(clean_pairs, min(len(clean_pairs), SHOW_SAMPLE - SHOW_SAMPLE // 2)))
    sample += [p for p in [*duplicates, *miscounted] if p not in sample]
    with ThreadPoolExecutor(PUBLISHERS) as pool:
        shown = dict(zip(sample, pool.map(lambda p: o.show(*p), sample)))
    mismatched = []
    for p, d in shown.items():
        logged = [(a["status"], a["class"]) for a in d["attempts"]]
        expected = [LOGGED_AS[answered(r)] for r in seen[p]]
        # Each as the receiver answered it, or a timeout where that answer came after the deadline.
        matches = len(logged) == len(expected) and all(
            got == want or (got == LOGGED_AS["hang"] and answered_late(r, a))
            for got, want, r, a in zip(logged, expected, seen[p], d["attempts"]))
        numbers = [a["number"] for a in d["attempts"]] if d["attempts"] and "number" in d["attempts"][0] else None
        if not matches or d["state"] != "delivered" or (numbers and numbers != list(range(1, len(numbers) + 1))):
            mismatched.append((p, d["state"], logged, expected, numbers))

    # Each duplicate, explained (or not) from the attempt log and the server's log.
    server_log = re.sub(r"\x1b\[[0-9;]*m", "", o.logs())
    unsettled = set(re.findall(r"task=(\S+).*could not be settled", server_log))
    explained, unexplained = [], []
    for p, rs in duplicates.items():
        d = shown[p]
        oks = [i for i, r in enumerate(rs) if answered(r) == "204"]
        logged = [(a["status"], a["class"]) for a in d["attempts"]]
        why = {
            "requests": [(answered(r), round(r.at, 3)) for r in rs],
            "attempt log": [(a.get("number"), a["at"], a["status"], a["class"], a["latency_ms"])
                            for a in d["attempts"]],
            "settle failed in the server's log": f"{p[0]}/{p[1]}" in unsettled,
        }
        # A lease that ran out mid-attempt: the task was handed out again while its first attempt
        # was in flight, so the log holds two attempts with the same number.
        numbers = [a.get("number") for a in d["attempts"]]
        if len(numbers) != len(set(numbers)):
            explained.append((p, "lease ran out while its attempt was in flight: two attempts numbered alike", why))
        elif why["settle failed in the server's log"]:
            explained.append((p, "the attempt's settle failed, so it was sent again when its lease ran out", why))
        elif any(i < len(logged) and logged[i] != LOGGED_AS["204"] for i in oks):
            # Not an allowed cause: the receiver answered 204 but the attempt was logged as a
            # failure (an answer that came after the timeout, say), so it was sent again.
            unexplained.append((p, "answered 2xx, logged as a failure, retried", why))
        else:
            unexplained.append((p, f"2xx-answered requests {oks}, attempt log {logged}", why))

    figures = {
        "events": EVENTS,
        "endpoints": ENDPOINTS,
        "pairs": len(pairs),
        "requests": requests,
        "failures injected": sum(injected.values()),
        "failures by kind": dict(sorted(injected.items())),
        "retries": retries,
        "attempts per pair": dict(sorted(attempts_per_pair.items())),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "attempts counted by the store": counted_attempts,
        "attempt log checked on": len(shown),
        "publish wall s": round(publish_wall, 1),
        "wall s": round(wall, 1),
        "deliveries per s": round(len(pairs) / wall, 1),
        "requests per s": round(requests / wall, 1),
    }
    lines = [
        f"events                   {EVENTS} x {ENDPOINTS} endpoints = {len(pairs)} pairs",
        f"requests                 {requests}  ({retries} retries; attempts per pair: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(attempts_per_pair.items())) + ")",
        f"failures injected        {sum(injected.values())} ({sum(injected.values()) / max(requests, 1):.1%}): "
        + ", ".join(f"{k}: {v}" for k, v in sorted(injected.items())),
        f"delivered (store)        {len(delivered_rows)}; pending {len(pending)}, parked {len(parked)}",
        f"lost                     {len(lost)} (never answered 2xx with both SDKs' approval), "
        f"{len(not_in_store)} not delivered in the store",
        f"duplicates               {len(duplicates)} ({len(explained)} explained, {len(unexplained)} not)",
        f"attempts                 {counted_attempts} counted by the store, {requests} requests received; "
        f"attempt log = requests on {len(shown) - len(mismatched)} of {len(shown)} pairs shown",
        f"unverified requests      {len(unverified)}",
        f"publishing               {publish_wall:.1f} s ({EVENTS / publish_wall:.0f} events/s, {PUBLISHERS} processes)",
        f"wall time                {wall:.1f} s to the last pair answered 2xx "
        f"({len(pairs) / wall:.1f} deliveries/s, {requests / wall:.1f} requests/s)",
    ]
    report(f"outbound soak: {EVENTS} events x {ENDPOINTS} endpoints, {FAILURE_RATE:.0%} failing", lines)
    print("\n" + "\n".join(lines))
    out = os.environ.get("INLET_OUTBOUND_SOAK_REPORT")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps({"title": "outbound soak", "seed": SEED, **figures}) + "\n")

    assert not unknown, unknown[:5]
    assert not unverified, unverified[:5]
    assert not lost, f"{len(lost)} pairs never answered 2xx: {lost[:5]}"
    assert not not_in_store, f"{len(not_in_store)} pairs not delivered in the store: {not_in_store[:5]}"
    assert len(listed) == len(pairs), f"{len(listed)} delivered rows for {len(pairs)} pairs"
    assert pending == [] and parked == [], (pending[:5], parked[:5])
    assert not unretried, f"a failure never retried: {unretried[:5]}"
    assert counted_attempts == requests and not miscounted, (
        f"the store counted {counted_attempts} attempts, the receivers saw {requests}; pairs whose counts differ:\n"
        + "\n".join(json.dumps({"pair": p, "requests": [(answered(r), r.at, r.finished) for r in seen.get(p, [])],
                                 "store": shown[p]}, default=str) for p in miscounted[:5]))
    assert not mismatched, "the attempt log does not match the requests:\n" + "\n".join(map(str, mismatched[:10]))
    assert not duplicates, "duplicates:\n" + "\n".join(
        json.dumps(d, default=str) for d in [*unexplained, *explained][:10])
    assert sum(injected.values()) > 0 and set(injected) == {name for name, *_ in FAULTS}

"""Sending webhooks locally, as a user does: `inlet serve` delivers what `inlet publish` puts in the
outbound store to the endpoints `inlet endpoints add` subscribed. Every delivery is checked by the
subscribers' own SDKs (standardwebhooks and svix, Python and npm) in real HTTP receivers on loopback,
and every fault a receiver can throw is answered as the schedule says."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import DEV_SECRETS, ROOT, free_port, wait_http
from receivers import Answer, Hang, Huge, NodeReceiver, Receiver, Reset, Trickle
from signers import sample, sdk_signed
from test_local import prometheus

CLI = ROOT / "target" / "debug" / "inlet"

# Receivers are plain HTTP on loopback: the guard must be told, as a private deployment would.
LOOPBACK = {"INLET_OUTBOUND_ALLOW_HTTP": "true", "INLET_OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8"}


class Outbound:
    """`inlet serve` with its outbound store, and the CLI against that store."""

    def __init__(self, tmp: Path, env: dict[str, str], time_scale: int, args: tuple[str, ...] = ()):
        self.tmp = tmp
        self.db = tmp / "outbound.db"
        self.spool = tmp / "spool"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
        self.env.update(env)
        port = free_port()
        self.log = open(tmp / "serve.log", "wb")
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(self.spool),
             "--idempotency-dir", str(tmp / "idempotency"), "--outbound-db", str(self.db),
             "--time-scale", str(time_scale), *args],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        wait_http(f"{self.url}/healthz")

    def cli(self, *args: str, check: bool = True) -> dict | list:
        out = subprocess.run([str(CLI), *args, "--db", str(self.db)], capture_output=True, text=True,
                             env=self.env, timeout=60)
        if check:
            assert out.returncode == 0, out
            return json.loads(out.stdout)
        return out

    def add(self, url: str, *flags: str) -> dict:
        return self.cli("endpoints", "add", url, *flags)

    def publish(self, ty: str, data: dict | None = None, *flags: str) -> dict:
        return self.cli("publish", ty, "--data", json.dumps(data or {"n": 1}), *flags)

    def show(self, endpoint: str, event: str) -> dict:
        return self.cli("deliveries", "show", f"{endpoint}/{event}")

    def wait(self, endpoint: str, event: str, done, timeout: float = 15.0) -> dict:
        """The delivery once `done(delivery)` holds."""
        deadline = time.monotonic() + timeout
        while True:
            d = self.show(endpoint, event)
            if done(d):
                return d
            if time.monotonic() > deadline:
                raise AssertionError(f"delivery never got there: {json.dumps(d, indent=1)}\n{self.logs()[-3000:]}")
            time.sleep(0.1)

    def notices(self) -> list[dict]:
        """The operational events in the spool."""
        if not self.spool.exists():
            return []
        events = [json.loads(p.read_text()) for p in sorted(self.spool.iterdir()) if p.suffix == ".json"]
        return [e for e in events if e.get("source") == "inlet/outbound"]

    def logs(self) -> str:
        self.log.flush()
        return (self.tmp / "serve.log").read_text(errors="replace")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture
def outbound(tmp_path):
    started: list[Outbound] = []

    def start(env: dict[str, str] | None = None, time_scale: int = 1, args: tuple[str, ...] = ()) -> Outbound:
        home = tmp_path / f"serve{len(started)}"
        home.mkdir()
        o = Outbound(home, {**LOOPBACK, **(env or {})}, time_scale, args)
        started.append(o)
        return o

    yield start
    for o in started:
        o.stop()


def delivered(d: dict) -> bool:
    return d["state"] == "delivered"


def test_a_published_event_reaches_each_subscriber_signed_as_both_sdks_verify(outbound):
    o = outbound()
    with Receiver() as python, Receiver() as filtered:
        ep = o.add(python.url, "--description", "billing")
        python.secrets = [ep["secret"]]
        other = o.add(filtered.url, "--filter", "customer.*")
        filtered.secrets = [other["secret"]]
        node_ep = o.add("http://127.0.0.1:1/placeholder")  # replaced below, once node has a port
        with NodeReceiver(secrets=[node_ep["secret"]]) as node:
            o.cli("endpoints", "update", node_ep["id"], "--url", node.url)
            published = o.publish("invoice.paid", {"amount": 1250, "currency": "eur"}, "--id", "evt_local_1",
                                  "--subject", "cus_1")
            assert sorted(published["endpoints"]) == sorted([ep["id"], node_ep["id"]])
            [r] = python.wait_for(1)
            assert r.verified("standardwebhooks") and r.verified("svix"), r.verdicts
            assert r.header("webhook-id") == "evt_local_1"
            event = json.loads(r.body)
            assert (event["id"], event["type"], event["subject"], event["data"]) == (
                "evt_local_1", "invoice.paid", "cus_1", {"amount": 1250, "currency": "eur"})
            assert r.header("content-type") == "application/json"
            assert r.header("user-agent", ).startswith("Inlet-Webhooks/")
            o.wait(node_ep["id"], "evt_local_1", delivered)
            [n] = node.results()
            assert n.verified("standardwebhooks") and n.verified("svix"), n.verdicts
            assert n.body == r.body
    assert filtered.requests == [], "a filter that does not take the type gets nothing"
    d = o.wait(ep["id"], "evt_local_1", delivered)
    assert [a["status"] for a in d["attempts"]] == [204]


def test_publishing_an_id_again_delivers_it_once(outbound):
    o = outbound()
    with Receiver() as rx:
        ep = o.add(rx.url)
        rx.secrets = [ep["secret"]]
        first = o.publish("order.created", {"n": 1}, "--id", "evt_once")
        again = o.publish("order.created", {"n": 1}, "--id", "evt_once")
        assert first["endpoints"] == [ep["id"]] and again["endpoints"] == []
        assert again["already_published_to"] == [ep["id"]]
        o.wait(ep["id"], "evt_once", delivered)
        time.sleep(1.0)
        assert len(rx.requests) == 1


def test_a_rotation_signs_with_both_secrets_and_v1a_with_the_endpoints_key(outbound):
    o = outbound()
    with Receiver() as old_only, Receiver() as new_only, Receiver() as asymmetric:
        ep = o.add(old_only.url)
        old = ep["secret"]
        rotated = o.cli("endpoints", "rotate-secret", ep["id"], "--overlap", "1h")
        new = rotated["secret"]
        assert new != old and rotated["rotating"]
        both = o.add(new_only.url)  # a second endpoint to hold the same pair, as a receiver moving over
        o.cli("endpoints", "rotate-secret", both["id"], "--secret", old, "--overlap", "0")
        o.cli("endpoints", "rotate-secret", both["id"], "--secret", new, "--overlap", "1h")
        old_only.secrets, new_only.secrets = [old], [new]
        keyed = o.add(asymmetric.url, "--v1a")
        asymmetric.secrets, asymmetric.public_keys = [keyed["secret"]], [keyed["public_key"]]
        o.publish("plan.changed", {"n": 2}, "--id", "evt_rotating")
        [a] = old_only.wait_for(1)
        [b] = new_only.wait_for(1)
        [c] = asymmetric.wait_for(1)
        for r in (a, b):
            assert len(r.header("webhook-signature").split(" ")) == 2, r.header("webhook-signature")
            assert r.verified("standardwebhooks") and r.verified("svix"), r.verdicts
        assert c.verified("standardwebhooks") and c.verified("v1a"), c.verdicts
        assert [s.split(",")[0] for s in c.header("webhook-signature").split(" ")] == ["v1", "v1a"]
        # Without the overlap the old secret signs no more.
        o.cli("endpoints", "rotate-secret", ep["id"], "--overlap", "0")
        o.publish("plan.changed", {"n": 3}, "--id", "evt_after")
        [_, late] = old_only.wait_for(2)
        assert not late.verified("standardwebhooks") and not late.verified("svix")


# Each fault once, then 204: (receiver's first answer, expected verdict, class, status, retried?)
FAULTS = [
    ("500", Answer(500), "retry", "http", 500, True),
    ("502", Answer(502), "retry", "http", 502, True),
    ("503", Answer(503), "retry", "http", 503, True),
    ("504", Answer(504), "retry", "http", 504, True),
    ("429", Answer(429), "retry", "http", 429, True),
    ("429-retry-after", Answer(429, {"Retry-After": "1"}), "throttled", "http", 429, True),
    ("503-retry-after", Answer(503, {"Retry-After": "1"}), "throttled", "http", 503, True),
    ("301", None, "retry", "http", 301, True),
    ("302", None, "retry", "http", 302, True),
    ("404", Answer(404), "retry", "http", 404, True),
    ("hang", Hang(5), "retry", "timeout", None, True),
    ("reset", Reset(), "retry", "reset", None, True),
    # Its status line a byte each 0.2 s: the 1 s timeout ends the attempt.
    ("trickle", Trickle(200, b"ok" * 50, interval=0.2), "retry", "timeout", None, True),
    ("huge", Huge(500), "retry", "http", 500, True),
    ("gone", Answer(410), "gone", "http", 410, False),
]


def test_every_fault_gets_its_verdict_its_next_attempt_and_its_endpoint_state(outbound):
    # A 1 s attempt timeout, and the schedule's first step (5 s) a tenth as long.
    o = outbound({"INLET_OUTBOUND_TIMEOUT_SECONDS": "1"}, time_scale=10)
    receivers = {name: Receiver().start() for name, *_ in FAULTS}
    try:
        endpoints = {}
        for name, first, *_ in FAULTS:
            rx = receivers[name]
            ep = o.add(rx.url, "--filter", f"fault.{name}")
            rx.secrets = [ep["secret"]]
            rx.script(first if first is not None else rx.redirect(int(name)))
            endpoints[name] = ep["id"]
        started = time.time()
        for name, *_ in FAULTS:
            o.publish(f"fault.{name}", {"fault": name}, "--id", f"evt_{name}")
        for name, _, verdict, cls, status, retried in FAULTS:
            ep = endpoints[name]
            if retried:
                d = o.wait(ep, f"evt_{name}", delivered)
                first, second = d["attempts"][0], d["attempts"][1]
                assert (first["verdict"], first["class"], first["status"]) == (verdict, cls, status), (name, first)
                assert second["status"] == 204, (name, second)
                gap = (parse(second["at"]) - parse(first["at"]))
                if verdict == "throttled":
                    # Retry-After: 1 is honoured, raised to the 5 s floor (not time-scaled).
                    assert 4.9 <= gap < 8, (name, gap)
                else:
                    # 5 s ± 20 %, divided by the time scale, plus the attempt itself.
                    assert 0.35 <= gap < 2.5, (name, gap)
            else:
                d = o.wait(ep, f"evt_{name}", lambda d: d["state"] == "parked")
                assert [(a["verdict"], a["status"]) for a in d["attempts"]] == [("gone", 410)]
                assert d["parked_reason"] == "gone"
                shown = o.cli("endpoints", "show", ep)
                assert shown["enabled"] is False and shown["disabled"]["reason"] == "gone"
        hung = o.show(endpoints["hang"], "evt_hang")["attempts"][0]
        assert 900 <= hung["latency_ms"] < 2500, hung
        assert o.show(endpoints["huge"], "evt_huge")["attempts"][0]["latency_ms"] < 2000
        assert receivers["huge"].requests[0].sent < 50 * 1024 * 1024
        for name in ("301", "302"):
            assert receivers[name].trapped == [], f"{name} was followed"
        # After a 410 the endpoint takes nothing more (its pending tasks are parked unsent: a unit
        # test of deliver), and one operational event says so.
        again = o.publish("fault.gone", {"again": True}, "--id", "evt_gone_2")
        assert again["endpoints"] == []
        time.sleep(0.5)
        assert len(receivers["gone"].requests) == 1
        disabled = [n for n in o.notices() if n["type"] == "inlet.outbound.endpoint.disabled"]
        assert [(n["subject"], n["data"]["reason"]) for n in disabled] == [(endpoints["gone"], "gone")]
        assert time.time() - started < 40
    finally:
        for rx in receivers.values():
            rx.stop()


def parse(rfc3339: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def test_an_exhausted_delivery_is_parked_said_and_replayed(outbound):
    o = outbound({"INLET_OUTBOUND_SCHEDULE": "1s"}, time_scale=10)
    with Receiver(default=Answer(500)) as rx:
        ep = o.add(rx.url)
        rx.secrets = [ep["secret"]]
        o.publish("report.ready", {"n": 1}, "--id", "evt_exhaust")
        d = o.wait(ep["id"], "evt_exhaust", lambda d: d["state"] == "parked")
        assert [a["status"] for a in d["attempts"]] == [500, 500]
        assert d["parked_reason"] == "exhausted"
        [notice] = [n for n in o.notices() if n["type"] == "inlet.outbound.delivery.exhausted"]
        assert notice["data"]["event_id"] == "evt_exhaust" and notice["subject"] == ep["id"]
        parked = o.cli("deliveries", "list", "--state", "parked")
        assert [p["delivery"] for p in parked] == [f"{ep['id']}/evt_exhaust"]
        rx.default = Answer(204)
        assert o.cli("deliveries", "replay", "--since", "1h") == {"requeued": 1}
        d = o.wait(ep["id"], "evt_exhaust", delivered)
        assert [a["status"] for a in d["attempts"]][-1] == 204
        assert rx.wait_for(3)[-1].verified("standardwebhooks")


def test_the_circuit_holds_deliveries_while_an_endpoint_is_down_then_a_probe_lets_them_go(outbound):
    # Short steps, so the probes' own retries do not outlast the outage by minutes.
    o = outbound({"INLET_OUTBOUND_CIRCUIT_THRESHOLD": "3", "INLET_OUTBOUND_SCHEDULE": ",".join(["1s"] * 12)},
                 time_scale=100)
    with Receiver(default=Answer(503)) as rx:
        ep = o.add(rx.url)
        rx.secrets = [ep["secret"]]
        for i in range(3):
            o.publish("bulk.item", {"i": i}, "--id", f"evt_c{i}")
        rx.wait_for(3)
        # Three failures in a row opened the circuit: what comes now waits for a probe (one per
        # cool-down, 0.3 s doubling here) instead of all nine hitting the endpoint.
        for i in range(3, 12):
            o.publish("bulk.item", {"i": i}, "--id", f"evt_c{i}")
        time.sleep(1.5)
        down = len(rx.requests)
        assert 4 <= down <= 8, down
        rx.default = Answer(204)
        for i in range(12):
            o.wait(ep["id"], f"evt_c{i}", delivered, timeout=60)
        assert all(r.verified("svix") for r in rx.requests)


def test_the_rate_limit_holds_to_its_deliveries_per_second(outbound):
    o = outbound()
    with Receiver() as rx:
        ep = o.add(rx.url, "--rate-limit", "4")
        rx.secrets = [ep["secret"]]
        for i in range(12):
            o.publish("bulk.item", {"i": i}, "--id", f"evt_r{i}")
        got = rx.wait_for(12, timeout=20)
        per_second: dict[int, int] = {}
        for r in got:
            per_second[int(r.at)] = per_second.get(int(r.at), 0) + 1
        assert max(per_second.values()) <= 4, per_second
        assert len(per_second) >= 3


def test_an_ordered_endpoint_gets_events_in_order_even_across_a_failure(outbound):
    o = outbound(time_scale=10)
    with Receiver() as rx:
        ep = o.add(rx.url, "--ordered")
        rx.secrets = [ep["secret"]]
        rx.script(Answer(500))
        for i in range(4):
            o.publish("ledger.entry", {"i": i}, "--id", f"evt_o{i}")
        got = rx.wait_for(5, timeout=20)
        assert [json.loads(r.body)["id"] for r in got] == ["evt_o0", "evt_o0", "evt_o1", "evt_o2", "evt_o3"]


def test_without_the_allowance_a_private_address_is_never_connected_to(outbound):
    # http is allowed, the private network is not: the guard refuses 127.0.0.1 after resolving.
    o = outbound({"INLET_OUTBOUND_ALLOW_HTTP": "true", "INLET_OUTBOUND_ALLOW_NETWORKS": ""})
    with Receiver() as rx:
        ep = o.add(rx.url)
        name = o.add(f"http://localhost:{rx.port}/hook")
        o.publish("probe.internal", {"n": 1}, "--id", "evt_ssrf")
        for e in (ep, name):
            d = o.wait(e["id"], "evt_ssrf", lambda d: len(d["attempts"]) >= 1)
            assert (d["attempts"][0]["class"], d["attempts"][0]["status"]) == ("refused", None)
        time.sleep(0.5)
        assert rx.requests == []


def test_https_only_unless_allowed(outbound):
    o = outbound({"INLET_OUTBOUND_ALLOW_HTTP": "", "INLET_OUTBOUND_ALLOW_NETWORKS": ""})
    out = o.cli("endpoints", "add", "http://127.0.0.1:9/hook", check=False)
    assert out.returncode != 0 and "https://" in out.stderr
    ep = o.add("https://hooks.example.com/in")
    assert o.cli("endpoints", "list")[0]["id"] == ep["id"]
    assert "secret" not in json.dumps(o.cli("endpoints", "list")), "list never shows a secret"


def test_inlet_to_inlet_both_ways_through_the_standard_receiver(tmp_path):
    """Two deployments subscribe to each other: each one's deliveries are accepted by the other's
    `standard` receiver (Standard Webhooks verified by Inlet's own receiving side) and spooled
    as envelopes whose data is the event published."""
    homes = [tmp_path / "a", tmp_path / "b"]
    ports = [free_port(), free_port()]
    secrets = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_")}
    for i, home in enumerate(homes):
        home.mkdir()
        other = ports[1 - i]
        out = subprocess.run([str(CLI), "endpoints", "add", f"http://127.0.0.1:{other}/webhooks/standard",
                              "--db", str(home / "outbound.db")], capture_output=True, text=True,
                             env={**env, **LOOPBACK}, timeout=60)
        assert out.returncode == 0, out
        secrets.append(json.loads(out.stdout)["secret"])
    servers = []
    try:
        for i, home in enumerate(homes):
            # Each receives what the other signs: its standard source holds the other's secret.
            server_env = {**env, **LOOPBACK, "INLET_STANDARD_SECRET": secrets[1 - i]}
            log = open(home / "serve.log", "wb")
            servers.append((subprocess.Popen(
                [str(CLI), "serve", "--addr", f"127.0.0.1:{ports[i]}", "--spool", str(home / "spool"),
                 "--idempotency-dir", str(home / "idempotency"), "--outbound-db", str(home / "outbound.db")],
                env=server_env, stdout=log, stderr=subprocess.STDOUT), log))
            wait_http(f"http://127.0.0.1:{ports[i]}/healthz")
        for i, home in enumerate(homes):
            out = subprocess.run([str(CLI), "publish", "inventory.changed", "--data", json.dumps({"from": i}),
                                  "--id", f"evt_from_{i}", "--db", str(home / "outbound.db")],
                                 capture_output=True, text=True, env=env, timeout=60)
            assert out.returncode == 0, out
        for i, home in enumerate(homes):
            spool = homes[1 - i] / "spool"
            deadline = time.monotonic() + 15
            while True:
                envelopes = [json.loads(p.read_text()) for p in spool.glob("*.json")] if spool.exists() else []
                mine = [e for e in envelopes if e.get("source") == "standard"]
                if mine or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert len(mine) == 1, (envelopes, (homes[1 - i] / "serve.log").read_text()[-2000:])
            e = mine[0]
            assert e["id"] == f"evt_from_{i}", e
            assert e["type"] == "standard.inventory.changed"
            assert e["inletverification"] and e["data"]["data"] == {"from": i}
    finally:
        for p, log in servers:
            p.kill()
            p.wait()
            log.close()


def post_stripe(o: Outbound, event_id: str, ty: str) -> dict:
    """A Stripe event signed by Stripe's SDK, POSTed to the local server's Stripe source."""
    body = json.dumps(json.loads(sample("stripe")) | {"id": event_id, "type": ty}).encode()
    request = urllib.request.Request(f"{o.url}/webhooks/stripe", data=body, method="POST",
                                     headers=dict(sdk_signed("stripe", DEV_SECRETS["stripe"], body)))
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 202
        return json.loads(resp.read()) | {"body": json.loads(body)}


def test_serve_relays_received_events_to_the_subscriptions(outbound):
    o = outbound(args=("--relay", "stripe.invoice.*"))
    with Receiver() as rx:
        ep = o.add(rx.url, "--filter", "stripe.invoice.*")
        rx.secrets = [ep["secret"]]
        paid = post_stripe(o, "evt_local_relay", "invoice.paid")
        assert post_stripe(o, "evt_local_relay", "invoice.paid").get("duplicate") is True
        post_stripe(o, "evt_local_charge", "charge.succeeded")
        [got] = rx.wait_for(1)
        time.sleep(0.5)
        assert len(rx.requests) == 1
        assert got.verified("standardwebhooks") and got.verified("svix"), got.verdicts
        event = json.loads(got.body)
        assert event["id"].startswith("stripe:") and event["inletenvelopeid"] == "evt_local_relay"
        assert event["type"] == "stripe.invoice.paid" and event["data"] == paid["body"]
        [row] = o.cli("deliveries", "list")
        assert (row["event"], row["endpoint"], row["state"]) == (event["id"], ep["id"], "delivered")
        spooled = sorted(json.loads(p.read_text())["id"] for p in o.spool.glob("*.json"))
        assert spooled == ["evt_local_charge", "evt_local_relay"], "every event is queued as before"
        assert "Relaying events of types stripe.invoice.* from every source to the endpoints" in o.logs()
        with urllib.request.urlopen(o.url + "/metrics", timeout=10) as r:
            samples = prometheus(r.read().decode())
        assert samples.get(("OutboundRelayed", frozenset({("Source", "stripe")}))) == 1, "one relayed, once"


def test_serve_refuses_a_relay_it_has_nowhere_to_send(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
    out = subprocess.run([str(CLI), "serve", "--addr", f"127.0.0.1:{free_port()}", "--spool", str(tmp_path / "s"),
                          "--no-outbound", "--relay", "stripe.invoice.*"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode != 0 and "--no-outbound" in out.stderr, out
    out = subprocess.run([str(CLI), "serve", "--addr", f"127.0.0.1:{free_port()}", "--spool", str(tmp_path / "s"),
                          "--outbound-db", str(tmp_path / "o.db"), "--relay", "stripe.*.paid"],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode != 0 and "INLET_RELAY" in out.stderr, out

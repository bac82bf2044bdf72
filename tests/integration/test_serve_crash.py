"""`inlet serve` killed mid-load (SIGKILL, many requests in flight, their fsyncs shared by group
commit): every delivery it answered 202 is in the spool in full, and once restarted on the same
directories it recognises each of them as a duplicate, so its mark was in place before the answer."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request

from conftest import ROOT, free_port, wait_http

CLI = ROOT / "target" / "debug" / "inlet"
SECRET = "crash-test-secret"


def start(tmp_path, log_name: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
    env["INLET_GITHUB_SECRET"] = SECRET
    log = open(tmp_path / log_name, "wb")
    p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(tmp_path / "spool"),
                          "--idempotency-dir", str(tmp_path / "idempotency")],
                         env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz")
    return p, url


def deliver(url: str, n: int) -> tuple[int, dict]:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": n, "seq": n}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url + "/webhooks/github", data=body, method="POST", headers={
        "content-type": "application/json", "x-github-event": "ping", "x-github-delivery": f"crash-{n:08d}",
        "x-hub-signature-256": signature})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_a_killed_server_loses_no_answered_delivery_and_forgets_no_mark(tmp_path):
    server, url = start(tmp_path, "serve-1.log")
    answered: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**9))

    def worker() -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            try:
                status, _ = deliver(url, n)
            except OSError:
                return  # the server is gone
            if status == 202:
                with lock:
                    answered.append(n)

    workers = [threading.Thread(target=worker) for _ in range(24)]
    for w in workers:
        w.start()
    deadline = time.time() + 30
    while len(answered) < 300 and time.time() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL, requests in flight
    server.wait()
    stop.set()
    for w in workers:
        w.join()
    assert len(answered) >= 300, "the server answered too few deliveries before it was killed"

    spool = tmp_path / "spool"
    envelopes = [json.loads(p.read_text()) for p in spool.glob("*.json")]  # each one whole
    spooled = {e["id"] for e in envelopes}
    missing = [n for n in answered if f"crash-{n:08d}" not in spooled]
    assert not missing, f"answered 202 but not in the spool: {missing[:5]}"
    assert len(envelopes) == len(spooled), "no delivery spooled twice"

    # Restarted on the same directories: every answered delivery is a duplicate now.
    server, url = start(tmp_path, "serve-2.log")
    try:
        for n in answered[:: max(1, len(answered) // 100)]:
            status, reply = deliver(url, n)
            assert status == 202 and reply.get("duplicate") is True, (n, status, reply)
        assert len(list(spool.glob("*.json"))) == len(envelopes), "nothing spooled again"
    finally:
        server.kill()
        server.wait()

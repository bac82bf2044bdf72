"""Webhook receivers for the outbound tests: loopback HTTP servers that record every delivery,
check its Standard Webhooks signature with the consumers' own SDKs, and answer the way a test
scripts (a status, a hang, a reset, a trickle, a huge body), so a sender's retries, timeouts and
redirect handling can be watched from outside.

    with Receiver(secrets=[secret]) as rx:            # 127.0.0.1, a free port
        rx.script(Answer(503), Answer(429, {"Retry-After": "2"}), Hang(5), Answer(204))
        deliver_to(rx.url)                             # whatever sends
        first = rx.wait_for(1)[0]
        assert first.verified("standardwebhooks") and first.verified("svix")
        assert first.verdicts["svix"].key == 0         # which of the secrets matched
        assert not rx.trapped                          # nothing followed a redirect

Every request is verified with both Python SDKs pinned in infra/requirements-test.txt, called as
their READMEs show (`Webhook(secret).verify(body, headers)`), once per secret until one accepts.
Neither SDK checks `v1a` (Ed25519) signatures: both skip every entry that is not `v1`. With
`public_keys` (`whpk_…`), `v1a` entries are checked here with `cryptography` (in the venv as
moto's dependency) under the same rules (5-minute timestamp tolerance, any entry may match).

`NodeReceiver` runs tests/sdk/receiver.mjs, the same check with the npm `standardwebhooks` and
`svix` packages (tests/sdk/package.json); it records and verifies but always answers 204.

Standard library only, apart from the SDKs. Each connection gets a thread (HTTP/1.1 keep-alive);
bodies are read whole (Content-Length or chunked) before the scripted action runs.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import threading
import time
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import standardwebhooks
import svix.webhooks

__all__ = [
    "Receiver",
    "NodeReceiver",
    "Received",
    "Verdict",
    "Answer",
    "Hang",
    "Reset",
    "Trickle",
    "Huge",
    "TOLERANCE",
]

# INLET_SDK_DIR: a checkout whose tests/sdk has node_modules (a git worktree can use its main's).
SDK_DIR = Path(os.environ.get("INLET_SDK_DIR") or Path(__file__).resolve().parents[2] / "tests" / "sdk")
# What both SDKs allow either side of now, and so what the v1a check here allows.
TOLERANCE = 5 * 60
# The path a scripted redirect points at: a request there means the sender followed it.
TRAP_PATH = "/_trap"


# --- what a request got -------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One verifier's word on one request: `key` is the index of the secret (or public key) that
    matched; `error` the last refusal, as `ExceptionName: message`."""

    ok: bool
    key: Optional[int] = None
    error: Optional[str] = None

    @classmethod
    def from_json(cls, d: dict) -> "Verdict":
        return cls(ok=d["ok"], key=d.get("key"), error=d.get("error"))


@dataclass
class Received:
    """One request as it arrived, and what the verifiers said of it."""

    at: float  # time.time() when the request was read
    method: str
    path: str
    headers: list[tuple[str, str]]  # as sent, names in their case, repeats kept
    body: bytes
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    action: str = ""  # what was done with it (the scripted action's repr)
    sent: int = 0  # response body bytes written before the client went away (Huge, Trickle)
    finished: Optional[float] = None  # time.time() once the action was carried out

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def verified(self, verifier: str) -> bool:
        return self.verdicts[verifier].ok


# --- what to do with a request ------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """Answer `status` with `headers` and `body` (e.g. `Answer(429, {"Retry-After": "3"})`)."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Hang:
    """Read the request and answer nothing for `seconds`, then close the connection."""

    seconds: float


@dataclass(frozen=True)
class Reset:
    """Read the request, then drop the connection with a TCP RST (SO_LINGER 0), answering nothing."""


@dataclass(frozen=True)
class Trickle:
    """Answer `status` with `body`, writing the status line, headers and body a byte at a time,
    `interval` seconds apart."""

    status: int = 200
    body: bytes = b"ok"
    interval: float = 0.05


@dataclass(frozen=True)
class Huge:
    """Answer `status` with a `size`-byte body (Content-Length given), streamed in 64 KiB writes
    until done or the client goes away; `Received.sent` says how much was written."""

    status: int = 200
    size: int = 50 * 1024 * 1024


Action = Union[Answer, Hang, Reset, Trickle, Huge]
# A behaviour given as a function: (0-based request number, the request) -> what to do.
Behaviour = Callable[[int, Received], Action]


# --- verification -------------------------------------------------------------------------------


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"


def _sdk_verdict(make: Callable[[str], object], secrets: list[str], body: bytes, headers: dict) -> Verdict:
    error = "no secret configured"
    for i, secret in enumerate(secrets):
        try:
            make(secret).verify(body, headers)
            return Verdict(True, key=i)
        except Exception as e:  # the SDKs raise their own error, and ValueError etc. on bad input
            error = _error(e)
    return Verdict(False, error=error)


def _public_key(text: str):
    """A `whpk_` text as a `cryptography` Ed25519 public key (imported only when used)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not text.startswith("whpk_"):
        raise ValueError("a v1a public key starts with whpk_")
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text[len("whpk_"):], validate=True))


def _v1a_verdict(public_keys: list[str], body: bytes, headers: dict, now: float) -> Verdict:
    from cryptography.exceptions import InvalidSignature

    h = {k.lower(): v for k, v in headers.items()}
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not (msg_id and ts and sigs):
        return Verdict(False, error="missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        when = int(ts)
    except ValueError:
        return Verdict(False, error="webhook-timestamp is not an integer")
    if abs(now - when) > TOLERANCE:
        return Verdict(False, error="webhook-timestamp outside the tolerance")
    content = f"{msg_id}.{ts}.".encode() + body
    entries = [e.split(",", 1)[1] for e in sigs.split(" ") if e.startswith("v1a,")]
    for i, key in enumerate(public_keys):
        pk = _public_key(key)
        for entry in entries:
            try:
                pk.verify(base64.b64decode(entry, validate=True), content)
                return Verdict(True, key=i)
            except (InvalidSignature, ValueError):
                continue
    return Verdict(False, error="no v1a signature matched" if entries else "no v1a signature")


def verify(secrets: list[str], public_keys: list[str], body: bytes, headers: dict,
           now: Optional[float] = None) -> dict[str, Verdict]:
    """Each verifier's verdict: `standardwebhooks` and `svix` (v1, per secret), `v1a` (only
    when public keys are given)."""
    verdicts = {
        "standardwebhooks": _sdk_verdict(standardwebhooks.Webhook, secrets, body, headers),
        "svix": _sdk_verdict(svix.webhooks.Webhook, secrets, body, headers),
    }
    if public_keys:
        verdicts["v1a"] = _v1a_verdict(public_keys, body, headers, time.time() if now is None else now)
    return verdicts


# --- the Python receiver ------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a sender with 16 deliveries in flight overflows it after
    # every reset and hang, and the kernel drops new connections. Real servers listen with 128 or more.
    request_queue_size = 128
    receiver: "Receiver"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        rx = self.server.receiver
        body = self._body()
        record = Received(
            at=time.time(),
            method=self.command,
            path=self.path,
            headers=list(self.headers.items()),
            body=body,
        )
        if self.path.startswith(TRAP_PATH):
            record.action = "trapped"
            rx._record(record, trapped=True)
            self._answer(Answer(200, body=b"a redirect was followed"))
            return
        record.verdicts = verify(rx.secrets, rx.public_keys, body, dict(self.headers.items()))
        action = rx._next(record)
        record.action = repr(action)
        rx._record(record)
        try:
            self._run(action, record)
        finally:
            record.finished = time.time()

    do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _handle

    def _run(self, action: Action, record: Received) -> None:
        if isinstance(action, Answer):
            self._answer(action)
        elif isinstance(action, Hang):
            self.server.receiver._stopping.wait(action.seconds)
            self.close_connection = True
        elif isinstance(action, Reset):
            self._reset()
        elif isinstance(action, Trickle):
            self._trickle(action, record)
        elif isinstance(action, Huge):
            self._huge(action, record)
        else:
            raise TypeError(f"not an action: {action!r}")

    def _answer(self, a: Answer) -> None:
        self.send_response(a.status)
        for name, value in a.headers.items():
            self.send_header(name, value)
        if not any(k.lower() == "content-length" for k in a.headers):
            self.send_header("Content-Length", str(len(a.body)))
        self.end_headers()
        if a.body and self.command != "HEAD":
            self.wfile.write(a.body)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # detach() leaves the socket object (and rfile/wfile around it) holding no descriptor,
        # so nothing later closes a number the kernel may have handed out again.
        os.close(self.connection.detach())
        self.close_connection = True

    def _trickle(self, t: Trickle, record: Received) -> None:
        head = (f"HTTP/1.1 {t.status} {_reason(t.status)}\r\n"
                f"Content-Length: {len(t.body)}\r\nConnection: close\r\n\r\n").encode()
        self.close_connection = True
        stopping = self.server.receiver._stopping
        try:
            for i, byte in enumerate(head + t.body):
                if stopping.is_set():
                    return
                self.wfile.write(bytes([byte]))
                if i >= len(head):
                    record.sent += 1
                stopping.wait(t.interval)
        except OSError:
            pass

    def _huge(self, h: Huge, record: Received) -> None:
        self.send_response(h.status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(h.size))
        self.end_headers()
        self.close_connection = True
        chunk = b"x" * 65536
        try:
            while record.sent < h.size and not self.server.receiver._stopping.is_set():
                n = min(len(chunk), h.size - record.sent)
                self.wfile.write(chunk[:n])
                record.sent += n
        except OSError:
            pass


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class Receiver:
    """A loopback webhook receiver: records, verifies and answers as scripted.

    `secrets` are `whsec_…` texts tried in order (rotation: the first that verifies is recorded
    as `Verdict.key`); `public_keys` are `whpk_…` texts for `v1a`. Requests beyond the script
    get `default` (204, no body). A context manager; `start()`/`stop()` for fixtures.
    """

    def __init__(self, secrets: Sequence[str] = (), public_keys: Sequence[str] = (), *,
                 default: Action = Answer(204), path: str = "/hook"):
        self.secrets = list(secrets)
        self.public_keys = list(public_keys)
        for key in self.public_keys:
            _public_key(key)  # a bad key fails here, not in a request's thread
        self.default = default
        self.path = path
        self.requests: list[Received] = []
        self.trapped: list[Received] = []
        self._script: deque[Action] = deque()
        self._behaviour: Optional[Behaviour] = None
        self._count = 0
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # lifecycle

    def start(self) -> "Receiver":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        server = self._server  # a short poll: stop() returns quickly
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05),
                                        name="receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes hanging and trickling handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # where

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_address[1]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """Where deliveries go."""
        return self.base + self.path

    @property
    def trap_url(self) -> str:
        """A second path on this server that must never be requested: point redirects here."""
        return self.base + TRAP_PATH

    # behaviour

    def script(self, *actions: Action) -> "Receiver":
        """Queue actions for the next requests, one each, in order."""
        with self._lock:
            self._script.extend(actions)
        return self

    def behave(self, behaviour: Behaviour) -> "Receiver":
        """Decide every request not covered by the script with `behaviour(n, request)`, where n
        counts every request from 0."""
        self._behaviour = behaviour
        return self

    def redirect(self, status: int = 302) -> Answer:
        """A redirect to the trap (301, 302, 307 or 308)."""
        return Answer(status, {"Location": self.trap_url})

    def _next(self, record: Received) -> Action:
        with self._lock:
            n = self._count
            self._count += 1
            if self._script:
                return self._script.popleft()
        return self._behaviour(n, record) if self._behaviour else self.default

    def _record(self, record: Received, trapped: bool = False) -> None:
        with self._lock:
            (self.trapped if trapped else self.requests).append(record)
            self._lock.notify_all()

    # results

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """The first `n` requests, once they have arrived; AssertionError after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} of {n} requests arrived in {timeout}s")
                self._lock.wait(left)
            return list(self.requests[:n])


# --- the Node receiver --------------------------------------------------------------------------


class NodeReceiver:
    """tests/sdk/receiver.mjs in a subprocess (`node` on PATH, `npm ci --prefix tests/sdk` done):
    verifies every request with the npm `standardwebhooks` and `svix` packages and answers 204.

        with NodeReceiver(secrets=[secret]) as node:
            post(node.url, ...)
            node.results()  # [Received, ...] with verdicts "standardwebhooks" and "svix"
    """

    def __init__(self, secrets: list[str], path: str = "/hook"):
        self.secrets = list(secrets)
        self.path = path
        self.port: Optional[int] = None
        self._proc: Optional[subprocess.Popen] = None

    def start(self) -> "NodeReceiver":
        env = dict(os.environ, RECEIVER_SECRETS=" ".join(self.secrets))
        self._proc = subprocess.Popen(
            ["node", str(SDK_DIR / "receiver.mjs")],
            cwd=SDK_DIR, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read().decode(errors="replace")
            self._proc.wait(timeout=5)
            raise RuntimeError(f"receiver.mjs did not start: {err.strip()}")
        self.port = json.loads(line)["port"]
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            for pipe in (self._proc.stdout, self._proc.stderr):
                pipe.close()
            self._proc = None

    def __enter__(self) -> "NodeReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def results(self) -> list[Received]:
        """Every request so far (GET /_results), oldest first."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_results", timeout=5) as r:
            raw = json.load(r)
        return [
            Received(
                at=item["at"] / 1000,
                method=item["method"],
                path=item["path"],
                headers=[tuple(h) for h in item["headers"]],
                body=base64.b64decode(item["body_base64"]),
                verdicts={name: Verdict.from_json(v) for name, v in item["verdicts"].items()},
                action="answered 204",
            )
            for item in raw
        ]

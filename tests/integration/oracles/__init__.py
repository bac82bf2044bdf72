"""SDK oracles: for each sender whose own SDK is in a registry, how that SDK signs a delivery and how
it verifies one. `test_sdk_oracles.py` runs every oracle here through the same checks:

- a delivery the SDK signed goes through the compiled function and moto's SQS and comes out as the
  right envelope (id, type, subject, time);
- the same delivery tampered, signed with a wrong secret, stale or from the future is refused (401)
  and the queue stays empty;
- the SDK's verifier accepts what `inlet sign` produces, and refuses it under a wrong secret.

Many SDKs only verify. For those, `sign` builds the delivery by the provider's documented recipe and
the test first has the SDK's verifier accept it, so the SDK still judges every signature the function
sees (`Oracle.sdk_signs` says which kind an oracle is).

One module per family of senders; each exports `ORACLES`. Pins: infra/requirements-test.txt (PyPI)
and tests/sdk/package.json (npm)."""

from __future__ import annotations

import json

import importlib
import os
import pkgutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

Headers = list[tuple[str, str]]
SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"


@dataclass(frozen=True)
class Oracle:
    source: str
    """The catalogue name: INLET_SOURCE, `inlet sign <source>`."""
    sdk: str
    """The SDK and pinned version, exactly as the scheme's `Evidence::Sdk` names it."""
    secret: str
    """What the sender holds: the SDK's signing secret, or the private key (hex) for asymmetric schemes,
    which `inlet sign --secret` also takes."""
    wrong_secret: str
    """Another secret of the same shape, for the wrong-secret checks."""
    body: bytes
    """A realistic delivery body."""
    sign: Callable[[str, bytes, int, str], Headers | tuple[Headers, bytes]]
    """(secret, body, unix timestamp, delivery id) -> the headers the sender sends, Content-Type included,
    or (headers, body) for senders that sign inside the body (Adyen, Braintree). Senders without a
    timestamp or a delivery id ignore those arguments."""
    verify: Callable[[str, Headers, bytes], bool]
    """(verify secret, headers, body) -> does the SDK's verifier accept it. Exceptions count as refusal."""
    want: dict
    """Envelope fields the delivery must produce: id, type, subject (None: absent), and optionally time.
    A value "$id" stands for the delivery id passed to `sign`."""
    window: int | None
    """The SDK's timestamp window in seconds, or None when the scheme signs no timestamp."""
    sdk_signs: bool
    """True when the SDK's own code computes the signature; False when it only verifies."""
    verify_secret: str | None = None
    """What the receiver holds when it differs from `secret` (the public key, hex, for asymmetric schemes)."""
    env: dict = field(default_factory=dict)
    """Extra function environment (PUBLIC_URL for senders that sign the URL)."""
    cli_args: tuple[str, ...] = ()
    """Extra `inlet sign` arguments (--url, --event, --content-type)."""
    tamper_at: int | None = None
    """Which body byte the tampering test changes (default: the middle)."""
    body_at: Callable[[int], bytes] | None = None
    """For senders that sign their timestamp inside the body (Linear's `webhookTimestamp`): the body
    as sent at a unix time. `body` is then what it gives for one fixed time."""

    signs_body: bool = False
    """The signature is written into the body: `sign` returns (headers, body), and what the CLI signs is
    read from `inlet event` (the whole request) rather than `inlet sign` (headers only)."""

    events: list[dict] | None = None
    """For senders that post several events in one delivery: the fields each event's envelope must
    have, in the order of the events (`want` is then the first's)."""
    events_at: str | None = None
    """Where those events are in the body: None for a body that is the list, else a top-level key."""

    def event_data(self, body: bytes) -> list:
        """The events of a batch body, each of which an envelope's `data` must equal."""
        doc = json.loads(body)
        return doc if self.events_at is None else doc[self.events_at]

    def signed(self, secret: str, body: bytes, ts: int, delivery_id: str) -> tuple[Headers, bytes]:
        """`sign`'s headers and the body to send with them."""
        out = self.sign(secret, body, ts, delivery_id)
        return out if isinstance(out, tuple) else (out, body)

    def body_for(self, ts: int) -> bytes:
        return self.body if self.body_at is None else self.body_at(ts)

    @property
    def receiver_secret(self) -> str:
        return self.verify_secret if self.verify_secret is not None else self.secret

    def expected(self, delivery_id: str) -> dict:
        return {k: (delivery_id if v == "$id" else v) for k, v in self.want.items()}


def accepts(check: Callable[[], object]) -> bool:
    """Whether an SDK verifier accepted: SDKs refuse by raising or by returning False, and accept by
    returning True, the parsed payload or None."""
    try:
        return check() is not False
    except Exception:  # noqa: BLE001 - every SDK raises its own error type
        return False


def header(headers: Headers, name: str) -> str | None:
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None


def node(script: str, *args: str, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs tests/sdk/<script> with Node; the npm SDKs live in tests/sdk/node_modules."""
    return subprocess.run(["node", str(SDK_DIR / script), *args], input=stdin, capture_output=True,
                          env={**os.environ, **(env or {})}, cwd=SDK_DIR)


def all_oracles() -> list[Oracle]:
    found: list[Oracle] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found.extend(importlib.import_module(f"{__name__}.{info.name}").ORACLES)
    return found

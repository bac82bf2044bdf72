"""The senders' samples (infra/samples/<source>/), sent as a newcomer sends them: `inlet send <source>
--event <event>` to `inlet serve`, with no other flag. Each must make the envelope its expect.json
names (written by hand from the sample: its type, its own id, its subject) or be answered as the
handshake it is; and every sender must be sendable with no flag at all."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port, wait_http

CLI = ROOT / "target" / "debug" / "inlet"
SAMPLES = ROOT / "infra" / "samples"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("INLET_")})


def expectations() -> list[tuple[str, str, dict]]:
    cases = []
    for folder in sorted(p for p in SAMPLES.iterdir() if p.is_dir()):
        expect = json.loads((folder / "expect.json").read_text())
        for event, want in expect["samples"].items():
            cases.append((folder.name, event, want))
    return cases


@contextlib.contextmanager
def serving(tmp: Path, extra_env: dict | None = None):
    """`inlet serve` with no de-duplication (a sample may be sent twice), spooling under `tmp`."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
    with open(tmp / "serve.log", "wb") as log:
        p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(tmp / "spool"),
                              "--no-idempotency", "--no-outbound", "--log-format", "json"],
                             env={**env, **(extra_env or {})}, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_http(url + "/healthz")
            yield url, tmp / "spool"
        finally:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `inlet serve` for the module."""
    with serving(tmp_path_factory.mktemp("samples")) as served:
        yield served


def send(server: str, source: str, *args: str) -> tuple[int, str]:
    out = cli("send", source, "--url", f"{server}/webhooks/{source}", *args)
    assert out.returncode in (0, 1), out
    status, _, body = out.stdout.partition("\n")
    return int(status.split()[0]), body


@pytest.mark.parametrize("source,event,want", expectations(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_sample_makes_its_own_envelope(server, source, event, want):
    url, spool = server
    before = set(spool.iterdir()) if spool.exists() else set()
    status, body = send(url, source, "--event", event)
    assert status == want["status"], (status, body)
    new = sorted(set(spool.iterdir()) - before) if spool.exists() else []
    if "handshake" in want:
        assert not new, "a handshake is never enqueued"
        return
    # One envelope: a sender that posts batches sends its sample as a batch of one event.
    assert len(new) == 1, (new, body)
    envelope = json.loads(new[0].read_text())
    assert envelope["type"] == want["type"]
    assert envelope["source"] == source
    assert envelope.get("subject") == want["subject"]
    match want["id"]:
        case "$delivery":
            # The delivery id header the CLI made, fresh each time.
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", envelope["id"])
        case "$fresh":
            # A sender whose deliveries carry no id: the function's own fresh one.
            assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", envelope["id"])
        case "$digest":
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", envelope["id"]), envelope["id"]
            # A digest of what the sender signs: the same bytes sent again (a retry: the same time
            # and delivery id) make the same id.
            at = int(time.time())
            again = [digest_id(url, spool, source, event, at) for _ in range(2)]
            assert again[0] == again[1], again
        case own:
            assert envelope["id"] == own


def digest_id(url: str, spool, source: str, event: str, at: int) -> str:
    """The envelope id of `source`'s sample of `event`, sent at time `at` with a fixed delivery id."""
    before = set(spool.iterdir())
    status, body = send(url, source, "--event", event, "--timestamp", str(at), "--id", "retry-1")
    assert status // 100 == 2, (status, body)
    (new,) = set(spool.iterdir()) - before
    return json.loads(new.read_text())["id"]


def test_distinct_samples_of_a_sender_get_distinct_digest_ids(server):
    """Where a sender's id is a digest, its distinct samples (distinct events) never share one."""
    url, spool = server
    by_source: dict[str, list[str]] = {}
    for source, event, want in expectations():
        if want.get("id") == "$digest":
            by_source.setdefault(source, []).append(event)
    several = {s: events for s, events in by_source.items() if len(events) > 1}
    assert len(several) >= 5, several
    for source, events in several.items():
        at = int(time.time())
        ids = [digest_id(url, spool, source, event, at) for event in events]
        assert len(set(ids)) == len(ids), (source, events, ids)


def test_every_sender_can_be_sent_with_no_flags(server):
    server, _ = server
    """`inlet send <source>` for every sender `inlet sources` lists: 2xx, and its default sample
    where it has one."""
    listing = cli("sources")
    names = [line.split()[0] for line in listing.stdout.splitlines()[1:] if not line.startswith("<")]
    assert len(names) >= 140, listing.stdout
    failed = {}
    for name in names:
        status, body = send(server, name)
        if status // 100 != 2:
            failed[name] = (status, body[:200])
    assert not failed, failed


def test_every_sender_has_a_sample():
    listing = cli("sources")
    names = {line.split()[0] for line in listing.stdout.splitlines()[1:] if not line.startswith("<")}
    folders = {p.name for p in SAMPLES.iterdir() if p.is_dir()}
    assert folders <= names, folders - names
    assert names <= folders, f"senders without samples: {sorted(names - folders)}"


def test_samples_lists_them_and_a_mistyped_source_is_an_error():
    out = cli("samples", "stripe")
    assert out.returncode == 0, out
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["SOURCE", "EVENT", "MAKES"]
    assert len(lines) - 1 == len(json.loads((SAMPLES / "stripe" / "expect.json").read_text())["samples"])
    assert "(default)" in lines[1]
    out = cli("samples", "strpe")
    assert out.returncode == 2 and "did you mean `stripe`?" in out.stderr, out


def test_an_event_without_a_sample_is_generated_and_said_so(server):
    server, _ = server
    status, body = send(server, "stripe", "--event", "charge.refunded")
    assert status == 202 and json.loads(body)["type"] == "stripe.charge.refunded", body
    out = cli("send", "stripe", "--url", f"{server}/webhooks/stripe", "--event", "charge.refunded")
    assert "has no sample of \"charge.refunded\"" in out.stderr, out


def handshake_rows() -> dict[str, str]:
    """The senders `inlet samples` lists with a `--handshake` row, and what the row says it makes."""
    out = cli("samples")
    assert out.returncode == 0, out
    rows = [line.split(None, 2) for line in out.stdout.splitlines()[1:]]
    return {row[0]: row[2] for row in rows if row[1] == "--handshake"}


def send_handshake(url: str, source: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("INLET_")}
    return subprocess.run([str(CLI), "send", source, "--handshake", "--url", f"{url}/webhooks/{source}", *args],
                          capture_output=True, text=True, timeout=60, env={**base, **(env or {})})


def test_every_handshake_that_is_no_signed_body_is_sent_with_one_flag_and_answered(server):
    """`inlet send <source> --handshake` for every sender whose handshake is a GET, a HEAD, a query
    or an unsigned body: the local server answers it as the sender wants (the CLI checks the answer
    itself: X's and Braintree's MACs are computed from the secret, not taken from the server), and
    nothing is enqueued."""
    url, spool = server
    rows = handshake_rows()
    assert rows["meta"] == "the GET hub.challenge handshake", rows
    assert {"meta", "whatsapp", "instagram", "messenger", "dropbox", "okta", "graph", "x", "woocommerce",
            "trello", "braintree", "asana", "notion"} <= set(rows), rows
    assert not {"slack", "discord", "zoom", "twitch", "xero", "stripe"} & set(rows), "signed bodies are samples"
    before = set(spool.iterdir()) if spool.exists() else set()
    failed = {}
    for name in sorted(set(rows) - {"asana", "notion"}):  # those two hand over a secret: below
        out = send_handshake(url, name)
        if out.returncode != 0 or f"{name} would take this answer" not in out.stdout:
            failed[name] = (out.returncode, out.stdout[-300:], out.stderr[-300:])
    assert not failed, failed
    after = set(spool.iterdir()) if spool.exists() else set()
    assert after == before, "a handshake is never enqueued"


def test_a_wrong_answer_to_a_handshake_fails_the_command(server):
    """The CLI's own check can fail: X's CRC answered under another secret than the one the CLI
    holds, Meta's challenge refused for another verify token."""
    url, _ = server
    out = send_handshake(url, "x", "--secret", "not-the-servers-secret")
    assert out.returncode == 1, out
    assert out.stdout.startswith("200"), out
    assert "x would not take this answer to its GET crc_token handshake" in out.stderr, out
    out = send_handshake(url, "meta", env={"INLET_SOURCE_SETTINGS": json.dumps({"meta": {"VERIFY_TOKEN": "other"}})})
    assert out.returncode == 1, out
    assert out.stdout.startswith("403"), out
    out = cli("send", "slack", "--handshake")
    assert out.returncode != 0 and "inlet send slack --event url_verification" in out.stderr, out
    out = cli("send", "stripe", "--handshake", "--event", "invoice.paid")
    assert out.returncode == 2, out


def test_asana_and_notion_handshakes_hand_over_the_secret_send_signs_with(tmp_path):
    """A source awaiting its secret stores the one the handshake hands over; `inlet send
    --handshake` hands over the secret `inlet send` signs with, so the deliveries sent next verify;
    a second handshake is refused."""
    awaiting = {"INLET_ASANA_SECRET": "inlet:await-handshake", "INLET_NOTION_SECRET": "inlet:await-handshake"}
    with serving(tmp_path, awaiting) as (url, _):
        for name in ("asana", "notion"):
            status, body = send(url, name)
            assert status == 401, (name, status, body)
            out = send_handshake(url, name)
            assert out.returncode == 0 and f"{name} would take this answer" in out.stdout, out
            assert (tmp_path / "secrets" / name).is_file()
            status, body = send(url, name)
            assert status == 202, (name, status, body)
            again = send_handshake(url, name)
            assert again.returncode == 1, again

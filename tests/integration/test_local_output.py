"""`inlet serve`'s output: one readable line per request on a terminal (run here under a
pseudo-terminal), coloured unless NO_COLOR says not; JSON lines when stdout is not a terminal or
when `--log-format json` asks. Never a secret, a signature or the body."""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time

import pytest

from conftest import ROOT, free_port, wait_http

CLI = ROOT / "target" / "debug" / "inlet"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
STRIPE_SECRET = "whsec_inlet_dev_stripe_secret"
# time  source  type  id  verdict [problem]  status  ms
LINE = re.compile(
    r"^(?P<time>\d\d:\d\d:\d\d\.\d{3})  (?P<source>\S+)  (?P<type>\S+)  (?P<id>\S+)  "
    r"(?P<verdict>[a-z]+)(?: (?P<problem>[a-z-]+))?  (?P<status>\d{3})  (?P<ms>\d+\.\d)ms$"
)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INLET_") and k not in ("QUEUE_URL", "NO_COLOR", "RUST_LOG")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


class Served:
    """`inlet serve` with its stdout and stderr on a pseudo-terminal, or on a pipe (`tty=False`)."""

    def __init__(self, tmp, *args: str, tty: bool = True, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = b""
        self.env = env or base_env()
        if tty:
            self.master, slave = os.openpty()
            out = slave
        else:
            self.master, out = os.pipe()
            slave = out
        self.proc = subprocess.Popen(
            [str(CLI), "serve", "--addr", f"127.0.0.1:{self.port}", "--spool", str(tmp / "spool"),
             "--idempotency-dir", str(tmp / "idempotency"), "--outbound-db", str(tmp / "outbound.db"), *args],
            env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=tmp)
        os.close(slave)
        wait_http(self.url + "/healthz")

    def read_until(self, done, timeout: float = 15) -> str:
        """The output so far (ANSI colours kept, `\\r\\n` made `\\n`), once `done(text)` holds."""
        deadline = time.monotonic() + timeout
        while not done(self.text()):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never seen; the output was:\n{self.text()}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: the terminal's other side closed
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError(f"inlet serve exited; its output was:\n{self.text()}")
                self.out += chunk
        return self.text()

    def text(self) -> str:
        return self.out.decode(errors="replace").replace("\r\n", "\n")

    def send(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in self.env.items() if not k.startswith("INLET_")}
        return subprocess.run([str(CLI), "send", *args, "--url", f"{self.url}/webhooks/{args[0]}"],
                              capture_output=True, text=True, env=env, timeout=60)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def serve(tmp_path):
    started: list[Served] = []

    def start(*args: str, tty: bool = True, env: dict[str, str] | None = None) -> Served:
        home = tmp_path / f"serve{len(started)}"
        home.mkdir()
        s = Served(home, *args, tty=tty, env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def request_lines(text: str) -> list[re.Match]:
    return [m for m in (LINE.match(ANSI.sub("", line)) for line in text.split("\n")) if m]


def test_a_terminal_gets_one_coloured_line_per_request_with_its_fields(serve):
    s = serve()
    sent = s.send("stripe")
    assert sent.returncode == 0, sent
    accepted = json.loads(sent.stdout.split("\n", 1)[1])
    assert s.send("stripe").returncode == 0  # the same sample again: a duplicate
    forged = s.send("stripe", "--secret", "whsec_wrong")
    assert forged.stdout.startswith("401"), forged
    text = s.read_until(lambda t: len(request_lines(t)) >= 3)
    first, again, refused = request_lines(text)[:3]

    assert first["source"] == "stripe"
    assert first["type"] == accepted["type"] == "stripe.payment_intent.succeeded"
    assert first["id"] == accepted["id"]
    assert (first["verdict"], first["problem"], first["status"]) == ("enqueued", None, "202")
    assert float(first["ms"]) < 5000
    assert (again["verdict"], again["status"], again["id"]) == ("duplicate", "202", accepted["id"])
    assert (refused["verdict"], refused["problem"], refused["status"]) == ("rejected", "invalid-signature", "401")
    assert refused["type"] == "-"
    # Coloured: the verdict in green, a refusal in red.
    assert "\x1b[32menqueued\x1b[0m" in text
    assert "\x1b[31mrejected invalid-signature\x1b[0m" in text
    # One line per request: the pipeline's own JSON lines about each request are not printed too.
    assert '"outcome"' not in text and '{"timestamp"' not in text
    # Never the secret, the signature or the body.
    assert STRIPE_SECRET not in text and "whsec_wrong" not in text
    assert "v1=" not in text
    assert "Order #1001" not in text and "payment_method_types" not in text
    # The time is the time of day it was served (UTC).
    h, m, sec = first["time"].split(":")
    logged = int(h) * 3600 + int(m) * 60 + float(sec)
    now = time.time() % 86400
    assert min(abs(now - logged), 86400 - abs(now - logged)) < 60


def test_no_color_keeps_the_line_and_drops_the_colours(serve):
    s = serve(env=base_env(NO_COLOR="1"))
    assert s.send("stripe").returncode == 0
    text = s.read_until(lambda t: len(request_lines(t)) >= 1)
    assert "\x1b[" not in text
    (line,) = request_lines(text)
    assert (line["source"], line["verdict"], line["status"]) == ("stripe", "enqueued", "202")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line.startswith("{")]


def enqueued_json(text: str) -> bool:
    return any(line.get("outcome") == "enqueued" for line in json_lines(text))


@pytest.mark.parametrize("where", ["pipe", "terminal with --log-format json"])
def test_json_lines_when_not_a_terminal_or_when_asked(serve, where):
    s = serve(tty=False) if where == "pipe" else serve("--log-format", "json")
    sent = s.send("stripe")
    assert sent.returncode == 0, sent
    text = s.read_until(enqueued_json)
    (line,) = [line for line in json_lines(text) if line.get("outcome") == "enqueued"]
    assert line["source"] == "stripe" and line["status"] == 202
    assert line["delivery_id"] == json.loads(sent.stdout.split("\n", 1)[1])["id"]
    assert not request_lines(text), "no readable request line beside the JSON"
    assert "\x1b[" not in text


def test_pretty_on_a_pipe_is_readable_and_uncoloured(serve):
    s = serve("--log-format", "pretty", tty=False)
    assert s.send("stripe").returncode == 0
    text = s.read_until(lambda t: len(request_lines(t)) >= 1)
    assert "\x1b[" not in text and '{"timestamp"' not in text

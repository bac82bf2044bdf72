"""A Lambda Runtime API on loopback: the same HTTP interface Lambda gives a `provided.al2023`
function, so the compiled `bootstrap`/function binaries run here exactly as they would there.

Implements /runtime/invocation/next, /response, /error and /init/error of the 2018-06-01 API.
Each invocation gets `Lambda-Runtime-Deadline-Ms` = the moment it is handed to the function plus
the function's timeout, and the time from hand-out to the function's answer is measured
(`last_duration`), so tests can check that a function answered within its deadline.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"
# The X-Ray trace header Lambda gives an invocation of a function with active tracing.
TRACE_HEADER = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A function stopped mid-connection (a test or the benchmark killed it) is expected.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RuntimeApi:
    """The Runtime API for one function. `timeout` (seconds) sets each invocation's deadline;
    `response_delay` (seconds) holds the Runtime API's own answer to a function's response that
    long (the response itself is taken at once), to see what a function does only after that."""

    def __init__(self, timeout: float = 30.0, response_delay: float = 0.0) -> None:
        self.timeout = timeout
        self.response_delay = response_delay
        self._pending: queue.Queue[tuple[str, bytes, str | None]] = queue.Queue()
        self._results: dict[str, queue.Queue] = {}
        self._handed_out: dict[str, float] = {}  # request id -> time.monotonic() at hand-out
        self.init_errors: list[dict] = []
        self.last_duration: float | None = None  # seconds from hand-out to answer, last invocation
        self.last_deadline_ms: int | None = None  # the Lambda-Runtime-Deadline-Ms it was given
        self.last_answered_at: float | None = None  # time.monotonic() when the last answer arrived
        self.last_answered_wall: float | None = None  # time.time() when the last answer arrived
        self.last_request_id: str | None = None  # the Lambda-Runtime-Aws-Request-Id of the last invocation
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle's algorithm holds
            # the body until the client's delayed ACK (up to 40 ms) for clients that do not
            # read eagerly, which would be the harness's latency, not the function's.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: bytes = b"{}", headers: dict | None = None):
                try:
                    self.send_response(status)
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the function went away (a test stopped it)

            def do_GET(self):
                if self.path != f"{PREFIX}/invocation/next":
                    return self._reply(404)
                while True:
                    try:
                        request_id, event, trace = api._pending.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if api._closed:
                            return self._reply(500)
                deadline = int((time.time() + api.timeout) * 1000)
                api._handed_out[request_id] = time.monotonic()
                api.last_deadline_ms = deadline
                headers = {
                    "Lambda-Runtime-Aws-Request-Id": request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:inlet-test",
                }
                if trace:
                    headers["Lambda-Runtime-Trace-Id"] = trace
                self._reply(200, event, headers)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if parts == ["init", "error"]:
                    api.init_errors.append(json.loads(body or b"{}"))
                    return self._reply(202)
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    slot = api._results.get(parts[1])
                    if slot is None:
                        return self._reply(400)
                    slot.put((parts[2], body, time.monotonic(), time.time()))
                    if api.response_delay:
                        time.sleep(api.response_delay)
                    return self._reply(202)
                self._reply(404)

        self._closed = False
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict | str, timeout: float | None = None, trace: str | None = TRACE_HEADER) -> dict:
        """Hands `event` to the function and returns its response (API Gateway proxy shape).

        Waits up to `timeout` seconds for the answer: by default the function's timeout plus 10 s
        (at least 20 s), so a function that overruns its deadline is still seen answering late.
        Sets `last_duration`: seconds from handing the event out to the answer's arrival.
        `trace` is the invocation's X-Ray trace header (None: tracing not active).
        """
        if timeout is None:
            timeout = max(20.0, self.timeout + 10.0)
        request_id = str(uuid.uuid4())
        self.last_request_id = request_id
        slot: queue.Queue = queue.Queue()
        self._results[request_id] = slot
        payload = event if isinstance(event, str) else json.dumps(event)
        self.last_duration = None
        self._pending.put((request_id, payload.encode(), trace))
        kind, body, answered_at, answered_wall = slot.get(timeout=timeout)
        self.last_duration = answered_at - self._handed_out.pop(request_id)
        self.last_answered_at = answered_at
        self.last_answered_wall = answered_wall
        if kind == "error":
            raise AssertionError(f"function reported an error: {body!r}")
        return json.loads(body)

    def close(self) -> None:
        self._closed = True
        self.server.shutdown()


class Function:
    """A function binary running against a RuntimeApi, with its own log file. `binary` is the
    executable, or a whole command line (an interpreter and its script, or a profiler around it)."""

    def __init__(self, binary: Path | list[str], env: dict[str, str], log_path: Path, timeout: float = 30.0,
                 response_delay: float = 0.0) -> None:
        command = [str(a) for a in binary] if isinstance(binary, list) else [str(binary)]
        binary = Path(command[-1])
        self.api = RuntimeApi(timeout=timeout, response_delay=response_delay)
        self.timeout = timeout
        self.log_path = log_path
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": binary.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{binary.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/22/[$LATEST]test",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **env,
        }
        self._log = open(log_path, "wb")
        self.started_at = time.monotonic()  # just before the process starts (cold-start timing)
        self.process = subprocess.Popen(command, env=full_env, stdout=self._log, stderr=subprocess.STDOUT)

    def invoke(self, event: dict | str, trace: str | None = TRACE_HEADER) -> dict:
        """Invokes the function once and returns its response; see `last_duration`."""
        if self.process.poll() is not None:
            raise AssertionError(f"function exited with {self.process.returncode}: {self.logs()}")
        return self.api.invoke(event, trace=trace)

    @property
    def last_duration(self) -> float | None:
        """Seconds from handing the last event to the function until its answer arrived."""
        return self.api.last_duration

    @property
    def last_deadline_ms(self) -> int | None:
        """The `Lambda-Runtime-Deadline-Ms` (epoch milliseconds) the last invocation was given."""
        return self.api.last_deadline_ms

    def wait_started(self, timeout: float = 20) -> None:
        """Waits for the function's "started" log line: its start-up checks are done."""
        deadline = time.monotonic() + timeout
        while '"message":"started"' not in self.logs():
            if self.process.poll() is not None:
                raise AssertionError(f"function exited with {self.process.returncode}: {self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"function did not start: {self.logs()}")
            time.sleep(0.05)

    def wait_exit(self, timeout: float = 20) -> int:
        return self.process.wait(timeout=timeout)

    def logs(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.api.close()
        self._log.close()

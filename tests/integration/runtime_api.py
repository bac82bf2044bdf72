"""A Lambda Runtime API on loopback: the same HTTP interface Lambda gives a `provided.al2023`
function, so the compiled `bootstrap`/function binaries run here exactly as they would there.

Implements /runtime/invocation/next, /response, /error and /init/error of the 2018-06-01 API.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    def __init__(self) -> None:
        self._pending: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._results: dict[str, queue.Queue] = {}
        self.init_errors: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

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
                        request_id, event = api._pending.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if api._closed:
                            return self._reply(500)
                deadline = int((time.time() + 30) * 1000)
                self._reply(
                    200,
                    event,
                    {
                        "Lambda-Runtime-Aws-Request-Id": request_id,
                        "Lambda-Runtime-Deadline-Ms": str(deadline),
                        "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:inlet-test",
                        "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                    },
                )

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
                    slot.put((parts[2], body))
                    return self._reply(202)
                self._reply(404)

        self._closed = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict | str, timeout: float = 20) -> dict:
        """Hands `event` to the function and returns its response (API Gateway proxy shape)."""
        request_id = str(uuid.uuid4())
        slot: queue.Queue = queue.Queue()
        self._results[request_id] = slot
        payload = event if isinstance(event, str) else json.dumps(event)
        self._pending.put((request_id, payload.encode()))
        kind, body = slot.get(timeout=timeout)
        if kind == "error":
            raise AssertionError(f"function reported an error: {body!r}")
        return json.loads(body)

    def close(self) -> None:
        self._closed = True
        self.server.shutdown()


class Function:
    """A function binary running against a RuntimeApi, with its own log file."""

    def __init__(self, binary: Path, env: dict[str, str], log_path: Path) -> None:
        self.api = RuntimeApi()
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
        self.process = subprocess.Popen([str(binary)], env=full_env, stdout=self._log, stderr=subprocess.STDOUT)

    def invoke(self, event: dict | str) -> dict:
        if self.process.poll() is not None:
            raise AssertionError(f"function exited with {self.process.returncode}: {self.logs()}")
        return self.api.invoke(event)

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

"""A minimal Lambda Runtime API client: a stand-in for AWS's managed Python runtime, so the
reference peer runs under the benchmark's local Runtime API the way it would run on Lambda.
Not a copy of AWS's runtime (awslambdaric): it does only what the peer needs.

Imports the handler (`_HANDLER`, default `handler.handler`) once, which runs its init (clients,
the secret); then loops: GET the next invocation, call the handler, POST its return value as the
response, or POST an error when it raises. If import/init fails it POSTs /runtime/init/error and
exits 1. One persistent HTTP/1.1 connection to the Runtime API, standard library only.
"""

import http.client
import importlib
import json
import os
import sys
import time
import traceback

BASE = "/2018-06-01/runtime"


class RuntimeApi:
    def __init__(self, address: str):
        self.conn = http.client.HTTPConnection(address)

    def call(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """(status, headers, body); reconnects once if the kept-alive connection was closed."""
        for attempt in (1, 2):
            try:
                self.conn.request(method, BASE + path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                return resp.status, resp, resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the next request opens a new connection
                if attempt == 2:
                    raise

    def post_error(self, path: str, error: BaseException, error_type: str) -> None:
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        traceback.print_exception(error, file=sys.stderr)
        body = json.dumps({
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }).encode()
        self.call("POST", path, body, {"Content-Type": "application/json",
                                       "Lambda-Runtime-Function-Error-Type": error_type})


class LambdaContext:
    """The parts of Lambda's context object a handler commonly reads."""

    def __init__(self, request_id: str, resp):
        self.aws_request_id = request_id
        self.invoked_function_arn = resp.getheader("Lambda-Runtime-Invoked-Function-Arn", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = int(resp.getheader("Lambda-Runtime-Deadline-Ms", "0"))

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def main() -> None:
    # Lambda sets both; botocore reads only AWS_DEFAULT_REGION, and a local harness may set only AWS_REGION.
    if "AWS_REGION" in os.environ:
        os.environ.setdefault("AWS_DEFAULT_REGION", os.environ["AWS_REGION"])
    sys.stdout.reconfigure(line_buffering=True)  # log lines reach the log as they are written
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module_name, _, function_name = os.environ.get("_HANDLER", "handler.handler").rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as e:  # noqa: BLE001 - any init failure is reported to Lambda
        api.post_error("/init/error", e, "Runtime.ImportModuleError")
        sys.exit(1)
    print(json.dumps({"level": "INFO", "message": "started"}, separators=(",", ":")))

    while True:
        status, resp, event = api.call("GET", "/invocation/next")
        if status != 200:
            sys.exit(f"the Runtime API answered {status} to /invocation/next")
        request_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
        trace_id = resp.getheader("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        try:
            result = handler(json.loads(event), LambdaContext(request_id, resp))
            answer = json.dumps(result).encode()
        except Exception as e:  # noqa: BLE001 - reported to Lambda, the loop goes on
            api.post_error(f"/invocation/{request_id}/error", e, "Runtime.Unhandled")
            continue
        api.call("POST", f"/invocation/{request_id}/response", answer, {"Content-Type": "application/json"})


if __name__ == "__main__":
    main()

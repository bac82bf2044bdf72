"""A fault-injecting HTTP proxy between the functions under test and moto.

The functions talk to AWS through one endpoint (`AWS_ENDPOINT_URL`). Point that at a
`FaultProxy` instead of moto and every request passes through here: by default it is
forwarded to moto unchanged, but a test can make chosen requests fail the way real AWS
or a real network fails:

    proxy = FaultProxy(moto_url)
    proxy.add("sqs", "SendMessage", Status(sqs_throttled()), times=1)   # answer, don't forward
    proxy.add("sqs", "SendMessage", AfterStore(Reset()))                 # stored, but no answer
    proxy.add("secretsmanager", "*", Delay(2.0))                         # slow, then forwarded
    proxy.down(); ...; proxy.up()                                        # connection refused
    proxy.requests  # what was asked, and what was done to it

Requests are identified as (service, operation), e.g. ("sqs", "SendMessage"): from the
`X-Amz-Target` header (AWS JSON protocol: SQS, DynamoDB, Secrets Manager), else from the
SigV4 credential scope plus the `Action=` parameter (query protocol) or, for S3 (REST-XML),
the HTTP method and path.

Standard library only. Each client connection gets a thread and may carry many requests
(HTTP/1.1 keep-alive, Content-Length or chunked request bodies); each forwarded request
opens its own short connection to moto (moto's server answers `Connection: close` anyway),
and moto's status, headers and body are passed back as they came (bodies re-framed with
Content-Length).
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import struct
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Callable, Optional

__all__ = [
    "FaultProxy",
    "RequestRecord",
    "Response",
    "Status",
    "Reset",
    "Delay",
    "AfterStore",
    "aws_json_error",
    "sqs_internal_error",
    "sqs_throttled",
    "sqs_queue_does_not_exist",
    "sqs_access_denied",
    "sqs_message_too_long",
    "sqs_invalid_message_contents",
    "dynamodb_throttled",
    "dynamodb_internal_error",
    "secretsmanager_internal_error",
    "s3_internal_error",
    "s3_slow_down",
    "identify",
]

# Headers that describe one hop, not the message: never copied from one connection to the other.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "content-length",
}
_MAX_LINE = 65536


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def _header(headers: list[tuple[str, str]], name: str) -> Optional[str]:
    """The first value of header `name` (any case), or None."""
    name = name.lower()
    return next((v for k, v in headers if k.lower() == name), None)


@dataclass
class Request:
    """One request as read from a client connection (body already de-chunked)."""

    method: str
    target: str  # the request-target: path and query string
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        return _header(self.headers, name)


@dataclass
class Response:
    """An HTTP response to send to the client (forwarded from moto, or made up by a fault)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    reason: str = ""

    def header(self, name: str) -> Optional[str]:
        return _header(self.headers, name)


# ---------------------------------------------------------------------------------------------
# Identifying the service and operation
# ---------------------------------------------------------------------------------------------

# X-Amz-Target prefixes (the smithy service's "targetPrefix") → signing name.
_TARGET_PREFIXES = {
    "amazonsqs": "sqs",
    "dynamodb_20120810": "dynamodb",
    "dynamodbstreams_20120810": "dynamodb",
    "secretsmanager": "secretsmanager",
}
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")


def _scope_service(req: Request) -> Optional[str]:
    """The service name from the SigV4 credential scope (header, or presigned query string)."""
    m = _CREDENTIAL_SCOPE.search(req.header("authorization") or "")
    if m:
        return m.group(1)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.target).query)
    cred = (query.get("X-Amz-Credential") or [""])[0].split("/")
    if len(cred) == 5 and cred[4] == "aws4_request":
        return cred[3]
    return None


def _query_action(req: Request) -> Optional[str]:
    """`Action=` of the query protocol: in a form-encoded body, or in the query string."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.target).query)
    if "Action" in query:
        return query["Action"][0]
    if "x-www-form-urlencoded" in (req.header("content-type") or "") and req.body:
        form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0]
    return None


def _s3_operation(req: Request) -> str:
    """A best-effort S3 operation name from the method, path and sub-resource parameters."""
    parts = urllib.parse.urlsplit(req.target)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    segments = [s for s in parts.path.split("/") if s]
    host = (req.header("host") or "").split(":")[0]
    # Virtual-hosted style (bucket.host): the bucket is in the Host header, the key is the whole path.
    virtual_host = host.count(".") >= 1 and not re.fullmatch(r"[\d.]+", host) and host != "localhost"
    has_key = bool(segments) if virtual_host else len(segments) >= 2
    method = req.method.upper()
    if has_key:
        if "uploadId" in query:
            return {
                "PUT": "UploadPart",
                "POST": "CompleteMultipartUpload",
                "DELETE": "AbortMultipartUpload",
                "GET": "ListParts",
            }.get(method, method)
        if method == "POST" and "uploads" in query:
            return "CreateMultipartUpload"
        if method == "PUT" and req.header("x-amz-copy-source"):
            return "CopyObject"
        return {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(
            method, method
        )
    if not segments and not virtual_host:
        return "ListBuckets" if method == "GET" else method
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    return {"PUT": "CreateBucket", "HEAD": "HeadBucket", "DELETE": "DeleteBucket"}.get(method, method)


def identify(req: Request) -> tuple[str, str]:
    """(service, operation) of a request, e.g. ("sqs", "SendMessage") or ("s3", "PutObject").

    AWS JSON protocol: `X-Amz-Target: <prefix>.<Operation>`. Otherwise the service is the SigV4
    credential scope's, and the operation the query protocol's `Action=` or, for S3, derived from
    the method and path. Unknown parts are "?".
    """
    scope = _scope_service(req)
    target = req.header("x-amz-target")
    if target and "." in target:
        prefix, _, operation = target.rpartition(".")
        service = _TARGET_PREFIXES.get(prefix.lower()) or scope or prefix.lower()
        return service, operation
    action = _query_action(req)
    if action:
        return scope or "?", action
    if scope == "s3":
        return "s3", _s3_operation(req)
    return scope or "?", req.method.upper()


# ---------------------------------------------------------------------------------------------
# Faults ("actions")
# ---------------------------------------------------------------------------------------------
#
# An action is anything with `run(exchange, respond)`: `exchange` lets it answer the client
# (`exchange.send(response)`) or drop the connection (`exchange.reset()`); `respond()` returns the
# answer the request would otherwise get (normally: forward it to moto now; inside AfterStore:
# moto's answer that was already fetched).


class Status:
    """Answer with this response instead of forwarding: moto never sees the request."""

    def __init__(self, code: int | Response, body: bytes | str = b"", headers: Optional[dict[str, str]] = None):
        if isinstance(code, Response):
            self.response = code
        else:
            data = body.encode() if isinstance(body, str) else body
            self.response = Response(code, list((headers or {}).items()), data)

    def run(self, exchange: "_Exchange", respond: Callable[[], Response]) -> None:
        exchange.send(self.response)

    def __repr__(self) -> str:
        return f"Status({self.response.status})"


class Reset:
    """Read the request, then drop the connection with a TCP RST (SO_LINGER 0), answering nothing."""

    def run(self, exchange: "_Exchange", respond: Callable[[], Response]) -> None:
        exchange.reset()

    def __repr__(self) -> str:
        return "Reset()"


class Delay:
    """Wait `seconds`, then forward (or, inside AfterStore, return moto's real answer late),
    or apply `then` instead."""

    def __init__(self, seconds: float, then=None):
        self.seconds = seconds
        self.then = then

    def run(self, exchange: "_Exchange", respond: Callable[[], Response]) -> None:
        if not exchange.sleep(self.seconds):
            return exchange.drop()  # the proxy is closing or down
        if self.then is not None:
            self.then.run(exchange, respond)
        else:
            exchange.send(respond())

    def __repr__(self) -> str:
        return f"Delay({self.seconds:g}" + (f", then={self.then!r})" if self.then is not None else ")")


class AfterStore:
    """Forward to moto first (so the side effect happens: the message IS stored), then apply
    `action` in place of moto's answer: a Status or Reset discards it, a Delay returns it late."""

    def __init__(self, action):
        self.action = action

    def run(self, exchange: "_Exchange", respond: Callable[[], Response]) -> None:
        stored = respond()
        self.action.run(exchange, lambda: stored)

    def __repr__(self) -> str:
        return f"AfterStore({self.action!r})"


# ---------------------------------------------------------------------------------------------
# Realistic error responses
# ---------------------------------------------------------------------------------------------


def aws_json_error(
    status: int,
    type_name: str,
    message: str,
    query_error: Optional[str] = None,
    *,
    namespace: str = "com.amazonaws.sqs",
    content_type: str = "application/x-amz-json-1.0",
) -> Response:
    """An AWS JSON protocol error: `{"__type": "<namespace>#<type_name>", "message": ...}`.

    `type_name` may already be qualified ("ns#Name"). `query_error` is for "awsQueryCompatible"
    services (SQS): the `x-amzn-query-error: <Code>;<Sender|Receiver>` header, from which the SDKs
    take the error *code* (it overrides `__type`); give "Code" (the fault part is added from the
    status) or "Code;Fault".
    """
    qualified = type_name if "#" in type_name else f"{namespace}#{type_name}"
    headers = [("x-amzn-RequestId", str(uuid.uuid4())), ("Content-Type", content_type)]
    if query_error:
        if ";" not in query_error:
            query_error += ";Sender" if status < 500 else ";Receiver"
        headers.append(("x-amzn-query-error", query_error))
    body = json.dumps({"__type": qualified, "message": message}).encode()
    return Response(status, headers, body)


# SQS (AWS JSON 1.0, awsQueryCompatible). Shapes and codes: the SQS smithy model,
# aws/api-models-aws models/sqs/service/2012-11-05/sqs-2012-11-05.json (awsQueryError traits).
# The Rust SDK takes the error code from `x-amzn-query-error` when present
# (awslabs/aws-sdk-rust sdk/sqs/src/protocol_serde.rs `parse_http_error_metadata`,
# sdk/sqs/src/aws_query_compatible_errors.rs) and matches SendMessageError variants on it
# (sdk/sqs/src/protocol_serde/shape_send_message.rs). Checked against the versions this project
# locks: aws-sdk-sqs 1.119.0 and aws-runtime 1.10.2 (THROTTLING_ERRORS) in the cargo registry.


def sqs_internal_error() -> Response:
    """500 InternalFailure (Receiver). Not a modeled SQS shape: the SDK sees an unhandled error and
    retries it for the status alone (smithy-lang/smithy-rs rust-runtime/aws-smithy-runtime/src/
    client/retries/classifiers.rs: TRANSIENT_ERROR_STATUS_CODES = 500, 502, 503, 504). The code is
    the generic AWS one, as in the `InternalFailure;Receiver` example of aws/aws-sdk-js-v3 PR #3972
    (query-compatible error header)."""
    return aws_json_error(
        500,
        "InternalFailure",
        "We encountered an internal error. Please try again.",
        "InternalFailure;Receiver",
        namespace="com.amazon.coral.service",
    )


def sqs_throttled() -> Response:
    """403 RequestThrottled (Sender): what SQS returns when throttling SendMessage & co.

    Model: `com.amazonaws.sqs#RequestThrottled` with awsQueryError code "RequestThrottled",
    httpError 403 (api-models-aws sqs-2012-11-05.json; botocore data/_retry.json has the same pair
    for sqs). The Rust SDK maps it to `SendMessageError::RequestThrottled` and retries it as a
    throttling error because "RequestThrottled" is in THROTTLING_ERRORS (smithy-lang/smithy-rs
    aws/rust-runtime/aws-runtime/src/retries/classifiers.rs, AwsErrorCodeClassifier) — by code only:
    403 is not a retryable status."""
    return aws_json_error(403, "RequestThrottled", "Rate exceeded", "RequestThrottled;Sender")


def sqs_queue_does_not_exist() -> Response:
    """400 QueueDoesNotExist, query code AWS.SimpleQueueService.NonExistentQueue (Sender): exactly the
    example response of the SQS Developer Guide, "Interpreting Amazon SQS JSON API responses"
    (sqs-json-api-responses.html), and the model's awsQueryError trait."""
    return aws_json_error(
        400,
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        "AWS.SimpleQueueService.NonExistentQueue;Sender",
    )


def sqs_access_denied() -> Response:
    """403 AccessDenied (Sender). SQS's common error list (API reference "Common Errors":
    AccessDenied, 403); not a modeled SQS shape, so the body carries the generic
    AccessDeniedException type and the SDK reports an unhandled error with code "AccessDenied"."""
    return aws_json_error(
        403,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/inlet/inlet is not authorized to perform: "
        "sqs:sendmessage on resource: arn:aws:sqs:us-east-1:123456789012:inlet because no "
        "identity-based policy allows the sqs:sendmessage action",
        "AccessDenied;Sender",
        namespace="com.amazon.coral.service",
    )


def sqs_message_too_long(limit: int = 1048576) -> Response:
    """400 InvalidParameterValue (Sender): SQS's answer to a body over the queue's
    MaximumMessageSize. There is no modeled shape for it (InvalidParameterValue is generic,
    aws/aws-sdk issue #267); the message text is the one real SQS returns (quoted in
    getmoto/moto #450, aws/aws-sdk-net #4001, ...) and moto's own check
    (moto/sqs/models.py: "Message must be shorter than {maximum_message_size} bytes."), whose JSON
    answer has the same __type (com.amazonaws.sqs#InvalidParameterValue) and query-error header.
    Real SQS's default limit is now 1 MiB (1048576); pass the queue's MaximumMessageSize."""
    return aws_json_error(
        400,
        "InvalidParameterValue",
        f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
        "InvalidParameterValue;Sender",
    )


def sqs_invalid_message_contents() -> Response:
    """400 InvalidMessageContents (Sender): modeled SendMessage error (no awsQueryError trait, so
    the code is the shape name; SendMessageError::InvalidMessageContents in the Rust SDK).
    Note: the current SQS model's SendMessage documentation says SQS now replaces invalid
    characters with U+FFFD instead of rejecting, and moto accepts them, so only this fault
    produces the error."""
    return aws_json_error(
        400,
        "InvalidMessageContents",
        "Invalid binary character '#x1' was found in the message body, the set of allowed characters is "
        "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        "InvalidMessageContents;Sender",
    )


# DynamoDB (AWS JSON 1.0, not query compatible: the code is the part of __type after '#').


def dynamodb_throttled(kind: str = "ProvisionedThroughputExceededException") -> Response:
    """400 ProvisionedThroughputExceededException (or kind="ThrottlingException"), both modeled
    PutItem errors (botocore data/dynamodb/2012-08-10/service-2.json) and both in the Rust SDK's
    THROTTLING_ERRORS (aws-runtime retries/classifiers.rs); botocore data/_retry.json has the same
    code with status 400 ("throughput_exceeded")."""
    namespace = "com.amazon.coral.availability" if kind == "ThrottlingException" else "com.amazonaws.dynamodb.v20120810"
    message = (
        "Rate of requests exceeds the allowed throughput."
        if kind == "ThrottlingException"
        else "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API."
    )
    return aws_json_error(400, kind, message, namespace=namespace)


def dynamodb_internal_error() -> Response:
    """500 InternalServerError (modeled DynamoDB server fault; retried for the 500 status)."""
    return aws_json_error(
        500,
        "InternalServerError",
        "Internal server error",
        namespace="com.amazonaws.dynamodb.v20120810",
    )


def secretsmanager_internal_error() -> Response:
    """500 InternalServiceError (modeled Secrets Manager server fault; AWS JSON 1.1)."""
    return aws_json_error(
        500,
        "InternalServiceError",
        "An error occurred on the server side.",
        namespace="com.amazonaws.secretsmanager",
        content_type="application/x-amz-json-1.1",
    )


def _s3_error(status: int, code: str, message: str) -> Response:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{uuid.uuid4().hex}</HostId></Error>"
    ).encode()
    return Response(status, [("x-amz-request-id", request_id), ("Content-Type", "application/xml")], body)


def s3_internal_error() -> Response:
    """500 InternalError, S3 REST-XML error body (S3 API reference, "Error responses": InternalError,
    "We encountered an internal error. Please try again.", 500)."""
    return _s3_error(500, "InternalError", "We encountered an internal error. Please try again.")


def s3_slow_down() -> Response:
    """503 SlowDown (S3's throttling; "SlowDown" is in the Rust SDK's THROTTLING_ERRORS)."""
    return _s3_error(503, "SlowDown", "Please reduce your request rate.")


# ---------------------------------------------------------------------------------------------
# The log
# ---------------------------------------------------------------------------------------------


@dataclass
class RequestRecord:
    """One request seen by the proxy.

    `fault` is the repr of the action applied (None: plainly forwarded); `upstream_status` is
    moto's status if the request was forwarded (None: moto never answered it); `status` is what
    the client was sent (None: nothing, e.g. after a Reset). Times are `time.time()`.
    """

    service: str
    operation: str
    fault: Optional[str]
    upstream_status: Optional[int]
    time: float
    method: str = ""
    path: str = ""
    status: Optional[int] = None


# ---------------------------------------------------------------------------------------------
# The proxy
# ---------------------------------------------------------------------------------------------


class _Rule:
    def __init__(self, service: str, operation: str, action, times: Optional[int]):
        self.service, self.operation, self.action, self.remaining = service, operation, action, times

    def matches(self, service: str, operation: str) -> bool:
        return self.service in ("*", service) and self.operation in ("*", operation)


class _ConnectionDone(Exception):
    """Raised inside a connection's thread once its socket is gone (reset, dropped, client left)."""


class _Reader:
    """Minimal buffered reader over a socket (kept by hand so a Reset can close the socket at once)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def readline(self) -> bytes:
        while b"\n" not in self.buf:
            if len(self.buf) > _MAX_LINE:
                raise ValueError("line too long")
            if not self._fill():
                line, self.buf = self.buf, b""
                return line
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise _ConnectionDone("client closed mid-body")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


class _Exchange:
    """One request on one client connection, as seen by an action."""

    def __init__(
        self, proxy: "FaultProxy", conn: socket.socket, request: Request, record: RequestRecord, close_after: bool
    ):
        self.proxy, self.conn, self.request, self.record = proxy, conn, request, record
        self.close_after = close_after
        self.answered = False

    def forward(self) -> Response:
        """Send the request to moto and return its answer (a 502 if moto cannot be reached)."""
        try:
            resp = self.proxy._forward(self.request)
        except (OSError, http.client.HTTPException) as e:
            upstream = f"{self.proxy.upstream_host}:{self.proxy.upstream_port}"
            return Response(502, [("Content-Type", "text/plain")], f"faultproxy: upstream {upstream}: {e}".encode())
        self.record.upstream_status = resp.status
        return resp

    def send(self, response: Response) -> None:
        """Write `response` to the client."""
        head_only = self.request.method.upper() == "HEAD" or response.status in (204, 304) or response.status < 200
        reason = response.reason or _reason(response.status)
        lines = [f"HTTP/1.1 {response.status} {reason}"]
        names = set()
        for k, v in response.headers:
            lk = k.lower()
            names.add(lk)
            if lk in _HOP_BY_HOP and not (lk == "content-length" and head_only):
                continue
            lines.append(f"{k}: {v}")
        if not head_only:
            lines.append(f"Content-Length: {len(response.body)}")
        if "date" not in names:
            lines.append(f"Date: {formatdate(usegmt=True)}")
        if self.close_after:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else response.body)
        # Logged before sending: a client may look at the log as soon as it has the answer.
        self.record.status = response.status
        self.answered = True
        try:
            self.conn.sendall(data)
        except OSError as e:
            self.record.status = None
            raise _ConnectionDone(f"client gone: {e}") from None

    def reset(self) -> None:
        """Drop the connection with a TCP RST."""
        try:
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.drop()

    def drop(self) -> None:
        """Close the connection without answering."""
        try:
            self.conn.close()
        except OSError:
            pass
        raise _ConnectionDone("dropped")

    def sleep(self, seconds: float) -> bool:
        """Wait; False if the proxy closed (or went down) meanwhile."""
        gen = self.proxy._generation
        self.proxy._closing.wait(seconds)
        return not self.proxy._closing.is_set() and self.proxy._generation == gen


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 (free port, `.url`) that forwards to `upstream_url` (moto) unless
    a rule says otherwise. Started on construction; `close()` when done (or use `with`)."""

    def __init__(self, upstream_url: str, port: int = 0, upstream_timeout: float = 60.0):
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.upstream_timeout = upstream_timeout
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._log: list[RequestRecord] = []
        self._conns: set[socket.socket] = set()
        self._closing = threading.Event()
        self._generation = 0
        self.connections_accepted = 0  # client connections accepted so far (keep-alive reuses one)
        self._listener: Optional[socket.socket] = None
        self._accept_thread: Optional[threading.Thread] = None
        self.port = port
        self._listen()
        self.url = f"http://127.0.0.1:{self.port}"

    # -- rules -----------------------------------------------------------------------------

    def add(self, service: str, operation: str, action, times: Optional[int] = None) -> None:
        """Apply `action` to matching requests: every one (`times=None`) or the next `times`.

        `service` and `operation` as `identify` names them ("sqs", "SendMessage"); either may be "*".
        Rules are tried in the order added; the first live match wins.
        """
        if times is not None and times < 1:
            raise ValueError("times must be positive (or None for every request)")
        with self._lock:
            self._rules.append(_Rule(service, operation, action, times))

    def clear(self) -> None:
        """Remove every rule: from now on requests are forwarded untouched."""
        with self._lock:
            self._rules.clear()

    def _take(self, service: str, operation: str):
        with self._lock:
            for rule in self._rules:
                if rule.matches(service, operation):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            self._rules.remove(rule)
                    return rule.action
        return None

    # -- log -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the log, oldest first."""
        with self._lock:
            return list(self._log)

    def calls(self, service: Optional[str] = None, operation: Optional[str] = None) -> list[RequestRecord]:
        """The logged requests for one service (and operation)."""
        return [
            r
            for r in self.requests
            if (service is None or r.service == service) and (operation is None or r.operation == operation)
        ]

    def clear_log(self) -> None:
        """Forget the requests logged so far."""
        with self._lock:
            self._log.clear()

    # -- lifecycle -------------------------------------------------------------------------

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        sock.settimeout(0.2)  # fallback wake-up; shutdown() wakes accept() at once on Linux
        self.port = sock.getsockname()[1]
        self._listener = sock
        gen = self._generation
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(sock, gen), name=f"faultproxy-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()

    def _accept_loop(self, sock: socket.socket, gen: int) -> None:
        while self._generation == gen and not self._closing.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if self._generation != gen:
                conn.close()
                return
            conn.settimeout(None)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
                self.connections_accepted += 1
            threading.Thread(target=self._serve, args=(conn,), name="faultproxy-conn", daemon=True).start()

    def _stop_listening(self) -> None:
        self._generation += 1
        sock, self._listener = self._listener, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # stop listening now, wake the accept()
            except OSError:
                pass
            sock.close()
        if self._accept_thread is not None and self._accept_thread is not threading.current_thread():
            self._accept_thread.join(timeout=2)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def down(self) -> None:
        """Stop accepting: new connections are refused, open ones are closed (requests in flight
        get no answer). `up()` listens again on the same port."""
        if self._listener is not None:
            self._stop_listening()

    def up(self) -> None:
        """Accept connections again, on the same port."""
        if self._closing.is_set():
            raise RuntimeError("proxy is closed")
        if self._listener is None:
            self._listen()

    @property
    def is_up(self) -> bool:
        return self._listener is not None

    def close(self) -> None:
        """Stop everything: listener, client connections, pending delays."""
        self._closing.set()
        self._stop_listening()

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- per connection --------------------------------------------------------------------

    def _serve(self, conn: socket.socket) -> None:
        reader = _Reader(conn)
        try:
            while not self._closing.is_set():
                request, close_after = self._read_request(conn, reader)
                if request is None:
                    return
                self._handle(conn, request, close_after)
                if close_after:
                    return
        except (_ConnectionDone, OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _read_request(self, conn: socket.socket, reader: _Reader) -> tuple[Optional[Request], bool]:
        line = reader.readline()
        while line in (b"\r\n", b"\n"):  # tolerate stray blank lines between requests
            line = reader.readline()
        if not line:
            return None, True
        parts = line.decode("latin-1").strip().split()
        if len(parts) != 3:
            raise ValueError(f"bad request line {line!r}")
        method, target, version = parts
        headers: list[tuple[str, str]] = []
        while True:
            h = reader.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        req = Request(method, target, version, headers, b"")
        if (req.header("expect") or "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in (req.header("transfer-encoding") or "").lower():
            req.body = self._read_chunked(reader)
        else:
            req.body = reader.read(int(req.header("content-length") or 0))
        connection = (req.header("connection") or "").lower()
        close_after = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        return req, close_after

    @staticmethod
    def _read_chunked(reader: _Reader) -> bytes:
        body = b""
        while True:
            size_line = reader.readline()
            if not size_line:
                raise _ConnectionDone("client closed mid-chunk")
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return body
            body += reader.read(size)
            reader.read(2)  # CRLF after the chunk data

    def _handle(self, conn: socket.socket, request: Request, close_after: bool) -> None:
        service, operation = identify(request)
        action = self._take(service, operation)
        record = RequestRecord(
            service,
            operation,
            repr(action) if action is not None else None,
            None,
            time.time(),
            request.method,
            urllib.parse.urlsplit(request.target).path,
        )
        with self._lock:
            self._log.append(record)
        exchange = _Exchange(self, conn, request, record, close_after)
        if action is None:
            exchange.send(exchange.forward())
        elif hasattr(action, "run"):
            action.run(exchange, exchange.forward)
        else:
            action(exchange, exchange.forward)  # a plain function is an action too
        if not exchange.answered:
            raise _ConnectionDone("action left the request unanswered")

    def _forward(self, request: Request) -> Response:
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.upstream_timeout)
        try:
            upstream.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
            for k, v in request.headers:
                if k.lower() not in _HOP_BY_HOP:
                    upstream.putheader(k, v)
            has_body = request.body or request.header("content-length") is not None
            if has_body or request.method.upper() in ("POST", "PUT", "PATCH"):
                upstream.putheader("Content-Length", str(len(request.body)))
            upstream.endheaders(request.body or None)
            resp = upstream.getresponse()
            body = resp.read()
            return Response(resp.status, resp.getheaders(), body, resp.reason)
        finally:
            upstream.close()

    def __repr__(self) -> str:
        return f"FaultProxy({self.url} -> {self.upstream_host}:{self.upstream_port}, {'up' if self.is_up else 'down'})"

"""Reference peer (Python 3.11, boto3): the webhook receiver a careful user would hand-write to do
what Inlet's `github` and `standard` functions do, for the benchmark to compare against. Not part
of the product; see ../README.md for what it leaves out.

Verifies the sender's HMAC-SHA256 signature, wraps the body in a CloudEvents 1.0 envelope,
claim-checks bodies too large for SQS to S3, and sends the envelope to SQS.
Never logs the secret, a signature or the body.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from datetime import datetime, timezone

import boto3
from botocore.config import Config

SOURCE = os.environ["INLET_SOURCE"]  # "github" or "standard"
QUEUE_URL = os.environ["QUEUE_URL"]
BUCKET = os.environ.get("PAYLOAD_BUCKET")
MAX_MESSAGE_BYTES = 262_144  # SQS's limit: the body plus each attribute's name, type and value
TOLERANCE_SECONDS = 300
PROBLEM = "urn:inlet:problem:"

if SOURCE not in ("github", "standard"):
    raise RuntimeError(f"INLET_SOURCE must be github or standard, not {SOURCE!r}")

# Init, once per execution environment. boto3 reads AWS_ENDPOINT_URL, AWS_DEFAULT_REGION (Lambda
# sets it beside AWS_REGION), the credentials and AWS_CA_BUNDLE from the environment itself.
sqs = boto3.client("sqs")
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}))
secretsmanager = boto3.client("secretsmanager")


def _load_keys() -> list[bytes]:
    """The active signing keys, newest first: the SecretString itself, or {"secrets": [...]}."""
    value = secretsmanager.get_secret_value(SecretId=os.environ["WEBHOOK_SECRET_ARN"])["SecretString"]
    secrets = [value]
    if value.lstrip().startswith("{"):
        try:
            listed = json.loads(value).get("secrets")
        except (ValueError, AttributeError):
            listed = None
        if isinstance(listed, list) and listed and all(isinstance(s, str) for s in listed):
            secrets = listed
    if SOURCE == "standard":  # the key is the base64 after "whsec_"
        return [base64.b64decode(s.removeprefix("whsec_"), validate=True) for s in secrets]
    return [s.encode() for s in secrets]


KEYS = _load_keys()


class Rejected(Exception):
    def __init__(self, status: int, slug: str, title: str):
        super().__init__(slug)
        self.status, self.slug, self.title = status, slug, title


NOT_VERIFIED = Rejected(401, "invalid-signature", "Unauthorized")


def bad_request(slug: str) -> Rejected:
    return Rejected(400, slug, "Bad Request")


def rfc3339(seconds: float) -> str:
    """2026-11-23T07:24:34.621Z"""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def verify_github(headers: dict, body: bytes) -> int:
    """The index of the key whose HMAC matches `x-hub-signature-256`."""
    signature = headers.get("x-hub-signature-256", "")
    if not signature.startswith("sha256="):
        raise NOT_VERIFIED
    try:
        given = binascii.unhexlify(signature[len("sha256="):])
    except ValueError:
        raise NOT_VERIFIED from None
    for index, key in enumerate(KEYS):
        if hmac.compare_digest(hmac.new(key, body, hashlib.sha256).digest(), given):
            return index
    raise NOT_VERIFIED


def verify_standard(headers: dict, body: bytes) -> tuple[int, int]:
    """The index of the matching key and the signed timestamp (Standard Webhooks)."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and signatures and timestamp.isascii() and timestamp.isdigit()):
        raise NOT_VERIFIED
    candidates = []
    for entry in signatures.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1":
            try:
                candidates.append(base64.b64decode(value, validate=True))
            except ValueError:
                pass
    signed = f"{msg_id}.{timestamp}.".encode() + body
    for index, key in enumerate(KEYS):
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, c) for c in candidates):
            # Checked only once the signature matched: a stale but genuine request gets 400.
            if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
                raise bad_request("timestamp-out-of-tolerance")
            return index, int(timestamp)
    raise NOT_VERIFIED


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def build_envelope(headers: dict, body: bytes, received: float) -> dict:
    if SOURCE == "github":
        secret_index = verify_github(headers, body)
        verification = "github-hmac-sha256"
    else:
        secret_index, signed_at = verify_standard(headers, body)
        verification = "standard-hmac-sha256"
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:  # also bodies that are not UTF-8
        raise bad_request("invalid-json") from None
    fields = data if isinstance(data, dict) else {}

    subject = None
    if SOURCE == "github":
        event_id = headers.get("x-github-delivery")
        event = headers.get("x-github-event")
        if not event_id or not event:
            raise bad_request("missing-header")
        event_type = f"github.{event}"
        action = fields.get("action")
        if isinstance(action, str) and action:
            event_type += f".{action}"
        repository = fields.get("repository")
        if isinstance(repository, dict) and isinstance(repository.get("full_name"), str):
            subject = repository["full_name"]
        event_time = received
    else:
        event_id = headers["webhook-id"]
        kind = fields.get("type")
        if not isinstance(kind, str) or not kind:
            raise bad_request("missing-field")
        event_type = f"standard.{kind}"
        event_time = signed_at

    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": SOURCE,
        "type": event_type,
        "time": rfc3339(event_time),
    }
    if subject is not None:
        envelope["subject"] = subject
    envelope.update({
        "datacontenttype": "application/json",
        "data": data,
        "inletreceivedat": rfc3339(received),
        "inletbodysha256": hashlib.sha256(body).hexdigest(),
        "inletverification": verification,
        "inletsecret": f"secretsmanager[{secret_index}]",
    })
    return envelope


def encode(envelope: dict) -> str:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))


def message_size(message: str, event_type: str) -> int:
    attributes = len("source") + len("String") + len(SOURCE) + len("type") + len("String") + len(event_type)
    return len(message.encode()) + attributes


def claim_check(envelope: dict, headers: dict, body: bytes) -> dict:
    """Stores the raw body in the payload bucket; the envelope with `dataref` in place of `data`."""
    content_type = headers.get("content-type") or "application/json"
    key = f"payloads/{SOURCE}/{envelope['id']}/{envelope['inletbodysha256']}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
    checked = {}
    for name, value in envelope.items():
        if name == "datacontenttype":
            checked[name] = content_type  # it now describes the stored body
        elif name == "data":
            checked["dataref"] = f"s3://{BUCKET}/{key}"
        else:
            checked[name] = value
    return checked


def reply(status: int, body: dict, content_type: str = "application/json") -> dict:
    return {"statusCode": status, "headers": {"content-type": content_type}, "body": json.dumps(body)}


def problem(rejected: Rejected) -> dict:
    log = {"level": "WARN", "message": "rejected", "status": rejected.status, "problem": rejected.slug}
    print(json.dumps(log, separators=(",", ":")))
    body = {"type": PROBLEM + rejected.slug, "title": rejected.title, "status": rejected.status}
    return reply(rejected.status, body, "application/problem+json")


def handler(event, context):
    received = time.time()
    method = event.get("requestContext", {}).get("http", {}).get("method", "POST")
    if method != "POST":
        rejected = problem(Rejected(405, "method-not-allowed", "Method Not Allowed"))
        rejected["headers"]["allow"] = "POST"
        return rejected
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    try:
        envelope = build_envelope(headers, body, received)
        message = encode(envelope)
    except Rejected as rejected:
        return problem(rejected)
    except RecursionError:  # JSON nested deeper than Python's stack allows, to parse or to write
        return problem(bad_request("json-too-deep"))

    if message_size(message, envelope["type"]) > MAX_MESSAGE_BYTES:
        if not BUCKET:
            return problem(Rejected(413, "payload-too-large", "Payload Too Large"))
        envelope = claim_check(envelope, headers, body)
        message = encode(envelope)

    sent = sqs.send_message(
        QueueUrl=QUEUE_URL,
        MessageBody=message,
        MessageAttributes={
            "source": {"DataType": "String", "StringValue": SOURCE},
            "type": {"DataType": "String", "StringValue": envelope["type"]},
        },
    )
    # One line per delivery, as Inlet writes (ids and type only: never the body or a signature).
    log = {"level": "INFO", "message": "accepted", "source": SOURCE, "id": envelope["id"],
           "type": envelope["type"], "message_id": sent["MessageId"]}
    print(json.dumps(log, separators=(",", ":")))
    return reply(202, {"id": envelope["id"], "type": envelope["type"], "messageId": sent["MessageId"]})

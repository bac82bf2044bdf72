"""Sign requests with the providers' own SDKs (pinned in infra/requirements-test.txt and
tests/sdk/package.json), and wrap them in API Gateway / function URL events."""

from __future__ import annotations

import base64
import datetime
import os
import subprocess
import time
import urllib.parse
import uuid
from pathlib import Path

import stripe
import standardwebhooks
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[2]
SDK_DIR = ROOT / "tests" / "sdk"
SAMPLES = ROOT / "tests" / "fixtures" / "bodies"


def sample(source: str) -> bytes:
    return (SAMPLES / f"{source}.json").read_bytes()


def github_sdk_sign(secret: str, body: bytes) -> str:
    out = subprocess.run(
        ["node", str(SDK_DIR / "github-sign.mjs")],
        input=body,
        capture_output=True,
        env={**os.environ, "GITHUB_SECRET": secret},
        check=True,
        cwd=SDK_DIR,
    )
    return out.stdout.decode()


def github_sdk_verify(secret: str, body: bytes, signature: str) -> bool:
    out = subprocess.run(
        ["node", str(SDK_DIR / "github-sign.mjs"), "--verify", signature],
        input=body,
        env={**os.environ, "GITHUB_SECRET": secret},
        cwd=SDK_DIR,
    )
    return out.returncode == 0


def sdk_signed(source: str, secret: str, body: bytes, *, timestamp: int | None = None, delivery_id: str | None = None,
               content_type: str = "application/json", event: str = "pull_request") -> list[tuple[str, str]]:
    """Headers the real sender would send, with the signature computed by the provider's SDK."""
    ts = int(time.time()) if timestamp is None else timestamp
    delivery_id = delivery_id or f"msg_{uuid.uuid4().hex}"
    headers = [("Content-Type", content_type)]
    if source == "github":
        headers += [
            ("X-GitHub-Event", event),
            ("X-GitHub-Delivery", delivery_id),
            ("X-Hub-Signature-256", github_sdk_sign(secret, body)),
        ]
    elif source == "stripe":
        headers += [("Stripe-Signature", stripe.WebhookSignature.generate_signature_header(body.decode(), secret, timestamp=ts))]
    elif source == "slack":
        sig = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
        headers += [("X-Slack-Request-Timestamp", str(ts)), ("X-Slack-Signature", sig)]
    elif source == "standard":
        when = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
        sig = standardwebhooks.Webhook(secret).sign(delivery_id, when, body.decode())
        headers += [("webhook-id", delivery_id), ("webhook-timestamp", str(ts)), ("webhook-signature", sig)]
    else:
        raise ValueError(source)
    return headers


def api_event(fmt: str, source: str, headers: list[tuple[str, str]], body: bytes, *, base64_body: bool = False,
              method: str = "POST", query: str = "") -> dict:
    """An API Gateway REST (v1), HTTP API (v2) or function URL event, shaped as AWS sends it."""
    path = f"/webhooks/{source}"
    try:
        text = body.decode()
        encoded = base64_body
    except UnicodeDecodeError:
        encoded = True
    payload = base64.b64encode(body).decode() if encoded else text
    if fmt == "v1":
        single, multi = {}, {}
        for k, v in headers:
            single[k] = v
            multi.setdefault(k, []).append(v)
        return {
            "resource": path, "path": path, "httpMethod": method,
            "headers": single, "multiValueHeaders": multi,
            "queryStringParameters": dict(urllib.parse.parse_qsl(query)) or None,
            "multiValueQueryStringParameters": {k: urllib.parse.parse_qs(query)[k] for k in urllib.parse.parse_qs(query)} or None,
            "pathParameters": None, "stageVariables": None,
            "requestContext": {
                "accountId": "123456789012", "apiId": "abc123", "httpMethod": method, "path": f"/prod{path}",
                "protocol": "HTTP/1.1", "requestId": str(uuid.uuid4()), "resourcePath": path, "stage": "prod",
                "identity": {"sourceIp": "192.0.2.1"}, "requestTimeEpoch": int(time.time() * 1000),
                "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            },
            "body": payload, "isBase64Encoded": encoded,
        }
    joined: dict[str, str] = {}
    for k, v in headers:
        k = k.lower()
        joined[k] = f"{joined[k]},{v}" if k in joined else v
    domain = "abc123.execute-api.us-east-1.amazonaws.com" if fmt == "v2" else "xyz.lambda-url.us-east-1.on.aws"
    route = f"{method} {path}" if fmt == "v2" else "$default"
    return {
        "version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": query, "headers": joined,
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123", "domainName": domain, "domainPrefix": domain.split(".")[0],
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": str(uuid.uuid4()), "routeKey": route, "stage": "$default", "timeEpoch": int(time.time() * 1000),
        },
        "body": payload, "isBase64Encoded": encoded,
    }


def response_body(resp: dict) -> bytes:
    body = resp.get("body") or ""
    return base64.b64decode(body) if resp.get("isBase64Encoded") else body.encode()

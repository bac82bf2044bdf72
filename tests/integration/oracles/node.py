"""Senders whose own SDK is on npm, each judged by a small Node script in tests/sdk:

- Telnyx: `telnyx` verifies only (`client.webhooks.unwrap`, Ed25519 over "{timestamp}|{body}",
  300 s either way), so deliveries are signed here with `cryptography` by Telnyx's recipe.
- Mux: `@mux/mux-node` verifies only (`mux.webhooks.unwrap`); deliveries are signed here with
  hmac by its recipe (hex HMAC-SHA256 of "{t}.{body}"). Its window is past-only (a `t` from the
  future passes the SDK); Inlet holds 300 s either way, which the harness checks.
- Sanity: `@sanity/webhook` signs (`encodeSignatureHeader`) and verifies (`isValidSignature`); it
  checks no age, so no window here (Inlet's own 300 s is its unit tests' business).
- Shopify: `@shopify/shopify-api` signs with its test helper `getHmac` and verifies with
  `shopify.webhooks.validate`, which also requires the topic, shop domain, API version and webhook
  id headers; `inlet sign` gets those through `--event` and `--header`.
- Linear: `@linear/sdk` verifies only (`LinearWebhookClient.verify`); deliveries are signed here with
  hmac (hex HMAC-SHA256 of the body). Its timestamp is the body's `webhookTimestamp` (ms, 60 s
  either way), so the body is built for each signing time (`body_at`).
- Contentful: `@contentful/node-apps-toolkit` signs (`signRequest`: the canonical request, with the
  topic and content type among the signed headers) and verifies (`verifyRequest`, 30 s, past only;
  Inlet holds 30 s either way). Each delivery gets an id of its own (nothing is suppressed), so
  `want` names no id.
- Webflow: `webflow-api` verifies only (`webhooks.verifySignature`, hex HMAC-SHA256 of
  "{timestamp}:{body}"), so deliveries are signed here with hmac; it checks no age, so no window.
Contentful's and Webflow's scripts are inline (`node --input-type=module -e`, run in tests/sdk).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from . import SDK_DIR, Headers, Oracle, header, node

# Envelope times keep the milliseconds a sender's time has (finer digits are dropped).


def _body(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _accepted(script: str, body: bytes, env: dict) -> bool:
    return node(script, "verify", stdin=body, env=env).returncode == 0


def _signed(script: str, body: bytes, env: dict, *args: str) -> str:
    done = node(script, "sign", *args, stdin=body, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode())
    return done.stdout.decode()


# Telnyx ---------------------------------------------------------------------------------------


def _ed25519_public(seed_hex: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)).public_key()
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def telnyx_sign(seed_hex: str, body: bytes, ts: int, _id: str) -> Headers:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
    sig = base64.b64encode(key.sign(f"{ts}|".encode() + body)).decode()
    return [("Content-Type", "application/json"), ("telnyx-signature-ed25519", sig), ("telnyx-timestamp", str(ts))]


def telnyx_verify(public_key: str, headers: Headers, body: bytes) -> bool:
    return _accepted("telnyx-oracle.mjs", body, {"TELNYX_PUBLIC_KEY": public_key, "SDK_HEADERS": json.dumps(headers)})


TELNYX_SEED = "f5a0d9ad103b8cadb8214b364600101402bffad50fc416b846c05c8ae4f662eb"
TELNYX = Oracle(
    source="telnyx",
    sdk="telnyx 7.24.0 (npm)",
    secret=TELNYX_SEED,
    verify_secret=_ed25519_public(TELNYX_SEED),
    wrong_secret="8062123a93dfead910d88a02c94b17a4a34d8dbde1e0815d125625833115afdc",
    body=_body({
        "data": {
            "event_type": "message.received",
            "id": "b301ed3f-1490-491f-995f-6e64e69674d4",
            "occurred_at": "2024-01-15T20:16:07.588+00:00",
            "payload": {
                "id": "84cca175-9755-4859-b67f-4730d7f58aa3", "direction": "inbound", "type": "SMS",
                "from": {"phone_number": "+13125550001", "carrier": "T-Mobile USA", "line_type": "long_code"},
                "to": [{"phone_number": "+17735550002", "status": "webhook_delivered"}],
                "text": "Hello from Telnyx!", "received_at": "2024-01-15T20:16:07.503+00:00",
                "record_type": "message",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"},
    }),
    sign=telnyx_sign,
    verify=telnyx_verify,
    want={"id": "b301ed3f-1490-491f-995f-6e64e69674d4", "type": "telnyx.message.received",
          "subject": "84cca175-9755-4859-b67f-4730d7f58aa3", "time": "2024-01-15T20:16:07.588Z"},
    window=300,
    sdk_signs=False,
)

# Mux ------------------------------------------------------------------------------------------


def mux_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    sig = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return [("Content-Type", "application/json"), ("mux-signature", f"t={ts},v1={sig}")]


def mux_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return _accepted("mux-oracle.mjs", body, {"MUX_WEBHOOK_SECRET": secret, "SDK_HEADERS": json.dumps(headers)})


MUX = Oracle(
    source="mux",
    sdk="@mux/mux-node 15.3.0 (npm)",
    secret="k4hpvbt1lnb7dn3rf6g0ll2ptdunq6cu",
    wrong_secret="c3e1nm5pq0d7ug2l1b8r9oaf4vt6skhi",
    body=_body({
        "type": "video.asset.ready",
        "object": {"type": "asset", "id": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002"},
        "id": "3a56ac3d-33da-4366-855b-f592d898409d",
        "environment": {"name": "Demo pages", "id": "j0863n"},
        "data": {
            "status": "ready", "playback_ids": [{"policy": "public", "id": "sbf8nGmvh7fcfTBr01Ph8VOGMLQw8p6yN"}],
            "mp4_support": "none", "max_stored_resolution": "HD", "max_stored_frame_rate": 29.97,
            "master_access": "none", "id": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002", "duration": 23.8,
            "created_at": 1582664644, "aspect_ratio": "16:9",
        },
        "created_at": "2020-02-25T21:04:05.000000Z",
        "attempts": [], "accessor_source": None, "accessor": None, "request_id": None,
    }),
    sign=mux_sign,
    verify=mux_verify,
    want={"id": "3a56ac3d-33da-4366-855b-f592d898409d", "type": "mux.video.asset.ready",
          "subject": "0201p02fGKPE7MrbC269XRD7LpcHhrmbu0002", "time": "2020-02-25T21:04:05.000Z"},
    window=300,
    sdk_signs=False,
)

# Sanity ---------------------------------------------------------------------------------------


def sanity_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    sig = _signed("sanity-oracle.mjs", body, {"SANITY_SECRET": secret}, str(ts * 1000))
    return [("Content-Type", "application/json"), ("sanity-webhook-signature", sig),
            ("idempotency-key", delivery_id), ("sanity-operation", "update"),
            ("sanity-document-id", "post-5f1e3c2a"), ("sanity-project-id", "3do82whm"),
            ("sanity-dataset", "production"), ("sanity-transaction-id", "jpZ9hLkDb5V8wqM2Xr4tNc"),
            ("sanity-transaction-time", "2024-05-02T09:41:17.228Z")]


def sanity_verify(secret: str, headers: Headers, body: bytes) -> bool:
    env = {"SANITY_SECRET": secret, "SDK_SIGNATURE": header(headers, "sanity-webhook-signature") or ""}
    return _accepted("sanity-oracle.mjs", body, env)


SANITY = Oracle(
    source="sanity",
    sdk="@sanity/webhook 4.0.4 (npm)",
    secret="8Jd2u5ZqLk0Wc3vR",
    wrong_secret="p9Xn4Tg7Hs1Mb6Ye",
    # The body is the webhook's projection; this is the default one (the whole document).
    body=_body({
        "_id": "post-5f1e3c2a", "_type": "post", "_rev": "jpZ9hLkDb5V8wqM2Xr4tNc",
        "_createdAt": "2024-05-01T16:02:11Z", "_updatedAt": "2024-05-02T09:41:17Z",
        "title": "Hello, webhooks", "slug": {"_type": "slug", "current": "hello-webhooks"},
    }),
    sign=sanity_sign,
    verify=sanity_verify,
    want={"id": "$id", "type": "sanity.post.update", "subject": "post-5f1e3c2a"},
    window=None,
    sdk_signs=True,
)

# Shopify --------------------------------------------------------------------------------------

SHOP = "inlet-demo.myshopify.com"
API_VERSION = "2025-07"


def shopify_sign(secret: str, body: bytes, _ts: int, delivery_id: str) -> Headers:
    sig = _signed("shopify-oracle.mjs", body, {"SHOPIFY_SECRET": secret})
    return [("Content-Type", "application/json"), ("X-Shopify-Hmac-Sha256", sig),
            ("X-Shopify-Topic", "orders/create"), ("X-Shopify-Shop-Domain", SHOP),
            ("X-Shopify-API-Version", API_VERSION), ("X-Shopify-Webhook-Id", delivery_id),
            ("X-Shopify-Event-Id", "98880550-7158-44d4-b7cd-2c97c8a091b5"),
            ("X-Shopify-Triggered-At", "2025-08-12T14:03:51.226341091Z")]


def shopify_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return _accepted("shopify-oracle.mjs", body, {"SHOPIFY_SECRET": secret, "SDK_HEADERS": json.dumps(headers)})


SHOPIFY = Oracle(
    source="shopify",
    sdk="@shopify/shopify-api 15.0.0 (npm)",
    secret="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",
    wrong_secret="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",
    body=_body({
        "id": 820982911946154508, "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
        "email": "jon@example.com", "created_at": "2025-08-12T10:03:51-04:00", "currency": "USD",
        "financial_status": "paid", "name": "#9999", "order_number": 1234, "total_price": "403.00",
        "line_items": [{"id": 866550311766439020, "product_id": 632910392, "quantity": 1, "price": "199.00",
                        "sku": "IPOD2008PINK", "title": "IPod Nano - 8GB"}],
        "customer": {"id": 115310627314723954, "email": "john@example.com", "first_name": "John"},
    }),
    sign=shopify_sign,
    verify=shopify_verify,
    want={"id": "$id", "type": "shopify.orders.create", "subject": SHOP, "time": "2025-08-12T14:03:51.000Z"},
    window=None,
    sdk_signs=True,
    cli_args=("--event", "orders/create", "--header", f"x-shopify-shop-domain:{SHOP}",
              "--header", f"x-shopify-api-version:{API_VERSION}"),
)

# Linear ---------------------------------------------------------------------------------------


def linear_body(ts: int) -> bytes:
    """An issue-created delivery sent at `ts`: Linear signs its timestamp inside the body."""
    return _body({
        "action": "create", "type": "Issue", "createdAt": "2025-03-04T09:12:44.318Z",
        "actor": {"id": "6d0e2b1c-4f4e-4b59-9d1e-3f5b7c9a2e10", "name": "Jane Doe", "type": "user"},
        "data": {
            "id": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9", "identifier": "ENG-123", "number": 123,
            "title": "Webhook deliveries are retried twice", "priority": 2,
            "teamId": "72b2a2dc-6f4f-4423-9d34-24b5bd10634a", "stateId": "a1b2c3d4-0000-4000-8000-000000000001",
            "createdAt": "2025-03-04T09:12:44.318Z", "updatedAt": "2025-03-04T09:12:44.318Z", "labelIds": [],
        },
        "url": "https://linear.app/acme/issue/ENG-123/webhook-deliveries-are-retried-twice",
        "organizationId": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
        "webhookId": "0f0e0d0c-0b0a-4908-8706-050403020100",
        "webhookTimestamp": ts * 1000,
    })


def linear_sign(secret: str, body: bytes, _ts: int, delivery_id: str) -> Headers:
    sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return [("Content-Type", "application/json; charset=utf-8"), ("Linear-Delivery", delivery_id),
            ("Linear-Event", "Issue"), ("Linear-Signature", sig)]


def linear_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return _accepted("linear-oracle.mjs", body, {"LINEAR_WEBHOOK_SECRET": secret, "SDK_HEADERS": json.dumps(headers)})


LINEAR = Oracle(
    source="linear",
    sdk="@linear/sdk 98.0.0 (npm)",
    secret="lin_wh_Qm9vZ2xlIHRoaXMgaXMgbm90IGEgc2VjcmV0",
    wrong_secret="lin_wh_YW5vdGhlciBzZWNyZXQgZm9yIHRlc3Rz",
    body=linear_body(1_741_079_564),
    body_at=linear_body,
    sign=linear_sign,
    verify=linear_verify,
    want={"id": "$id", "type": "linear.issue.create", "subject": "2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},
    window=60,
    sdk_signs=False,
)

# Contentful and Webflow: their scripts are inline (run by Node in tests/sdk, where the SDKs are).


def _inline(code: str, *args: str, stdin: bytes, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["node", "--input-type=module", "-e", code, *args], input=stdin, capture_output=True,
                          env={**os.environ, **env}, cwd=SDK_DIR)


# Contentful -----------------------------------------------------------------------------------

CONTENTFUL_JS = """
import { signRequest, verifyRequest } from "@contentful/node-apps-toolkit";
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
const e = process.env;
if (process.argv[1] === "sign") {
  const headers = { "content-type": e.SDK_CONTENT_TYPE, "x-contentful-topic": e.SDK_TOPIC };
  const out = signRequest(e.SDK_SECRET, { method: "POST", path: e.SDK_PATH, headers, body }, Number(e.SDK_TS));
  process.stdout.write(JSON.stringify({ ...headers, ...out }));
} else {
  const headers = Object.fromEntries(JSON.parse(e.SDK_HEADERS));
  try {
    process.exit(verifyRequest(e.SDK_SECRET, { method: "POST", path: e.SDK_PATH, headers, body }) ? 0 : 1);
  } catch (err) {
    process.stderr.write(`${err}\n`);
    process.exit(1);
  }
}
"""
CONTENTFUL_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/contentful"
CONTENTFUL_PATH = "/webhooks/contentful"
CONTENTFUL_TYPE = "application/vnd.contentful.management.v1+json"
CONTENTFUL_BODY = _body({
    "sys": {
        "type": "Entry", "id": "5KsDBWseXY6QegucYAoacS",
        "space": {"sys": {"type": "Link", "linkType": "Space", "id": "yadj1kx9rmg0"}},
        "environment": {"sys": {"id": "master", "type": "Link", "linkType": "Environment"}},
        "contentType": {"sys": {"type": "Link", "linkType": "ContentType", "id": "blogPost"}},
        "createdAt": "2024-05-02T09:12:45.123Z", "updatedAt": "2024-05-02T10:20:31.456Z", "revision": 3,
    },
    "fields": {"title": {"en-US": "Hello, World!"}},
})


def contentful_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    done = _inline(CONTENTFUL_JS, "sign", stdin=body, env={
        "SDK_SECRET": secret, "SDK_TS": str(ts * 1000), "SDK_PATH": CONTENTFUL_PATH,
        "SDK_CONTENT_TYPE": CONTENTFUL_TYPE, "SDK_TOPIC": "ContentManagement.Entry.publish"})
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode())
    return list(json.loads(done.stdout).items())


def contentful_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return _inline(CONTENTFUL_JS, "verify", stdin=body, env={
        "SDK_SECRET": secret, "SDK_PATH": CONTENTFUL_PATH, "SDK_HEADERS": json.dumps(headers)}).returncode == 0


CONTENTFUL = Oracle(
    source="contentful",
    sdk="@contentful/node-apps-toolkit 3.16.1 (npm)",
    secret="b4Zb7mQ2xR9kLp3Tn8Vw5Yc1Hd6Jf0Gs4Ae7Bu2Ci9Dk3Em8Fo1Gq5Hr2It6Ju0K",
    wrong_secret="Xy9Wv8Ut7Sr6Qp5On4Ml3Kj2Ih1Gf0Ed9Cb8Az7Yx6Wv5Ut4Sr3Qp2On1Ml0Kj9H",
    body=CONTENTFUL_BODY,
    sign=contentful_sign,
    verify=contentful_verify,
    # Contentful posts the same entity under two topics (saved, then published): Inlet suppresses no
    # repeat and gives each delivery an id of its own, so `want` names no id.
    want={"type": "contentful.contentmanagement.entry.publish", "subject": "5KsDBWseXY6QegucYAoacS",
          "time": "2024-05-02T10:20:31.456Z"},
    window=30,
    sdk_signs=True,
    env={"PUBLIC_URL": CONTENTFUL_URL},
    cli_args=("--url", CONTENTFUL_URL, "--event", "contentmanagement.entry.publish"),
)


# Webflow --------------------------------------------------------------------------------------

WEBFLOW_JS = """
import { WebflowClient } from "webflow-api";
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const body = Buffer.concat(chunks).toString("utf8");
const headers = Object.fromEntries(JSON.parse(process.env.SDK_HEADERS).map(([k, v]) => [k.toLowerCase(), v]));
const client = new WebflowClient({ accessToken: "unused" });
const ok = await client.webhooks.verifySignature({ headers, body, secret: process.env.SDK_SECRET });
process.exit(ok ? 0 : 1);
"""
WEBFLOW_BODY = _body({
    "triggerType": "form_submission",
    "payload": {
        "name": "Contact Us", "siteId": "65427cf400e02b306eaa049c",
        "data": {"First Name": "Zaphod", "Last Name": "Beeblebrox", "email": "zaphod@heartofgold.ai"},
        "submittedAt": "2022-09-14T12:35:16.117Z", "id": "6321ca84df3949bfc6752327",
        "formId": "65429eadebe8a9f3a30f62d0", "formElementId": "4e038d2c-6a1e-4953-7be9-a59a2b453177",
    },
})


def webflow_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    ms = str(ts * 1000)
    sig = hmac.new(secret.encode(), ms.encode() + b":" + body, hashlib.sha256).hexdigest()
    return [("Content-Type", "application/json"), ("x-webflow-timestamp", ms), ("x-webflow-signature", sig)]


def webflow_verify(secret: str, headers: Headers, body: bytes) -> bool:
    env = {"SDK_SECRET": secret, "SDK_HEADERS": json.dumps(headers)}
    return _inline(WEBFLOW_JS, stdin=body, env=env).returncode == 0


WEBFLOW = Oracle(
    source="webflow",
    sdk="webflow-api 3.3.4 (npm)",
    secret="3c1f7a9e5b2d8c4f6a0e1b3d5c7f9a2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a",
    wrong_secret="9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d",
    body=WEBFLOW_BODY,
    sign=webflow_sign,
    verify=webflow_verify,
    want={"id": f"sha256:{hashlib.sha256(WEBFLOW_BODY).hexdigest()}", "type": "webflow.form_submission",
          "subject": "6321ca84df3949bfc6752327"},
    window=None,
    sdk_signs=False,
)

ORACLES = [TELNYX, MUX, SANITY, SHOPIFY, LINEAR, CONTENTFUL, WEBFLOW]

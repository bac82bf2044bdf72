"""Shipping and realtime senders, each checked against its own PyPI SDK:

- EasyPost: `easypost.util.validate_webhook` only verifies (`X-Hmac-Signature:
  hmac-sha256-hex=<hex HMAC-SHA256 of the body under the NFKD-normalized secret>`), so the delivery is
  signed by that recipe. No timestamp is signed.
- Pusher Channels: `pusher.signature.sign` signs (hex HMAC-SHA256 of the body under the app secret) and
  `Pusher.validate_webhook` verifies: the X-Pusher-Key must be the app's key, and the signed body's
  `time_ms` within 300 000 ms of now either way (Inlet's window too). `validate_webhook` refuses by
  returning None, so only a returned body counts as acceptance. Pusher's events carry no id and
  Inlet suppresses no repeat (`Repeats::Distinct`): each envelope gets a fresh id, so `want` names no id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata

import pusher
import pusher.signature
from castle.configuration import Configuration as CastleConfiguration
from castle.webhooks.verify import WebhooksVerify as CastleWebhooksVerify
from easypost.util import validate_webhook as easypost_validate_webhook
from onlinepayments.sdk.communication.request_header import RequestHeader as WorldlineHeader
from onlinepayments.sdk.webhooks.secret_key_store import SecretKeyStore as WorldlineKeyStore
from onlinepayments.sdk.webhooks.signature_validator import SignatureValidator as WorldlineValidator
from retell.lib import webhook_auth as retell_webhook_auth

from . import Headers, Oracle, accepts, header

JSON = ("Content-Type", "application/json")


# --- EasyPost -----------------------------------------------------------------------------------

# A tracker.updated Event (EasyPost's docs, "Webhooks": the Event object).
EASYPOST_BODY = json.dumps({
    "id": "evt_3c1c5e6ea18611eeb4f8ac1f6bc539ae",
    "object": "Event",
    "mode": "test",
    "description": "tracker.updated",
    "previous_attributes": {"status": "pre_transit"},
    "created_at": "2024-01-24T00:03:50Z",
    "updated_at": "2024-01-24T00:03:50Z",
    "pending_urls": ["https://example.com/easypost-webhook"],
    "completed_urls": [],
    "result": {"id": "trk_b9b1b6a3b3e14cd09f0b3f4e5d0f7c2a", "object": "Tracker", "mode": "test",
               "tracking_code": "EZ1000000001", "status": "in_transit", "carrier": "USPS",
               "created_at": "2024-01-24T00:03:49Z", "updated_at": "2024-01-24T00:03:50Z"},
}).encode()


def easypost_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    # The SDK has no signer: EasyPost's recipe, which `validate_webhook` checks.
    mac = hmac.new(unicodedata.normalize("NFKD", secret).encode(), body, hashlib.sha256).hexdigest()
    return [JSON, ("X-Hmac-Signature", f"hmac-sha256-hex={mac}")]


def easypost_verify(secret: str, headers: Headers, body: bytes) -> bool:
    # The SDK reads the header from a dict by its exact name.
    sent = {"X-Hmac-Signature": header(headers, "X-Hmac-Signature")}
    return accepts(lambda: easypost_validate_webhook(body, sent, secret))


# --- Pusher Channels ----------------------------------------------------------------------------

PUSHER_APP_ID = "1741201"
PUSHER_KEY = "3f1b7d2a9c4e6f8a0b1c"


def pusher_body(ts: int) -> bytes:
    """A webhook as Pusher sends it at unix time `ts` (Pusher's docs, "Webhooks": channel existence
    and presence events)."""
    return json.dumps({"time_ms": ts * 1000, "events": [
        {"name": "channel_occupied", "channel": "private-orders"},
        {"name": "member_added", "channel": "presence-lobby", "user_id": "user-42"},
    ]}).encode()


def pusher_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    return [JSON, ("X-Pusher-Key", PUSHER_KEY), ("X-Pusher-Signature", pusher.signature.sign(secret, body.decode()))]


def pusher_verify(secret: str, headers: Headers, body: bytes) -> bool:
    client = pusher.Pusher(app_id=PUSHER_APP_ID, key=PUSHER_KEY, secret=secret)
    try:
        return client.validate_webhook(header(headers, "X-Pusher-Key") or "",
                                       header(headers, "X-Pusher-Signature") or "", body.decode()) is not None
    except Exception:  # noqa: BLE001 - the SDK raises on malformed input
        return False


PUSHER_BODY = pusher_body(1_700_000_000)


# --- Castle -------------------------------------------------------------------------------------

# An incident webhook (Castle's docs, "Webhooks").
CASTLE_BODY = json.dumps({
    "api_version": "v1", "app_id": "622541599657362", "type": "$incident.confirmed",
    "created_at": "2024-03-06T08:32:12.512Z",
    "data": {"id": "test", "device_token": "eyJhbGciOiJIUzI1NiJ9.dGVzdA.c2ln", "user_id": "user-7",
             "trigger": "$login.succeeded", "context": {"ip": "211.96.77.55"}},
}).encode()


class _CastleWebhook:
    """What `WebhooksVerify.call` reads: the request's headers and raw body."""

    def __init__(self, headers: Headers, body: bytes):
        self.headers = {"X-Castle-Signature": header(headers, "X-Castle-Signature")}
        self.data = body


def castle_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    # The SDK has no signer: Castle's recipe, base64 HMAC-SHA256 of the body.
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return [JSON, ("X-Castle-Signature", base64.b64encode(mac).decode())]


def castle_verify(secret: str, headers: Headers, body: bytes) -> bool:
    config = CastleConfiguration()
    config.api_secret = secret
    return accepts(lambda: CastleWebhooksVerify.call(_CastleWebhook(headers, body), config))


# --- Retell AI ----------------------------------------------------------------------------------

# A call_ended event (Retell's docs, "Webhook").
RETELL_BODY = json.dumps({"event": "call_ended", "call": {
    "call_type": "phone_call", "call_id": "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6",
    "agent_id": "oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD", "call_status": "ended", "direction": "inbound",
    "from_number": "+12137771234", "to_number": "+12137771235", "start_timestamp": 1714608475945,
    "end_timestamp": 1714608491736, "disconnection_reason": "user_hangup",
}}).encode()


def retell_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    sig = retell_webhook_auth.symmetric["sign"](body.decode(), secret, ts * 1000)
    return [JSON, ("X-Retell-Signature", sig)]


def retell_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return retell_webhook_auth.verify(body.decode(), secret, header(headers, "X-Retell-Signature") or "") is True


# --- Worldline Direct ---------------------------------------------------------------------------

WORLDLINE_KEY_ID = "6c3b2a1f-webhooks-key"
# A payment.paid event (Worldline's docs, "Webhooks event structure").
WORLDLINE_BODY = json.dumps({
    "apiVersion": "v1", "id": "34b8a607-1fce-4003-b3ae-a4d29e92b232", "created": "2024-02-02T11:24:14.040+0100",
    "merchantId": "20000", "type": "payment.paid",
    "payment": {"id": "3066019730_0", "status": "CAPTURED",
                "paymentOutput": {"amountOfMoney": {"amount": 1000, "currencyCode": "EUR"},
                                  "references": {"merchantReference": "order-2024-0042"}},
                "statusOutput": {"isCancellable": False, "statusCategory": "COMPLETED", "statusCode": 9}},
}).encode()


class _WorldlineKeys(WorldlineKeyStore):
    """The SDK looks the secret up by X-GCS-KeyId: one key, under the id the oracle sends."""

    def __init__(self, secret: str):
        self.secret = secret

    def get_secret_key(self, key_id: str) -> str:
        if key_id != WORLDLINE_KEY_ID:
            raise KeyError(key_id)
        return self.secret


def worldline_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    # The SDK only verifies: Worldline's recipe, base64 HMAC-SHA256 of the body.
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return [JSON, ("X-GCS-Signature", base64.b64encode(mac).decode()), ("X-GCS-KeyId", WORLDLINE_KEY_ID)]


def worldline_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sent = [WorldlineHeader(k, v) for k, v in headers]
    return accepts(lambda: WorldlineValidator(_WorldlineKeys(secret)).validate(body, sent))


ORACLES = [
    Oracle(source="easypost", sdk="easypost 10.7.0 (PyPI)", secret="whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
           wrong_secret="whsec_0a1b2c3d4e5f60718293a4b5c6d7e8f9", body=EASYPOST_BODY, sign=easypost_sign,
           verify=easypost_verify,
           want={"id": "evt_3c1c5e6ea18611eeb4f8ac1f6bc539ae", "type": "easypost.tracker.updated",
                 "subject": "trk_b9b1b6a3b3e14cd09f0b3f4e5d0f7c2a", "time": "2024-01-24T00:03:50.000Z"},
           window=None, sdk_signs=False),
    Oracle(source="pusher", sdk="pusher 3.3.4 (PyPI)", secret="7ad3773142a6692b25b8",
           wrong_secret="c0ffee0123456789abcd", body=PUSHER_BODY, body_at=pusher_body, sign=pusher_sign,
           verify=pusher_verify,
           want={"type": "pusher.channel_occupied", "subject": "private-orders"},
           events=[{"type": "pusher.channel_occupied", "subject": "private-orders"},
                   {"type": "pusher.member_added", "subject": "presence-lobby"}],
           events_at="events", window=300, sdk_signs=True,
           # Inlet does not read X-Pusher-Key, so `inlet sign` sends it only when told; the SDK needs it.
           cli_args=("--header", f"X-Pusher-Key:{PUSHER_KEY}")),
    Oracle(source="castle", sdk="castle 7.3.0 (PyPI)", secret="Ep1cSecretK3yForCastleTest000000",
           wrong_secret="An0therSecretK3yForCastle1111111", body=CASTLE_BODY, sign=castle_sign, verify=castle_verify,
           want={"id": f"sha256:{hashlib.sha256(CASTLE_BODY).hexdigest()}", "type": "castle.$incident.confirmed",
                 "subject": "user-7", "time": "2024-03-06T08:32:12.512Z"},
           window=None, sdk_signs=False),
    Oracle(source="retell", sdk="retell-sdk 6.2.13 (PyPI)", secret="key_8f2b6c1d9e4a7f3b5c0d2e6a9b1c4d7e",
           wrong_secret="key_0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d", body=RETELL_BODY, sign=retell_sign,
           verify=retell_verify,
           want={"id": f"sha256:{hashlib.sha256(RETELL_BODY).hexdigest()}", "type": "retell.call_ended",
                 "subject": "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"},
           window=300, sdk_signs=True),
    Oracle(source="worldline", sdk="onlinepayments-sdk-python3 10.3.0 (PyPI)",
           secret="Wl9xD3kP7mQ2vR5tY8uZ1aB4cE6fH0jK", wrong_secret="Nq4sT7wX0zC3eF6hJ9kM2pR5uV8yB1dG",
           body=WORLDLINE_BODY, sign=worldline_sign, verify=worldline_verify,
           want={"id": "34b8a607-1fce-4003-b3ae-a4d29e92b232", "type": "worldline.payment.paid",
                 "subject": "3066019730_0"},
           window=None, sdk_signs=False, cli_args=("--header", f"X-GCS-KeyId:{WORLDLINE_KEY_ID}")),
]

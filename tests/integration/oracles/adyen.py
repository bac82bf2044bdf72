"""Adyen standard payment webhooks, with adyen 16.0.0's own `Adyen.util`: `generate_notification_sig` signs
the delivery and `is_valid_hmac_notification` verifies it.

Adyen's signature is not a header: it is inside the body, in
`notificationItems[0].NotificationRequestItem.additionalData.hmacSignature` (base64 HMAC-SHA256, hex-decoded key,
over eight fields of the item), so the oracle `signs_body`: `sign` returns the body with the item re-signed by the
SDK under the given secret, and what the CLI signs is read from `inlet event`. Bodies are written with sorted keys
and no spaces, as serde_json writes them, so `tamper_at` points at the same signed digit in both.
Two SDK quirks the oracle works around: `is_valid_hmac_notification` returns None (not False) when the item has
no `additionalData`, which `accepts()` would count as acceptance, so only `True` counts here; and it checks only
`notificationItems[0]` (Inlet refuses a body with more than one item: 400).

`adyen-platform` (Balance Platform and Management API webhooks) is checked with the same package:
`generate_payload_sig` signs the raw body into the HmacSignature header and `is_valid_hmac_payload`
verifies it."""

from __future__ import annotations

import hashlib
import json

from Adyen.util import (generate_notification_sig, generate_payload_sig, is_valid_hmac_notification,
                        is_valid_hmac_payload)

from . import Headers, Oracle

SECRET = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
WRONG = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"

# Modelled on the AUTHORISATION example in Adyen's docs: one item, as Adyen sends.
ITEM = {
    "additionalData": {"authCode": "058405", "cardSummary": "1111", "expiryDate": "03/2030"},
    "amount": {"currency": "EUR", "value": 1130},
    "eventCode": "AUTHORISATION",
    "eventDate": "2024-06-03T14:28:51+02:00",
    "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT",
    "merchantReference": "order-2024-0042",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa",
    "pspReference": "NC6HT9CRT65ZGN82",
    "reason": "058405:1111:03/2030",
    "success": "true",
}


def compact(doc) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def signed_body(secret: str, body: bytes | None = None) -> bytes:
    """The notification as Adyen sends it (`body`, else one made from ITEM), its item signed by the SDK
    under `secret`."""
    doc = json.loads(body) if body else {"live": "false", "notificationItems": [{"NotificationRequestItem": ITEM}]}
    item = doc["notificationItems"][0]["NotificationRequestItem"]
    item["additionalData"]["hmacSignature"] = generate_notification_sig(item, secret).decode()
    return compact(doc)


BODY = signed_body(SECRET)


def sign(secret: str, body: bytes, ts: int, delivery_id: str) -> tuple[Headers, bytes]:
    """`body` signed under `secret` by the SDK; no timestamp or delivery id is sent."""
    return [("Content-Type", "application/json")], signed_body(secret, body)


def verify(secret: str, headers: Headers, body: bytes) -> bool:
    try:
        return is_valid_hmac_notification(json.loads(body), secret) is True
    except Exception:  # noqa: BLE001 - the SDK raises KeyError/ValueError on malformed items
        return False


ADYEN = Oracle(
    source="adyen",
    sdk="adyen 16.0.0 (PyPI)",
    secret=SECRET,
    wrong_secret=WRONG,
    body=BODY,
    sign=sign,
    verify=verify,
    want={"id": "NC6HT9CRT65ZGN82:AUTHORISATION:true", "type": "adyen.authorisation",
          "subject": "order-2024-0042", "time": "2024-06-03T12:28:51.000Z"},
    window=None,
    sdk_signs=True,
    signs_body=True,
    # A digit of amount.value (signed): the middle of the body is unsigned additionalData.
    tamper_at=BODY.index(b'"value":1130') + len(b'"value":'),
)


# --- Balance Platform / Management API (`adyen-platform`) ------------------------------------------
# `generate_payload_sig` signs the raw body (base64 HMAC-SHA256 under the hex-decoded key) into the
# HmacSignature header; `is_valid_hmac_payload` verifies it. No timestamp, no event id: the id is the
# body digest.

PLATFORM_BODY = compact({
    "data": {
        "balancePlatform": "YOUR_BALANCE_PLATFORM",
        "accountHolder": {"contactDetails": {"email": "s.hopper@example.com", "phone": {"number": "+315551231",
                                                                                     "type": "Mobile"}},
                          "description": "S.Hopper - Staff 123", "id": "AH32272223222B5CM4MWJ892H",
                          "status": "active"},
    },
    "environment": "test",
    "timestamp": "2024-12-15T15:42:03+01:00",
    "type": "balancePlatform.accountHolder.created",
})


def platform_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    return [("Content-Type", "application/json"), ("HmacSignature", generate_payload_sig(body, secret).decode())]


def platform_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = next((v for k, v in headers if k.lower() == "hmacsignature"), "")
    try:
        return is_valid_hmac_payload(sig, secret, body) is True
    except Exception:  # noqa: BLE001 - a key that is not hex raises
        return False


PLATFORM = Oracle(
    source="adyen-platform",
    sdk="adyen 16.0.0 (PyPI)",
    secret=SECRET,
    wrong_secret=WRONG,
    body=PLATFORM_BODY,
    sign=platform_sign,
    verify=platform_verify,
    want={"id": f"sha256:{hashlib.sha256(PLATFORM_BODY).hexdigest()}",
          "type": "adyen-platform.balanceplatform.accountholder.created",
          "subject": "AH32272223222B5CM4MWJ892H", "time": "2024-12-15T14:42:03.000Z"},
    window=None,
    sdk_signs=True,
)

ORACLES = [ADYEN, PLATFORM]

"""Braintree, checked against braintree-python (4.48.0, PyPI).

The SDK functions that are the oracle:

- `WebhookTestingGateway.sample_notification(kind, id)` signs: a form body `bt_signature=<public key>|<hex
  HMAC-SHA1(SHA-1(private key), bt_payload)>&bt_payload=<base64 of the notification XML>`.
- `WebhookNotificationGateway.parse(bt_signature, bt_payload)` verifies (the pair of its public key, over
  the payload or the payload plus a newline) and reads the notification.
- `WebhookNotificationGateway.verify(bt_challenge)` answers the `GET ?bt_challenge=` handshake.

The secret both sides hold is Braintree's API key pair, written `public_key:private_key` (what the
function's WEBHOOK_SECRET and `inlet sign --secret` take). No timestamp is signed (window None); the
envelope id is the SHA-256 of the notification XML, as Braintree sends no delivery id.

The signature is inside the body (`signs_body`): `sign` re-signs the form's payload under the given
secret with the SDK's own signer (`Crypto.sha1_hmac_hash`, what `sample_notification` uses), and what
the CLI signs is read from `inlet event`."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlencode

import braintree
from braintree.util.crypto import Crypto

from . import Headers, Oracle, accepts

SDK = "braintree 4.48.0 (PyPI)"
FORM = ("Content-Type", "application/x-www-form-urlencoded")
# An API key pair in Braintree's shapes (16-character public key, 32 hex digits of private key).
PUBLIC_KEY = "w8j3kq2zr5m9xv4t"
SECRET = f"{PUBLIC_KEY}:4f9c2e7a1b8d3f6e0a5c9b2d7e1f4a8c"
WRONG = f"{PUBLIC_KEY}:9d1e5b3a7c2f8e4d0b6a1c5e9f3d7b2a"
KIND = braintree.WebhookNotification.Kind.SubscriptionChargedSuccessfully
SUBSCRIPTION = "sub_7hb2kq4x"


def gateway(secret: str) -> braintree.BraintreeGateway:
    public_key, private_key = secret.split(":", 1)
    return braintree.BraintreeGateway(braintree.Configuration(
        braintree.Environment.Sandbox, merchant_id="m7x2kq9zrw4t8v3p", public_key=public_key,
        private_key=private_key))


def sample(secret: str) -> tuple[bytes, dict]:
    """A notification the SDK signed under `secret`: the form body, and the envelope fields Inlet gives it
    (the id is the SHA-256 of the notification XML, the time its `<timestamp>`)."""
    signed = gateway(secret).webhook_testing.sample_notification(KIND, SUBSCRIPTION)
    xml = base64.decodebytes(signed["bt_payload"])
    body = urlencode({"bt_signature": signed["bt_signature"], "bt_payload": signed["bt_payload"].decode()})
    at = re.search(rb"<timestamp[^>]*>([^<]+)Z</timestamp>", xml).group(1).decode()
    return body.encode(), {"id": f"sha256:{hashlib.sha256(xml).hexdigest()}", "type": f"braintree.{KIND}",
                           "subject": SUBSCRIPTION, "time": f"{at}.000Z"}


def fields(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def sign(secret: str, body: bytes, ts: int, delivery_id: str) -> tuple[Headers, bytes]:
    """The form with its payload signed under `secret` by the SDK's signer; the headers are only its
    content type."""
    public_key, private_key = secret.split(":", 1)
    payload = fields(body)["bt_payload"]
    signature = f"{public_key}|{Crypto.sha1_hmac_hash(private_key, payload)}"
    return [FORM], urlencode({"bt_signature": signature, "bt_payload": payload}).encode()


def verify(secret: str, headers: Headers, body: bytes) -> bool:
    form = fields(body)
    return accepts(lambda: gateway(secret).webhook_notification.parse(form["bt_signature"], form["bt_payload"]))


BODY, WANT = sample(SECRET)

BRAINTREE = Oracle(
    source="braintree",
    sdk=SDK,
    secret=SECRET,
    wrong_secret=WRONG,
    body=BODY,
    sign=sign,
    verify=verify,
    want=WANT,
    window=None,
    sdk_signs=True,
    signs_body=True,
)

ORACLES = [BRAINTREE]

"""Messaging, CRM and media senders, each checked against its own PyPI SDK:

- Twilio: `twilio.request_validator.RequestValidator.compute_signature` signs (a form body: the
  URL, then the sorted parameters) and `.validate` verifies, under the algorithm
  `get_signature_algorithm` reads from X-Twilio-Webhooks-Signature-Settings (HMAC-SHA1 without it).
  No timestamp is signed. `TWILIO_VARIANTS` are the other deliveries the SDK accepts: signed over
  the URL with its default port added or removed, and signed with a SharedKey (HMAC-SHA256).
- HubSpot (v3): `hubspot.utils.signature.Signature.get_signature` signs and `.is_valid` verifies
  (its window is past-only, 300 s; Inlet's is 300 s both ways, which the harness checks).
- SendGrid: `sendgrid.helpers.eventwebhook.EventWebhook.verify_signature` only verifies, so the
  delivery is signed with `cryptography` (ECDSA P-256/SHA-256, DER, base64) by SendGrid's recipe.
- Discord: `discord_interactions.verify_key` only verifies, so the delivery is signed with PyNaCl
  (Ed25519 over timestamp + body, hex).
- Cloudinary (SHA-1 and SHA-256 accounts): `cloudinary.utils.verify_notification_signature` only
  verifies, so the delivery is hashed by the documented recipe (`{body}{timestamp}{api secret}`).
- HubSpot's older signatures (`hubspot-v1`, `hubspot-v2`): the same SDK's `get_signature` signs and
  `is_valid` verifies with `signature_version` v1 (SHA-256 of secret + body) or v2 (secret + method +
  URL + body). No timestamp; only v2 signs the URL.
- Plivo: `plivo.utils.signature_v3` signs (`construct_post_url`, `get_signature_v3`) and
  `validate_v3_signature` verifies: the URL, the sorted form parameters and the nonce (the delivery
  id). No timestamp.
- Vonage: `vonage_jwt.verify_signature` only verifies the JWT (HS256), so the JWT is made with PyJWT
  by Vonage's docs (`iat`, `payload_hash` = hex SHA-256 of the body, ...), and the docs' `payload_hash`
  check is made after the SDK's (the SDK alone does not tie the token to the body). PyJWT checks no
  age for an `iat` in the past, so no window here (Inlet's 300 s is the sender file's unit tests').

SendGrid's and Discord's SDKs check no age, so their oracles have no window (Inlet's 300 s is left
to the sender files' unit tests). Twilio and HubSpot sign the URL: the function's PUBLIC_URL and
`inlet sign --url` are the URL the harness delivers to."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs

import cloudinary
import cloudinary.utils
import jwt as pyjwt
import nacl.signing
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from discord_interactions import verify_key
from hubspot.utils.signature import Signature as HubSpotSignature
from plivo.utils import signature_v3 as plivo_signature_v3
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from vonage_jwt import verify_signature as vonage_verify_signature
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm

from . import Headers, Oracle, accepts, header

# What `api_event` in signers.py delivers to (API Gateway HTTP API, v2).
HOST = "https://abc123.execute-api.us-east-1.amazonaws.com"


def _url(source: str) -> str:
    return f"{HOST}/webhooks/{source}"


def _digest_id(body: bytes) -> str:
    """The id Inlet gives a delivery without one: the body's SHA-256."""
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


# --- Twilio -------------------------------------------------------------------------------------

TWILIO_URL = _url("twilio")
TWILIO_BODY = (
    b"SmsSid=SM5ef8732a3c49700934481addd5ce1659&SmsStatus=delivered&MessageStatus=delivered"
    b"&To=%2B15005550006&MessageSid=SM5ef8732a3c49700934481addd5ce1659"
    b"&AccountSid=AC8e4a7f2b1c9d0e3f5a6b7c8d9e0f1a2b&From=%2B14158675309&ApiVersion=2010-04-01"
)


class _FormParams(dict):
    """Form parameters with every value of a repeated name, read as Django's QueryDict is."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def _form(body: bytes) -> _FormParams:
    return _FormParams(parse_qs(body.decode(), keep_blank_values=True))


def twilio_signer(url: str = TWILIO_URL, settings: str | None = None):
    """Signs as Twilio does for a webhook at `url`: with the account's auth token (HMAC-SHA1), or,
    given `settings` (an X-Twilio-Webhooks-Signature-Settings value), with a SharedKey secret under
    the algorithm it names."""

    def sign(secret: str, body: bytes, _ts: int, delivery_id: str) -> Headers:
        sig = RequestValidator(secret).compute_signature(url, _form(body), get_signature_algorithm(settings))
        headers = [("Content-Type", "application/x-www-form-urlencoded"), ("X-Twilio-Signature", sig),
                   ("I-Twilio-Idempotency-Token", delivery_id)]
        return headers + ([(SIGNATURE_SETTINGS_HEADER, settings)] if settings is not None else [])

    return sign


def twilio_verifier(url: str = TWILIO_URL):
    """Verifies as a Twilio app at `url` does: under the algorithm the settings header names."""

    def verify(secret: str, headers: Headers, body: bytes) -> bool:
        sig = header(headers, "X-Twilio-Signature") or ""
        algorithm = get_signature_algorithm(header(headers, SIGNATURE_SETTINGS_HEADER))
        return accepts(lambda: RequestValidator(secret).validate(url, _form(body), sig, algorithm))

    return verify


twilio_sign = twilio_signer()
twilio_verify = twilio_verifier()

TWILIO_URL_443 = f"{HOST}:443/webhooks/twilio"
TWILIO_SHA256 = "key=webhooks_sharedkey_5f3c1e9a7b2d4c6e8f0a1b3c5d7e9f2a,algorithm=HMAC_SHA256"
TWILIO_VARIANTS = {
    # name: (the function's PUBLIC_URL (None: the URL it rebuilds from the event, TWILIO_URL),
    #        the URL Twilio signs, the X-Twilio-Webhooks-Signature-Settings it sends)
    "signed with :443": (TWILIO_URL, TWILIO_URL_443, None),
    "signed with :443, URL rebuilt": (None, TWILIO_URL_443, None),
    "configured with :443": (TWILIO_URL_443, TWILIO_URL, None),
    "sharedkey sha256": (TWILIO_URL, TWILIO_URL, TWILIO_SHA256),
    "sharedkey sha256 signed with :443": (TWILIO_URL, TWILIO_URL_443, TWILIO_SHA256),
}
"""Deliveries the SDK also accepts besides the oracle's (the URL as configured, HMAC-SHA1): the
default port added or removed (`validate` tries both), and a SharedKey's HMAC-SHA256."""


# --- HubSpot ------------------------------------------------------------------------------------

HUBSPOT_URL = _url("hubspot")


def _hubspot_id(event: dict) -> str:
    """An event's id: the SHA-256 of its members but `attemptNumber`, sorted, compact (HubSpot's
    `eventId` is not unique, and a retry changes `attemptNumber` only)."""
    rest = {k: v for k, v in sorted(event.items()) if k != "attemptNumber"}
    return "sha256:" + hashlib.sha256(json.dumps(rest, separators=(",", ":")).encode()).hexdigest()
HUBSPOT_BODY = json.dumps([
    {"eventId": 1931425734, "subscriptionId": 2411233, "portalId": 62515, "appId": 1160452,
     "occurredAt": 1700000000000, "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
     "objectId": 5851, "propertyName": "email", "propertyValue": "jane@example.com",
     "changeSource": "CRM_UI", "sourceId": "userId:1234567"},
    {"eventId": 1931425735, "subscriptionId": 2411240, "portalId": 62515, "appId": 1160452,
     "occurredAt": 1700000000500, "subscriptionType": "deal.creation", "attemptNumber": 0,
     "objectId": 9874, "changeFlag": "CREATED", "changeSource": "CRM_UI", "sourceId": "userId:1234567"},
]).encode()


def hubspot_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    millis = str(ts * 1000)
    sig = HubSpotSignature.get_signature(secret, body.decode(), "v3", HUBSPOT_URL, "POST", millis)
    return [("Content-Type", "application/json"), ("X-HubSpot-Signature-v3", sig),
            ("X-HubSpot-Request-Timestamp", millis)]


def hubspot_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: HubSpotSignature.is_valid(
        signature=header(headers, "X-HubSpot-Signature-v3") or "", client_secret=secret,
        request_body=body.decode(), http_uri=HUBSPOT_URL, http_method="POST", signature_version="v3",
        timestamp=header(headers, "X-HubSpot-Request-Timestamp")))


def hubspot_legacy_oracle(version: str) -> Oracle:
    """The older signatures, `hubspot-v1` (secret + body) and `hubspot-v2` (secret + method + URL +
    body): plain SHA-256, hex, in X-HubSpot-Signature; `get_signature` signs, `is_valid` verifies.
    Neither signs a timestamp (the SDK checks none for them), so no window."""
    source = f"hubspot-{version}"
    url = _url(source)

    def sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
        sig = HubSpotSignature.get_signature(secret, body.decode(), version, url, "POST")
        return [("Content-Type", "application/json"), ("X-HubSpot-Signature", sig),
                ("X-HubSpot-Signature-Version", version)]

    def verify(secret: str, headers: Headers, body: bytes) -> bool:
        return accepts(lambda: HubSpotSignature.is_valid(
            signature=header(headers, "X-HubSpot-Signature") or "", client_secret=secret,
            request_body=body.decode(), http_uri=url, http_method="POST", signature_version=version))

    events = json.loads(HUBSPOT_BODY)
    return Oracle(source=source, sdk="hubspot-api-client 12.0.0 (PyPI)",
                  secret="yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", wrong_secret="zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
                  body=HUBSPOT_BODY, sign=sign, verify=verify,
                  want={"id": _hubspot_id(events[0]), "type": f"{source}.contact.propertychange", "subject": "5851"},
                  events=[{"id": _hubspot_id(e), "type": f"{source}.{e['subscriptionType'].lower()}",
                           "subject": str(e["objectId"])} for e in events],
                  window=None, sdk_signs=True,
                  # Only v2 signs the URL (the function refuses a PUBLIC_URL it does not use).
                  env={"PUBLIC_URL": url} if version == "v2" else {},
                  cli_args=("--url", url) if version == "v2" else ())


# --- Vonage -------------------------------------------------------------------------------------

# A Messages API status (Vonage's docs, "Message Status" webhook).
VONAGE_BODY = json.dumps({
    "message_uuid": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "to": "447700900000", "from": "447700900001",
    "timestamp": "2024-02-01T11:48:15Z", "status": "delivered", "usage": {"currency": "EUR", "price": "0.0333"},
    "channel": "sms",
}).encode()


def vonage_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    """A signed webhook's JWT as the docs describe it (HS256 under the signature secret; `iat`, `jti`,
    `api_key`, `application_id`, `payload_hash` = hex SHA-256 of the body): the SDK only verifies."""
    claims = {"iat": ts, "jti": delivery_id, "iss": "Vonage", "api_key": "a1b2c3d4",
              "application_id": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab",
              "payload_hash": hashlib.sha256(body).hexdigest()}
    return [("Content-Type", "application/json"), ("Authorization", f"Bearer {pyjwt.encode(claims, secret, 'HS256')}")]


def vonage_verify(secret: str, headers: Headers, body: bytes) -> bool:
    """`vonage_jwt.verify_signature` checks the JWT only; the docs' `payload_hash` check, which ties it to
    the body, is made here after it."""
    token = (header(headers, "Authorization") or "").removeprefix("Bearer ")

    def check() -> bool:
        if not vonage_verify_signature(token, secret):
            return False
        claims = pyjwt.decode(token, options={"verify_signature": False})
        return claims.get("payload_hash") == hashlib.sha256(body).hexdigest()

    return accepts(check)


# --- Plivo --------------------------------------------------------------------------------------

PLIVO_URL = _url("plivo")
# A message status callback (Plivo's docs, "Message status callbacks"): a form.
PLIVO_BODY = (
    b"From=14155550100&To=14155550123&Status=delivered&MessageUUID=1e4d8b6a-8c52-11ef-9f1e-0242ac110002"
    b"&ParentMessageUUID=1e4d8b6a-8c52-11ef-9f1e-0242ac110002&PartInfo=1+of+1&TotalRate=0.00500"
    b"&TotalAmount=0.00500&Units=1&MCC=310&MNC=004&ErrorCode=&MessageTime=2024-10-14+09%3A12%3A30%2B00%3A00"
)


def plivo_sign(secret: str, body: bytes, _ts: int, delivery_id: str) -> Headers:
    """Signed by the SDK's own V3 code (`construct_post_url`, `get_signature_v3`), the nonce the
    delivery id, as `inlet sign` does."""
    base = plivo_signature_v3.construct_post_url(PLIVO_URL, parse_qs(body.decode(), keep_blank_values=True))
    sig = plivo_signature_v3.get_signature_v3(secret, base, delivery_id).decode()
    return [("Content-Type", "application/x-www-form-urlencoded"), ("X-Plivo-Signature-V3", sig),
            ("X-Plivo-Signature-V3-Nonce", delivery_id)]


def plivo_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: plivo_signature_v3.validate_v3_signature(
        "POST", PLIVO_URL, header(headers, "X-Plivo-Signature-V3-Nonce") or "", secret,
        header(headers, "X-Plivo-Signature-V3") or "", parse_qs(body.decode(), keep_blank_values=True)))


# --- SendGrid -----------------------------------------------------------------------------------

# P-256 private scalars (hex), as `inlet sign --secret` takes them; the receiver holds the public
# key as SendGrid shows it (base64 SubjectPublicKeyInfo DER).
SENDGRID_PRIVATE = "b3e137a2511f8c707c9587deac4d3c7d6a03dcd137034116f7cc6ddffddad3dc"
SENDGRID_WRONG = "5c0e6f1a9d2b48c7e3f0a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7"
SENDGRID_BODY = (
    b'[{"email":"example@test.com","timestamp":1700000000,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>",'
    b'"event":"delivered","category":["cat facts"],"sg_event_id":"rbtnWrG1DVDGGGFHFyun0A==",'
    b'"sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0","response":"250 OK"},'
    b'{"email":"example@test.com","timestamp":1700000003,"smtp-id":"<14c5d75ce93.dfd.64b469@ismtpd-555>",'
    b'"event":"open","sg_event_id":"FOTFFO0ecsBE-zxFXfs6WA==",'
    b'"sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0","useragent":"Mozilla/4.0",'
    b'"ip":"255.255.255.255"}]\r\n'
)


def _p256(private_hex: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int(private_hex, 16), ec.SECP256R1())


def sendgrid_public(private_hex: str) -> str:
    der = _p256(private_hex).public_key().public_bytes(serialization.Encoding.DER,
                                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


def sendgrid_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    sig = _p256(secret).sign(str(ts).encode() + body, ec.ECDSA(hashes.SHA256()))
    return [("Content-Type", "application/json"), (EventWebhookHeader.SIGNATURE, base64.b64encode(sig).decode()),
            (EventWebhookHeader.TIMESTAMP, str(ts))]


def sendgrid_verify(public_key: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: EventWebhook(public_key).verify_signature(
        body.decode(), header(headers, EventWebhookHeader.SIGNATURE) or "",
        header(headers, EventWebhookHeader.TIMESTAMP) or ""))


# --- Discord ------------------------------------------------------------------------------------

# Ed25519 seeds (hex), as `inlet sign --secret` takes them; the receiver holds the application's
# public key (hex).
DISCORD_SEED = "b3c76ab80533b36e1154b3f6c33e29f1f49dd136d0cad529954948f125161631"
DISCORD_WRONG = "1f2e3d4c5b6a79880796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
# An application command interaction (Discord's docs, "Receiving an Interaction").
DISCORD_BODY = json.dumps({
    "type": 2, "id": "786008729715212338", "application_id": "775799577604522054",
    "guild_id": "290926798626357999", "channel_id": "645027906669510667",
    "data": {"id": "771825006014889984", "name": "blep", "type": 1,
             "options": [{"type": 3, "name": "animal", "value": "animal_dog"}]},
    "member": {"user": {"id": "53908232506183680", "username": "Mason"}, "roles": [], "permissions": "2147483647"},
    "token": "A_UNIQUE_TOKEN", "version": 1,
}).encode()


def discord_public(seed_hex: str) -> str:
    return nacl.signing.SigningKey(bytes.fromhex(seed_hex)).verify_key.encode().hex()


def discord_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    sig = nacl.signing.SigningKey(bytes.fromhex(secret)).sign(str(ts).encode() + body).signature.hex()
    return [("Content-Type", "application/json"), ("X-Signature-Ed25519", sig), ("X-Signature-Timestamp", str(ts))]


def discord_verify(public_key: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: verify_key(body, header(headers, "X-Signature-Ed25519") or "",
                                      header(headers, "X-Signature-Timestamp") or "", public_key))


# --- Cloudinary ---------------------------------------------------------------------------------

CLOUDINARY_SECRET = "X7qLTrsES31MzxxkxPPA-pAGGfU"
CLOUDINARY_WRONG = "k9Bf2LmQx7RtYv4NcW8pZs3JdHa"
# An upload notification (Cloudinary's docs, "Notifications").
CLOUDINARY_BODY = json.dumps({
    "notification_type": "upload", "timestamp": "2023-11-14T22:13:20+00:00",
    "request_id": "799bb9ff35f1ba5e8f8a8a8c1a1a0b7e", "asset_id": "0c8f2b2e8e1f4c2a5b6d7e8f9a0b1c2d",
    "public_id": "samples/dog", "version": 1699999999, "version_id": "1f2e3d4c5b6a79880796a5b4c3d2e1f0",
    "width": 864, "height": 576, "format": "jpg", "resource_type": "image",
    "created_at": "2023-11-14T22:13:19Z", "tags": [], "bytes": 120253, "type": "upload",
    "etag": "2a1a1d8e8c4fa3b9a8f1c9e1f5e2d3c4", "placeholder": False,
    "url": "http://res.cloudinary.com/demo/image/upload/v1699999999/samples/dog.jpg",
    "secure_url": "https://res.cloudinary.com/demo/image/upload/v1699999999/samples/dog.jpg",
    "original_filename": "dog", "api_key": "614335564976464",
}).encode()


def cloudinary_oracle(source: str, algorithm: str) -> Oracle:
    def sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
        # The SDK has no notification signer: Cloudinary's recipe, a plain digest of body, ts, secret.
        digest = hashlib.new(algorithm, body + str(ts).encode() + secret.encode()).hexdigest()
        return [("Content-Type", "application/json"), ("X-Cld-Signature", digest), ("X-Cld-Timestamp", str(ts))]

    def verify(secret: str, headers: Headers, body: bytes) -> bool:
        def check() -> bool:
            cloudinary.config(api_secret=secret)  # the SDK reads the secret from its global config
            return cloudinary.utils.verify_notification_signature(
                body.decode(), header(headers, "X-Cld-Timestamp"), header(headers, "X-Cld-Signature"),
                algorithm=algorithm)

        return accepts(check)

    return Oracle(source=source, sdk="cloudinary 1.46.3 (PyPI)", secret=CLOUDINARY_SECRET,
                  wrong_secret=CLOUDINARY_WRONG, body=CLOUDINARY_BODY, sign=sign, verify=verify,
                  want={"id": _digest_id(CLOUDINARY_BODY), "type": f"{source}.upload", "subject": "samples/dog"},
                  window=7200, sdk_signs=False)


ORACLES = [
    Oracle(source="twilio", sdk="twilio 9.13.0 (PyPI)", secret="9b1d6c0f3a7e4f2b8c5d1e0a6f3b7c92",
           wrong_secret="0e4a8c2f6b1d3e5a7c9f0b2d4e6a8c1f", body=TWILIO_BODY, sign=twilio_sign,
           verify=twilio_verify,
           want={"id": "$id", "type": "twilio.message.delivered", "subject": "SM5ef8732a3c49700934481addd5ce1659"},
           window=None, sdk_signs=True, env={"PUBLIC_URL": TWILIO_URL}, cli_args=("--url", TWILIO_URL)),
    Oracle(source="hubspot", sdk="hubspot-api-client 12.0.0 (PyPI)", secret="yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy",
           wrong_secret="zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", body=HUBSPOT_BODY, sign=hubspot_sign,
           verify=hubspot_verify,
           want={"id": _hubspot_id(json.loads(HUBSPOT_BODY)[0]), "type": "hubspot.contact.propertychange",
                 "subject": "5851"},
           events=[{"id": _hubspot_id(e), "type": f"hubspot.{e['subscriptionType'].lower()}",
                    "subject": str(e["objectId"])} for e in json.loads(HUBSPOT_BODY)],
           window=300, sdk_signs=True, env={"PUBLIC_URL": HUBSPOT_URL}, cli_args=("--url", HUBSPOT_URL)),
    Oracle(source="sendgrid", sdk="sendgrid 6.12.5 (PyPI)", secret=SENDGRID_PRIVATE, wrong_secret=SENDGRID_WRONG,
           verify_secret=sendgrid_public(SENDGRID_PRIVATE), body=SENDGRID_BODY, sign=sendgrid_sign,
           verify=sendgrid_verify,
           want={"id": "rbtnWrG1DVDGGGFHFyun0A==", "type": "sendgrid.delivered",
                 "subject": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},
           events=[{"id": e["sg_event_id"], "type": f"sendgrid.{e['event']}", "subject": e["sg_message_id"]}
                   for e in json.loads(SENDGRID_BODY)],
           window=None, sdk_signs=False),
    Oracle(source="discord", sdk="discord-interactions 0.4.0 (PyPI)", secret=DISCORD_SEED, wrong_secret=DISCORD_WRONG,
           verify_secret=discord_public(DISCORD_SEED), body=DISCORD_BODY, sign=discord_sign, verify=discord_verify,
           want={"id": "786008729715212338", "type": "discord.2.blep", "subject": "290926798626357999"},
           window=None, sdk_signs=False),
    cloudinary_oracle("cloudinary", cloudinary.utils.SIGNATURE_SHA1),
    cloudinary_oracle("cloudinary-sha256", cloudinary.utils.SIGNATURE_SHA256),
    hubspot_legacy_oracle("v1"),
    hubspot_legacy_oracle("v2"),
    Oracle(source="plivo", sdk="plivo 4.63.0 (PyPI)", secret="MzY2YjNlNWFhYjI0OTBmZGMzMDk5MjQyNGI3ZDk0",
           wrong_secret="ZjQ3OWE3ZmNhNTc4YjQ2ZDYwYjE4NWZjNmE2ODFm", body=PLIVO_BODY, sign=plivo_sign,
           verify=plivo_verify,
           want={"id": _digest_id(PLIVO_BODY), "type": "plivo.delivered",
                 "subject": "1e4d8b6a-8c52-11ef-9f1e-0242ac110002"},
           window=None, sdk_signs=True, env={"PUBLIC_URL": PLIVO_URL}, cli_args=("--url", PLIVO_URL)),
    Oracle(source="vonage", sdk="vonage-jwt 1.1.5 (PyPI)", secret="Zx8vK2pQ7wR4tY9uI1oP6aS3dF5gH0jL2kM8nB4v",
           wrong_secret="Qw3eR5tY7uI9oP1aS2dF4gH6jK8lZ0xC3vB5nM7q", body=VONAGE_BODY, sign=vonage_sign,
           verify=vonage_verify,
           want={"id": _digest_id(VONAGE_BODY), "type": "vonage.sms.delivered",
                 "subject": "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab", "time": "2024-02-01T11:48:15.000Z"},
           window=None, sdk_signs=False),
]

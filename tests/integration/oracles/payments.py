"""Payment and identity senders, each checked against its provider's own Python SDK.

The SDK functions that are the oracle:

- Paddle: `paddle_billing.Notifications.Verifier().verify(request, Secret)` (its 5 s window, checked both
  ways). The SDK only verifies (`PaddleSignature.calculate_hmac` is a bare HMAC), so the delivery is built
  by the documented recipe, `ts={ts};h1=hex(HMAC(secret, "{ts}:{body}"))`.
- Coinbase Commerce: `WebhookSignature._compute_signature` signs (the SDK's own helper, used by its
  tests), `Webhook.construct_event` verifies. No timestamp.
- Razorpay: `Client.utility.verify_webhook_signature` only verifies; hex HMAC of the body by the docs.
  No timestamp; the id is the unsigned `X-Razorpay-Event-Id`.
- GoCardless: `gocardless_pro.webhooks.parse_with_meta` only verifies; hex HMAC of the body by the docs.
  No timestamp.
- Square: `square.utils.webhooks_helper.verify_signature` only verifies; base64 HMAC of
  `{notification URL}{body}` by the docs. No timestamp; the URL is the function's PUBLIC_URL.
- WorkOS: `WorkOSClient.webhooks.verify_event` (180 s either way) only verifies;
  `t={ms}, v1=hex(HMAC(secret, "{ms}.{body}"))` by the docs.
- Box: `box_sdk_gen.internal.utils.compute_webhook_signature` signs (primary header under the primary
  key, secondary under the secondary key), `WebhooksManager.validate_message` verifies with both keys. Its
  window is 600 s in the past and refuses any future timestamp; Inlet's is 600 s either way, which the
  harness's stale/future checks use. The function holds the secondary key as WEBHOOK_SECRET_2.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json

import razorpay
from box_sdk_gen.internal.utils import compute_webhook_signature
from box_sdk_gen.managers.webhooks import WebhooksManager
from coinbase_commerce.webhook import Webhook as CoinbaseWebhook
from coinbase_commerce.webhook import WebhookSignature as CoinbaseSignature
from gocardless_pro import webhooks as gocardless_webhooks
from paddle_billing.Notifications import Secret as PaddleSecret
from paddle_billing.Notifications import Verifier as PaddleVerifier
from square.utils.webhooks_helper import verify_signature as square_verify_signature
from workos import WorkOSClient

from . import Headers, Oracle, accepts, header

JSON = ("Content-Type", "application/json")


def _body(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def _hmac(secret: str, content: bytes) -> bytes:
    return hmac.new(secret.encode(), content, hashlib.sha256).digest()


# --- Paddle Billing -----------------------------------------------------------------------------------

PADDLE_SECRET = "pdl_ntfset_01hv8wvbw2m8f3hp8yvy3nkq6f_pZT0b1bqkQ0q9C2Xj0Eabt4gKmzFgZ4q"
PADDLE_WRONG = "pdl_ntfset_01hv8wvbw2m8f3hp8yvy3nkq6f_T0Rk7hxJ1uP3aRw7bWcJfS2hQ8sYqNqE"
PADDLE_BODY = _body({
    "event_id": "evt_01hv8x2acma2gz8m5vq8v9n1ke",
    "event_type": "transaction.paid",
    "occurred_at": "2024-04-12T10:18:49.621022Z",
    "notification_id": "ntf_01hv8x2af4awq8h0bx4x3pnmwt",
    "data": {
        "id": "txn_01hv8wptq8987qeep44cyrewp9", "status": "paid", "customer_id": "ctm_01hv8wt8nffez4p2t6typn4a5j",
        "address_id": "add_01hv8wt8rm7k8bfqe4r1ckxgqa", "currency_code": "USD", "origin": "web",
        "items": [{"price_id": "pri_01gsz8x8sawmvhz1pv30nge1ke", "quantity": 10}],
        "created_at": "2024-04-12T10:12:33.2014Z", "billed_at": "2024-04-12T10:18:48.294633Z",
    },
})


class _PaddleRequest:
    """What the SDK's `Request` protocol asks for: the raw body and a framework's case-insensitive headers."""

    def __init__(self, headers: Headers, body: bytes):
        self.body = body
        self.headers = self
        self._pairs = headers

    def get(self, key: str, default=None) -> str | None:
        value = header(self._pairs, key)
        return default if value is None else value


def paddle_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    h1 = _hmac(secret, f"{ts}:".encode() + body).hex()
    return [JSON, ("Paddle-Signature", f"ts={ts};h1={h1}")]


def paddle_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: PaddleVerifier().verify(_PaddleRequest(headers, body), PaddleSecret(secret)))


# --- Coinbase Commerce --------------------------------------------------------------------------------

COINBASE_SECRET = "4b1fdd2e-6d3c-4f0a-9f2b-5e8a1c7d9b31"
COINBASE_WRONG = "0e7c9a55-2b1f-4d8e-8c3a-71f6d2b4a9e0"
COINBASE_BODY = _body({
    "id": 20,
    "scheduled_for": "2024-03-05T14:22:10Z",
    "attempt_number": 1,
    "event": {
        "id": "6fd1a0b5-3c6e-4d1f-9e0a-2b7c8d9e0f1a",
        "resource": "event",
        "type": "charge:confirmed",
        "api_version": "2018-03-22",
        "created_at": "2024-03-05T14:22:09Z",
        "data": {
            "id": "2b8f3c1e-5a7d-4e9b-8c2f-1d3e5f7a9b0c",
            "code": "N6T5X9KQ",
            "resource": "charge",
            "name": "Annual plan",
            "hosted_url": "https://commerce.coinbase.com/charges/N6T5X9KQ",
            "created_at": "2024-03-05T14:10:41Z",
            "confirmed_at": "2024-03-05T14:22:09Z",
            "pricing_type": "fixed_price",
            "pricing": {"local": {"amount": "100.00", "currency": "USD"}},
            "metadata": {"customer_id": "cus_4812"},
            "timeline": [{"time": "2024-03-05T14:10:41Z", "status": "NEW"},
                         {"time": "2024-03-05T14:22:09Z", "status": "COMPLETED"}],
        },
    },
})


def coinbase_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    return [JSON, ("X-CC-Webhook-Signature", CoinbaseSignature._compute_signature(body.decode(), secret))]


def coinbase_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = header(headers, "X-CC-Webhook-Signature")
    return accepts(lambda: CoinbaseWebhook.construct_event(body.decode(), sig, secret))


# --- Razorpay -----------------------------------------------------------------------------------------

RAZORPAY_SECRET = "rzp-webhook-7Qm2xV9pL4sT8wK1"
RAZORPAY_WRONG = "rzp-webhook-Hn3cB6yR0dZ5uJ2e"
RAZORPAY_BODY = _body({
    "entity": "event",
    "account_id": "acc_BFQ7uQEaa7j2z7",
    "event": "payment.captured",
    "contains": ["payment"],
    "payload": {"payment": {"entity": {
        "id": "pay_DESlfW9H8K9uqM", "entity": "payment", "amount": 100, "currency": "INR", "status": "captured",
        "order_id": "order_DESlLckIVRkHWj", "invoice_id": None, "international": False, "method": "netbanking",
        "amount_refunded": 0, "refund_status": None, "captured": True, "description": None, "card_id": None,
        "bank": "HDFC", "wallet": None, "vpa": None, "email": "gaurav.kumar@example.com", "contact": "+919876543210",
        "notes": [], "fee": 2, "tax": 0, "error_code": None, "error_description": None,
        "created_at": 1567674599,
    }}},
    "created_at": 1567674606,
})
RAZORPAY = razorpay.Client(auth=("rzp_test_oracle", "unused"))


def razorpay_sign(secret: str, body: bytes, _ts: int, delivery_id: str) -> Headers:
    return [JSON, ("X-Razorpay-Signature", _hmac(secret, body).hex()), ("X-Razorpay-Event-Id", delivery_id)]


def razorpay_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = header(headers, "X-Razorpay-Signature")
    return accepts(lambda: RAZORPAY.utility.verify_webhook_signature(body.decode(), sig, secret))


# --- GoCardless ---------------------------------------------------------------------------------------

GOCARDLESS_SECRET = "Ym5KcR8tZ2vQ4xW7nL1pE9sD3fH6jA0uT5yB"
GOCARDLESS_WRONG = "c9XeV2mN7qK4rT1wP8zL5sJ3hF6dG0aB2yU4"
GOCARDLESS_BODY = _body({
    "events": [
        {"id": "EV0025JZT4QGRA", "created_at": "2024-05-14T12:14:41.124Z", "resource_type": "payments",
         "action": "confirmed", "links": {"payment": "PM00AHP2DK9S3M"},
         "details": {"origin": "gocardless", "cause": "payment_confirmed", "bank_account_id": "BA0000XWSQ7S11",
                     "description": "Enough time has passed since the payment was submitted for the banks to "
                                    "return an error, so this payment is now confirmed.", "scheme": "bacs"},
         "metadata": {}, "resource_metadata": {}},
        {"id": "EV0025JZT5C9NB", "created_at": "2024-05-14T12:14:41.531Z", "resource_type": "payouts",
         "action": "paid", "links": {"payout": "PO000BBWDG9H4A"},
         "details": {"origin": "gocardless", "cause": "payout_paid",
                     "description": "GoCardless has transferred the payout to the creditor's bank account."},
         "metadata": {}, "resource_metadata": {}},
    ],
    "meta": {"webhook_id": "WB0032HH2GDAFB"},
})


def gocardless_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    return [JSON, ("Webhook-Signature", _hmac(secret, body).hex())]


def gocardless_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = header(headers, "Webhook-Signature")
    return accepts(lambda: gocardless_webhooks.parse_with_meta(body, secret, sig))


# --- Square -------------------------------------------------------------------------------------------

SQUARE_URL = "https://hooks.example.com/webhooks/square"
SQUARE_SECRET = "Ibxx_5AKakO-3qeNVR61Dw"
SQUARE_WRONG = "MCmhFRxGX82xMwg5FsaoQA"
SQUARE_BODY = _body({
    "merchant_id": "6SSW7HV8K2ST5",
    "type": "payment.updated",
    "event_id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc",
    "created_at": "2020-11-22T21:16:51.198Z",
    "data": {
        "type": "payment",
        "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY",
        "object": {"payment": {
            "id": "hYy9pRFVxpDsO1FB05SunFWUe9JZY", "location_id": "S8GWD5R9QB376",
            "order_id": "03O3USaPaAaFnI6kkwB1JxGgBsUZY",
            "amount_money": {"amount": 100, "currency": "USD"}, "total_money": {"amount": 100, "currency": "USD"},
            "source_type": "CARD", "status": "COMPLETED", "version": 3,
            "created_at": "2020-11-22T21:16:51.086Z", "updated_at": "2020-11-22T21:16:51.198Z",
        }},
    },
})


def square_sign(secret: str, body: bytes, _ts: int, _id: str) -> Headers:
    sig = base64.b64encode(_hmac(secret, SQUARE_URL.encode() + body)).decode()
    return [JSON, ("x-square-hmacsha256-signature", sig)]


def square_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = header(headers, "x-square-hmacsha256-signature") or ""
    return accepts(lambda: square_verify_signature(request_body=body.decode(), signature_header=sig,
                                                   signature_key=secret, notification_url=SQUARE_URL))


# --- WorkOS -------------------------------------------------------------------------------------------

WORKOS_SECRET = "QXgjH3o2rBv0kLm9sT4wZpYc8eNd1fA6"
WORKOS_WRONG = "Z7pR2mK9vW4xN1qL8sD3fH6jB0cT5yEu"
WORKOS_BODY = _body({
    "object": "event",
    "id": "event_01HWWBR6CD7Q4G0N7Y4XQ1ZB9N",
    "event": "user.created",
    "data": {
        "object": "user", "id": "user_01E4ZCR3C56J083X43JQXF3JK5", "email": "marcelina.davis@example.com",
        "first_name": "Marcelina", "last_name": "Davis", "email_verified": True, "profile_picture_url": None,
        "last_sign_in_at": None, "external_id": None, "metadata": {},
        "created_at": "2024-04-30T15:42:18.413Z", "updated_at": "2024-04-30T15:42:18.413Z",
    },
    "created_at": "2024-04-30T15:42:18.542Z",
})
WORKOS = WorkOSClient(api_key="sk_test_oracle", client_id="client_oracle")


def workos_sign(secret: str, body: bytes, ts: int, _id: str) -> Headers:
    ms = ts * 1000
    return [JSON, ("WorkOS-Signature", f"t={ms}, v1={_hmac(secret, f'{ms}.'.encode() + body).hex()}")]


def workos_verify(secret: str, headers: Headers, body: bytes) -> bool:
    sig = header(headers, "WorkOS-Signature")
    return accepts(lambda: WORKOS.webhooks.verify_event(event_body=body, event_signature=sig, secret=secret))


# --- Box ----------------------------------------------------------------------------------------------

BOX_PRIMARY = "Yp3kQ8vT2nL6wR9sX1cZ4bM7dF0hJ5gA"
BOX_WRONG = "Hq6nB1xV8kT3mW5rL9pC2sZ7dJ4fG0yE"
# Each primary key's secondary: the sender holds both, and signs one header with each.
BOX_SECONDARY = {BOX_PRIMARY: "r4Nf8Tq1Lw6Zc3Vx9Bk2Hm7Pd5Sj0Ga", BOX_WRONG: "e2Wk9Rz5Cv1Nq7Tb3Lx8Hf4Ms6Dp0Jy"}
BOX_BODY = _body({
    "type": "webhook_event",
    "id": "eb0c4e06-751f-442c-86f8-fd5bb404dbec",
    "created_at": "2024-06-11T09:31:24-07:00",
    "trigger": "FILE.UPLOADED",
    "webhook": {"id": "161003", "type": "webhook"},
    "created_by": {"type": "user", "id": "2030392", "name": "Aaron Levie", "login": "ceo@box.com"},
    "source": {"id": "1523847291", "type": "file", "name": "Q2 forecast.xlsx", "sequence_id": "0",
               "parent": {"type": "folder", "id": "2873462319", "name": "Finance"}},
    "additional_info": [],
})
PACIFIC = datetime.timezone(datetime.timedelta(hours=-7))


def box_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    headers = {
        "box-delivery-id": delivery_id,
        "box-delivery-timestamp": datetime.datetime.fromtimestamp(ts, tz=PACIFIC).isoformat(),
        "box-signature-algorithm": "HmacSHA256",
        "box-signature-version": "1",
    }
    text = body.decode()
    headers["box-signature-primary"] = compute_webhook_signature(text, headers, secret)
    headers["box-signature-secondary"] = compute_webhook_signature(text, headers, BOX_SECONDARY[secret])
    return [JSON, *headers.items()]


def box_verify(secret: str, headers: Headers, body: bytes) -> bool:
    lower = {k.lower(): v for k, v in headers}
    return accepts(lambda: WebhooksManager.validate_message(body.decode(), lower, secret,
                                                            secondary_key=BOX_SECONDARY[secret]))


ORACLES = [
    Oracle(source="paddle", sdk="paddle-python-sdk 1.16.1 (PyPI)", secret=PADDLE_SECRET, wrong_secret=PADDLE_WRONG,
           body=PADDLE_BODY, sign=paddle_sign, verify=paddle_verify,
           want={"id": "evt_01hv8x2acma2gz8m5vq8v9n1ke", "type": "paddle.transaction.paid",
                 "subject": "ctm_01hv8wt8nffez4p2t6typn4a5j", "time": "2024-04-12T10:18:49.621Z"},
           window=5, sdk_signs=False),
    Oracle(source="coinbase", sdk="coinbase-commerce 1.0.1 (PyPI)", secret=COINBASE_SECRET,
           wrong_secret=COINBASE_WRONG, body=COINBASE_BODY, sign=coinbase_sign, verify=coinbase_verify,
           want={"id": "6fd1a0b5-3c6e-4d1f-9e0a-2b7c8d9e0f1a", "type": "coinbase.charge:confirmed",
                 "subject": "N6T5X9KQ", "time": "2024-03-05T14:22:09.000Z"},
           window=None, sdk_signs=True),
    Oracle(source="razorpay", sdk="razorpay 2.0.1 (PyPI)", secret=RAZORPAY_SECRET, wrong_secret=RAZORPAY_WRONG,
           body=RAZORPAY_BODY, sign=razorpay_sign, verify=razorpay_verify,
           want={"id": "$id", "type": "razorpay.payment.captured", "subject": "pay_DESlfW9H8K9uqM",
                 "time": "2019-09-05T09:10:06.000Z"},
           window=None, sdk_signs=False),
    Oracle(source="gocardless", sdk="gocardless-pro 3.22.0 (PyPI)", secret=GOCARDLESS_SECRET,
           wrong_secret=GOCARDLESS_WRONG, body=GOCARDLESS_BODY, sign=gocardless_sign, verify=gocardless_verify,
           want={"id": "EV0025JZT4QGRA", "type": "gocardless.payments.confirmed", "subject": "PM00AHP2DK9S3M",
                 "time": "2024-05-14T12:14:41.124Z"},
           events=[{"id": "EV0025JZT4QGRA", "type": "gocardless.payments.confirmed", "subject": "PM00AHP2DK9S3M",
                    "time": "2024-05-14T12:14:41.124Z"},
                   {"id": "EV0025JZT5C9NB", "type": "gocardless.payouts.paid", "subject": "PO000BBWDG9H4A",
                    "time": "2024-05-14T12:14:41.531Z"}],
           events_at="events", window=None, sdk_signs=False),
    Oracle(source="square", sdk="squareup 46.0.0.20260916 (PyPI)", secret=SQUARE_SECRET, wrong_secret=SQUARE_WRONG,
           body=SQUARE_BODY, sign=square_sign, verify=square_verify,
           want={"id": "6a8f5f28-54a1-4eb0-a98a-3111513fd4fc", "type": "square.payment.updated",
                 "subject": "hYy9pRFVxpDsO1FB05SunFWUe9JZY", "time": "2020-11-22T21:16:51.198Z"},
           window=None, sdk_signs=False, env={"PUBLIC_URL": SQUARE_URL}, cli_args=("--url", SQUARE_URL)),
    Oracle(source="workos", sdk="workos 10.6.0 (PyPI)", secret=WORKOS_SECRET, wrong_secret=WORKOS_WRONG,
           body=WORKOS_BODY, sign=workos_sign, verify=workos_verify,
           want={"id": "event_01HWWBR6CD7Q4G0N7Y4XQ1ZB9N", "type": "workos.user.created",
                 "subject": "user_01E4ZCR3C56J083X43JQXF3JK5", "time": "2024-04-30T15:42:18.542Z"},
           window=180, sdk_signs=False),
    Oracle(source="box", sdk="box-sdk-gen 1.17.0 (PyPI)", secret=BOX_PRIMARY, wrong_secret=BOX_WRONG,
           body=BOX_BODY, sign=box_sign, verify=box_verify,
           want={"id": "eb0c4e06-751f-442c-86f8-fd5bb404dbec", "type": "box.file.uploaded", "subject": "1523847291",
                 "time": "2024-06-11T16:31:24.000Z"},
           window=600, sdk_signs=True, env={"WEBHOOK_SECRET_2": BOX_SECONDARY[BOX_PRIMARY]}),
]

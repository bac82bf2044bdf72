"""Svix and the senders it hosts (Clerk, Resend), with Svix's own Python SDK; OpenAI and Replicate
with the Standard Webhooks SDK. Svix-hosted deliveries arrive in `svix-*` headers, the others in
`webhook-*` headers."""

from __future__ import annotations

import datetime
import json

import standardwebhooks
from svix.webhooks import Webhook as SvixWebhook

from . import Headers, Oracle, accepts

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WRONG = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


def _when(ts: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)


def svix_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    sig = SvixWebhook(secret).sign(delivery_id, _when(ts), body.decode())
    return [("Content-Type", "application/json"), ("svix-id", delivery_id), ("svix-timestamp", str(ts)),
            ("svix-signature", sig)]


def svix_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: SvixWebhook(secret).verify(body, dict(headers)))


def standard_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    sig = standardwebhooks.Webhook(secret).sign(delivery_id, _when(ts), body.decode())
    return [("Content-Type", "application/json"), ("webhook-id", delivery_id), ("webhook-timestamp", str(ts)),
            ("webhook-signature", sig)]


def standard_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return accepts(lambda: standardwebhooks.Webhook(secret).verify(body, dict(headers)))


def _body(**doc) -> bytes:
    return json.dumps(doc).encode()


SVIX_HOSTED = {
    "svix": ("svix 2.9.1 (PyPI)", _body(type="invoice.paid", data={"id": "in_1", "amount": 1200}), "svix.invoice.paid"),
    "clerk": ("svix 2.9.1 (PyPI; Clerk signs with Svix)",
              _body(type="user.created", object="event", data={"id": "user_29w83sxmDNGwOuEthce5gg56FcC"}),
              "clerk.user.created"),
    "resend": ("svix 2.9.1 (PyPI; Resend signs with Svix)",
               _body(type="email.delivered", created_at="2024-11-22T23:41:12.126Z",
                     data={"email_id": "56761188-7520-42d8-8898-ff6fc54ce618", "to": ["a@example.com"]}),
               "resend.email.delivered"),
}
STANDARD = {
    "openai": ("standardwebhooks 1.1.0 (PyPI)",
               _body(object="event", id="evt_685343a1381c819085d44c354e1b330e", type="response.completed",
                     created_at=1750287018, data={"id": "resp_abc"}),
               "openai.response.completed"),
    "replicate": ("standardwebhooks 1.1.0 (PyPI)",
                  _body(id="ufawqhfynnddngldkgtslldrkq", model="replicate/hello-world", status="succeeded",
                        output="hello world", created_at="2022-04-26T22:13:06.224088Z"),
                  "replicate.prediction.succeeded"),
}


def _oracle(source, sdk, body, ty, sign, verify) -> Oracle:
    return Oracle(source=source, sdk=sdk, secret=SECRET, wrong_secret=WRONG, body=body, sign=sign, verify=verify,
                  want={"id": "$id", "type": ty, "subject": None}, window=300, sdk_signs=True)


ORACLES = [_oracle(s, sdk, body, ty, svix_sign, svix_verify) for s, (sdk, body, ty) in SVIX_HOSTED.items()] + [
    _oracle(s, sdk, body, ty, standard_sign, standard_verify) for s, (sdk, body, ty) in STANDARD.items()
]

"""Svix and the senders it hosts (Clerk, Resend, Stytch, incident.io), with Svix's own Python SDK;
OpenAI, Replicate, Brex, Render, Lithic and Polar with the Standard Webhooks SDK. Svix-hosted
deliveries arrive in `svix-*` headers (incident.io's in `webhook-*`, as its docs show), the others in
`webhook-*` headers. Polar's key is its secret's own bytes: Polar's SDK hands the Standard Webhooks SDK
the base64 of the whole `polar_whs_…` secret, and so does this oracle."""

from __future__ import annotations

import base64
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


def svix_unbranded_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    """Svix's SDK signing, sent in `webhook-*` headers (incident.io's deliveries)."""
    return [(k.replace("svix-", "webhook-"), v) for k, v in svix_sign(secret, body, ts, delivery_id)]


def _polar_key(secret: str) -> str:
    """What polar-sdk's validate_event hands standardwebhooks: the base64 of the secret's bytes."""
    return base64.b64encode(secret.encode()).decode()


def polar_sign(secret: str, body: bytes, ts: int, delivery_id: str) -> Headers:
    return standard_sign(_polar_key(secret), body, ts, delivery_id)


def polar_verify(secret: str, headers: Headers, body: bytes) -> bool:
    return standard_verify(_polar_key(secret), headers, body)


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
    "stytch": ("svix 2.9.1 (PyPI; Stytch signs with Svix)",
               _body(project_id="project-live-3a5e7c9b-1d2f-4e6a-8b0c-2d4f6a8c0e1f",
                     event_id="event-live-5c7e9a1b-3d5f-4a6c-8e0a-2c4e6a8c0d2f", action="CREATE",
                     object_type="organization", source="DASHBOARD",
                     id="organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f", timestamp="2024-01-23T19:38:41.000Z",
                     organization={"organization_id": "organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f",
                                   "organization_name": "Example Org"}),
               "stytch.dashboard.organization.create", "organization-live-7e9a1b3c-5d7f-4c8e-8a2b-4c6e8a0c2e4f"),
}
SVIX_UNBRANDED = {
    "incident-io": ("svix 2.9.1 (PyPI; incident.io signs with Svix)",
                    _body(**{"event_type": "private_incident.action_created_v1",
                             "private_incident.action_created_v1": {"id": "abc123"}}),
                    "incident-io.private_incident.action_created_v1"),
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
    "brex": ("standardwebhooks 1.1.0 (PyPI)",
             _body(event_type="TRANSFER_PROCESSED", transfer_id="dpmt_cm1x8k2ph00aa08l5b3qz9v7c", payment_type="ACH",
                   company_id="cuacc_cm1x8k2ph00ab08l5a1c2d3e4"),
             "brex.transfer_processed", "dpmt_cm1x8k2ph00aa08l5b3qz9v7c"),
    "render": ("standardwebhooks 1.1.0 (PyPI)",
               _body(type="deploy_ended", timestamp="2025-02-05T16:00:01.000000Z",
                     data={"id": "evj-cukouhrtq21c73e9scng", "serviceId": "srv-cukouhrtq21c73e9scng"}),
               "render.deploy_ended", "srv-cukouhrtq21c73e9scng"),
    "lithic": ("standardwebhooks 1.1.0 (PyPI)",
               _body(event_type="account_holder.created", token="9a7f0cd1-0f5e-4b8b-9d3c-2f1a6b7c8d9e",
                     account_token="1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", created="2025-01-15T10:30:00Z",
                     status="ACCEPTED", status_reason=[]),
               "lithic.account_holder.created", "9a7f0cd1-0f5e-4b8b-9d3c-2f1a6b7c8d9e"),
}
POLAR_SECRET = "polar_whs_8oQ2mZJ1xQ0m3d6bYv4kRr7TgHn2pLsE9wUcVa5KfXy"
POLAR_WRONG = "polar_whs_Zq4LrT8vN2xB6mK0cW5yH9jD3fG7sA1pE4uRtYiOaSd"
POLAR = {
    "polar": ("standardwebhooks 1.1.0 (PyPI; as polar-sdk calls it)",
              _body(type="order.paid", timestamp="2025-06-01T12:00:00Z",
                    data={"id": "b7d0e3c4-2f1a-4c5b-9e8d-7a6b5c4d3e2f", "status": "paid", "total_amount": 1000,
                          "currency": "usd"}),
              "polar.order.paid", "b7d0e3c4-2f1a-4c5b-9e8d-7a6b5c4d3e2f"),
}


def _oracle(source, sdk, body, ty, sign, verify, subject=None, secret=SECRET, wrong=WRONG) -> Oracle:
    return Oracle(source=source, sdk=sdk, secret=secret, wrong_secret=wrong, body=body, sign=sign, verify=verify,
                  want={"id": "$id", "type": ty, "subject": subject}, window=300, sdk_signs=True)


ORACLES = (
    [_oracle(s, sdk, body, ty, svix_sign, svix_verify, *rest) for s, (sdk, body, ty, *rest) in SVIX_HOSTED.items()]
    + [_oracle(s, sdk, body, ty, svix_unbranded_sign, svix_verify, *rest)
       for s, (sdk, body, ty, *rest) in SVIX_UNBRANDED.items()]
    + [_oracle(s, sdk, body, ty, standard_sign, standard_verify, *rest)
       for s, (sdk, body, ty, *rest) in STANDARD.items()]
    + [_oracle(s, sdk, body, ty, polar_sign, polar_verify, *rest, secret=POLAR_SECRET, wrong=POLAR_WRONG)
       for s, (sdk, body, ty, *rest) in POLAR.items()]
)

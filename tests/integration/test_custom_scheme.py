"""The custom scheme, configured as a deployment configures it (INLET_SOURCE plus its entry in
INLET_SOURCE_SETTINGS), through the compiled function and moto: the README's new-order example."""

from __future__ import annotations

import hashlib
import hmac
import json

from conftest import queue_depth, receive_all
from signers import api_event

SECRET = "acme-signing-secret"
SETTINGS = {"acme": {
    "INLET_SCHEME": "custom",
    "INLET_CUSTOM_SIGNATURE": "header:X-Signature",
    "INLET_CUSTOM_ID": "json:data.order_id",
    "INLET_CUSTOM_TYPE": "json:event",
    "INLET_CUSTOM_SUBJECT": "json:data.customer_name",
}}
BODY = json.dumps({"event": "new_order", "data": {"order_id": "ord_1001", "customer_name": "Ada Lovelace",
                                                  "total_amount": 42.5}}).encode()


def start(start_function, queue_url, settings=SETTINGS):
    return start_function("acme", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET": SECRET,
                                   "INLET_SOURCE_SETTINGS": json.dumps(settings)})


def signed(body: bytes, secret: str = SECRET):
    return [("Content-Type", "application/json"),
            ("X-Signature", hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())]


def test_the_new_order_example_lands_as_configured(start_function, new_queue, sqs):
    queue_url = new_queue()
    fn = start(start_function, queue_url)
    resp = fn.invoke(api_event("v2", "acme", signed(BODY), BODY))
    assert resp["statusCode"] == 202, resp
    [message] = receive_all(sqs, queue_url)
    env = json.loads(message["Body"])
    assert (env["source"], env["type"], env["id"], env["subject"]) == ("acme", "acme.new_order", "ord_1001", "Ada Lovelace")
    assert env["data"] == json.loads(BODY)
    assert env["inletverification"] == "acme-hmac-sha256"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    for headers, body in [(signed(BODY, "wrong"), BODY), (signed(BODY), BODY.replace(b"1001", b"1002"))]:
        assert fn.invoke(api_event("v2", "acme", headers, body))["statusCode"] == 401
    assert queue_depth(sqs, queue_url) == 0


def test_bad_configuration_stops_the_function_naming_the_setting(start_function, new_queue):
    bad = {"acme": {**SETTINGS["acme"], "INLET_CUSTOM_ALGORITHM": "hmac-md5"}}
    fn = start(start_function, new_queue(), bad)
    assert fn.wait_exit() != 0
    assert "INLET_CUSTOM_ALGORITHM" in fn.logs()

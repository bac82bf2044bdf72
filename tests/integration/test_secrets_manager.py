"""Functions configured with only a Secrets Manager secret (moto), including rotation."""

from __future__ import annotations

import json
import time
import uuid

from conftest import receive_all
from signers import api_event, sample, sdk_signed


def make_secret(aws, value: str) -> str:
    return aws("secretsmanager").create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]


def send(fn, source, secret, delivery_id=None):
    body = sample(source)
    return fn.invoke(api_event("v2", source, sdk_signed(source, secret, body, delivery_id=delivery_id), body))["statusCode"]


def test_secret_arn_alone_verifies_and_enqueues(aws, start_function, new_queue, sqs):
    arn = make_secret(aws, "gh-secret-from-secrets-manager")
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn, "WEBHOOK_SECRET": ""})
    assert send(fn, "github", "gh-secret-from-secrets-manager") == 202
    assert send(fn, "github", "some-other-secret") == 401
    envelopes = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
    assert [e["inletsecret"] for e in envelopes] == ["secretsmanager[0]"]
    assert "gh-secret-from-secrets-manager" not in fn.logs()


def test_rotated_value_lists_old_and_new(aws, start_function, new_queue, sqs):
    value = json.dumps({"secrets": ["whsec_new_stripe_secret", "whsec_old_stripe_secret"]})
    arn = make_secret(aws, value)
    queue_url = new_queue()
    fn = start_function("stripe", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    assert send(fn, "stripe", "whsec_new_stripe_secret") == 202
    assert send(fn, "stripe", "whsec_old_stripe_secret") == 202
    assert send(fn, "stripe", "whsec_retired") == 401
    labels = sorted(json.loads(m["Body"])["inletsecret"] for m in receive_all(sqs, queue_url))
    assert labels == ["secretsmanager[0]", "secretsmanager[1]"]


def test_rotation_takes_effect_without_a_restart(aws, start_function, new_queue, sqs):
    sm = aws("secretsmanager")
    arn = make_secret(aws, "before-rotation")
    queue_url = new_queue()
    fn = start_function("github", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn, "SECRET_REFRESH_SECONDS": "1"})
    assert send(fn, "github", "before-rotation", "d1") == 202
    sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"secrets": ["after-rotation", "before-rotation"]}))
    time.sleep(1.1)
    # The first delivery with the new secret triggers one re-fetch, then verifies.
    assert send(fn, "github", "after-rotation", "d2") == 202
    assert send(fn, "github", "before-rotation", "d3") == 202
    # Re-fetches are bounded: a burst of bad signatures does not re-read the secret each time.
    assert [send(fn, "github", "attacker", f"x{i}") for i in range(5)] == [401] * 5
    logs = fn.logs()
    assert logs.count("secrets refreshed") == 1, logs
    assert len(receive_all(sqs, queue_url)) == 3


def test_unreadable_secret_fails_at_start(start_function, new_queue):
    fn = start_function("github", {"QUEUE_URL": new_queue(),
                                   "WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf"})
    assert fn.wait_exit() != 0
    logs = fn.logs()
    assert "WEBHOOK_SECRET_ARN is invalid" in logs and "refusing to start" in logs


def test_secret_arn_and_plain_secret_together_is_refused(aws, start_function, new_queue):
    fn = start_function("github", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET_ARN": make_secret(aws, "a"), "WEBHOOK_SECRET": "b"})
    assert fn.wait_exit() != 0
    assert "not both" in fn.logs()

"""The `bootstrap` binaries that `sam build` produced, fed the committed `infra/events/` files with the
`infra/env.json` environment (what `sam local invoke -e ... --env-vars infra/env.json` does where
Docker is available), through the Lambda Runtime API, against moto's SQS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import ROOT, receive_all, queue_depth
from runtime_api import Function

BUILD_DIR = Path(os.environ.get("INLET_SAM_BUILD_DIR", ROOT / ".aws-sam" / "build"))
EVENTS = sorted((ROOT / "infra" / "events").glob("*.json"))
ENV = json.loads((ROOT / "infra" / "env.json").read_text())


def function_id(event_file: Path) -> str:
    """The function template.yaml's loop makes for the event's source: `githubFunction`."""
    return f"{event_file.name.split('-')[0]}Function"


@pytest.fixture
def sam_function(moto_url, tmp_path):
    started = []

    def start(function: str, queue_url: str) -> Function:
        bootstrap = BUILD_DIR / function / "bootstrap"
        if not bootstrap.exists():
            pytest.fail(f"{bootstrap} is missing: run `sam build` first (infra/scripts/test does)")
        env = {**ENV[function], "QUEUE_URL": queue_url, "AWS_ENDPOINT_URL": moto_url}
        f = Function(bootstrap, env, tmp_path / f"{function}.log")
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


def test_every_function_has_events():
    assert {function_id(e) for e in EVENTS} == set(ENV) == {
        "githubFunction", "stripeFunction", "slackFunction", "standardFunction"}
    assert all(any(e.name.startswith(s) and "tampered" in e.name for e in EVENTS) for s in ["github", "stripe", "slack", "standard"])


@pytest.mark.parametrize("event_file", EVENTS, ids=lambda p: p.stem)
def test_sam_built_bootstrap_handles_the_committed_event(event_file, sam_function, new_queue, sqs):
    queue_url = new_queue()
    fn = sam_function(function_id(event_file), queue_url)
    event = json.loads(event_file.read_text())
    resp = fn.invoke(event)
    name = event_file.stem
    if "tampered" in name:
        assert resp["statusCode"] == 401, resp
        assert json.loads(resp["body"])["type"] == "urn:inlet:problem:invalid-signature"
        assert queue_depth(sqs, queue_url) == 0
    elif name == "slack-url-verification":
        assert resp["statusCode"] == 200
        assert resp["body"] == "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
        assert queue_depth(sqs, queue_url) == 0
    else:
        assert resp["statusCode"] == 202, resp
        messages = receive_all(sqs, queue_url)
        assert len(messages) == 1
        envelope = json.loads(messages[0]["Body"])
        assert envelope["id"] == json.loads(resp["body"])["id"]
        assert envelope["source"] == event_file.name.split("-")[0]
        assert envelope["inletsecret"] == "WEBHOOK_SECRET"
        assert messages[0]["MessageAttributes"]["type"]["StringValue"] == envelope["type"]

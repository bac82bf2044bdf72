"""A deployment of sources chosen by name, as `sam build` made it (infra/scripts/check-template builds
INLET_SAM_SOURCES): the built template, expanded as the AWS::LanguageExtensions transform expands it,
gives each source its function (one shared build), its environment and its routes; each function,
started from the built `bootstrap` with that environment, verifies its sender's SDK-signed deliveries
through the Lambda Runtime API against moto, and refuses tampered ones."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, queue_depth, receive_all
from oracles import all_oracles
from runtime_api import Function
from signers import api_event

BUILD_DIR = Path(os.environ.get("INLET_SAM_BUILD_DIR", ROOT / ".aws-sam" / "build"))
BUILT = os.environ.get("INLET_SAM_SOURCES", "github,stripe,slack,standard,shopify,paddle,meta,trello,billing").split(",")
# The deployment under test: three sources chosen by name, one of them a second Standard Webhooks
# sender under a name of its own, as SourceSettings makes it.
DEPLOYED = ["shopify", "paddle", "billing"]
SETTINGS = {"billing": {"INLET_SCHEME": "standard"}}

_spec = importlib.util.spec_from_file_location("expand_template", ROOT / "infra" / "scripts" / "expand-template.py")
expand_template = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(expand_template)


def oracle(source: str):
    """The SDK oracle of the source's sender; `billing` is signed as Standard Webhooks (OpenAI's)."""
    by_source = {o.source: o for o in all_oracles()}
    if source == "billing":
        base = by_source["openai"]
        return dataclasses.replace(base, source="billing",
                                   want={**base.want, "type": base.want["type"].replace("openai.", "billing.", 1)})
    return by_source[source]


@pytest.fixture(scope="module")
def built():
    path = BUILD_DIR / "template.yaml"
    if not path.exists():
        pytest.fail(f"{path} is missing: run infra/scripts/check-template first (infra/scripts/test does)")
    template = yaml.safe_load(path.read_text())
    params = {"Sources": BUILT}
    for section in ("Resources", "Outputs"):
        template[section] = expand_template.expand(template[section], template, params)
    return template


def literal_env(template: dict, function: str) -> dict[str, str]:
    """The function's environment as deployed, less what only a stack resolves (queue, table, ARNs)."""
    merged = {**template["Globals"]["Function"]["Environment"]["Variables"],
              **template["Resources"][function]["Properties"]["Environment"]["Variables"]}
    return {k: v for k, v in merged.items() if isinstance(v, str)}


def test_every_source_has_its_own_function_routes_and_secret_from_one_build(built):
    resources = built["Resources"]
    code = {resources[f"{s}Function"]["Properties"]["CodeUri"] for s in BUILT}
    assert len(code) == 1, f"one build serves every source: {code}"
    assert (BUILD_DIR / code.pop() / "bootstrap").is_file()
    for s in BUILT:
        assert literal_env(built, f"{s}Function")["INLET_SOURCE"] == s
        assert resources[f"{s}Function"]["Properties"]["Environment"]["Variables"]["WEBHOOK_SECRET_ARN"] == {
            "Ref": f"{s}Secret"}
        assert resources[f"{s}Secret"]["Type"] == "AWS::SecretsManager::Secret"
        assert resources[f"{s}LogGroup"]["Type"] == "AWS::Logs::LogGroup"
        routes = sorted(r["Properties"]["RouteKey"] for k, r in resources.items()
                        if k.startswith(s) and r["Type"] == "AWS::ApiGatewayV2::Route")
        extra = {"meta": ["GET /webhooks/meta"], "trello": ["HEAD /webhooks/trello"]}.get(s, [])
        assert routes == sorted([f"POST /webhooks/{s}", *extra]), s
        [s3] = [st["Resource"] for st in resources[f"{s}Function"]["Properties"]["Policies"][0]["Statement"]
                if isinstance(st, dict) and st.get("Sid") == "StoreItsPayloads"]
        assert [r["Fn::Sub"].rsplit("/", 2)[-2] for r in s3] == [s, s], "payload writes only under its own prefix"


@pytest.mark.parametrize("source", DEPLOYED)
def test_each_function_verifies_its_senders_sdk_signed_deliveries(source, built, moto_url, new_queue, sqs, tmp_path):
    o = oracle(source)
    code = built["Resources"][f"{source}Function"]["Properties"]["CodeUri"]
    env = {**literal_env(built, f"{source}Function"), "INLET_SOURCE_SETTINGS": json.dumps(SETTINGS),
           "QUEUE_URL": (queue_url := new_queue()), "WEBHOOK_SECRET": o.receiver_secret,
           "IDEMPOTENCY_TABLE": "", "PAYLOAD_BUCKET": "", "AWS_ENDPOINT_URL": moto_url, **o.env}
    fn = Function(BUILD_DIR / code / "bootstrap", env, tmp_path / f"{source}.log")
    try:
        now = int(time.time())
        body = o.body_for(now)
        delivery_id = f"msg_{uuid.uuid4().hex[:20]}"
        headers = o.sign(o.secret, body, now, delivery_id)
        assert o.verify(o.receiver_secret, headers, body)
        tampered = bytearray(body)
        tampered[len(body) // 2] ^= 0x01
        resp = fn.invoke(api_event("v2", source, headers, bytes(tampered)))
        assert resp["statusCode"] == 401, resp
        assert queue_depth(sqs, queue_url) == 0

        resp = fn.invoke(api_event("v2", source, headers, body))
        assert resp["statusCode"] == 202, resp
        [message] = receive_all(sqs, queue_url)
        envelope = json.loads(message["Body"])
        assert envelope["source"] == source
        for key, want in o.expected(delivery_id).items():
            assert envelope.get(key) == want, key
    finally:
        fn.stop()


def test_the_routes_mapping_is_what_each_sender_answers():
    """template.yaml's Routes mapping against `inlet sources` (METHODS): a sender whose handshake
    needs GET or HEAD is routed it, and no other is."""
    import subprocess

    from conftest import BIN_DIR

    table = subprocess.run([str(BIN_DIR / "inlet"), "sources"], capture_output=True, text=True, check=True).stdout
    lines = table.splitlines()
    at = lines[0].index("METHODS")
    answers = {line.split()[0]: line[at:].split()[0].split(",") for line in lines[1:] if not line.startswith("<")}
    assert len(answers) >= 40
    mapping = yaml.safe_load((BUILD_DIR / "template.yaml").read_text())["Mappings"]["Routes"]
    assert {k: v["Methods"] for k, v in mapping.items()} == {s: m for s, m in answers.items() if m != ["POST"]}

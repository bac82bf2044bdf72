"""`cargo lambda deploy` reads the function's [package.metadata.lambda.deploy]; --dry packages the
`inlet-webhook` binary that `sam build` (cargo lambda) produced and prints the configuration it would
deploy. One binary serves every source: each deployed function is named for its source and told which
one it is by INLET_SOURCE."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

SAM_BIN = Path(os.environ.get("INLET_VENV_SAM") or ROOT / ".venv-sam") / "bin"
# Under pytest-xdist (infra/scripts/test) on one worker: each case packages the same binaries.
pytestmark = pytest.mark.xdist_group("cargo-lambda")


@pytest.mark.parametrize("source", ["github", "twilio", "billing"])
def test_deploy_configuration(source):
    env = {**os.environ, "PATH": f"{SAM_BIN}:{os.environ['PATH']}", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    out = subprocess.run(
        ["cargo", "lambda", "deploy", "--binary-name", "inlet-webhook", f"inlet-{source}", "--dry",
         "--output-format", "json", "--iam-role", "arn:aws:iam::123456789012:role/inlet",
         "--env-var", f"INLET_SOURCE={source}",
         "--env-var", "QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/q",
         "--env-var", "WEBHOOK_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:s"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout[out.stdout.index("{"):])
    # The plan names the binary it packages; the function name (the positional argument) is not in it.
    assert plan["name"] == "inlet-webhook"
    assert plan["files"] == ["bootstrap"]
    config = plan["config"]
    assert (config["memory"], config["timeout"], config["tracing"], config["runtime"]) == (128, 5, "Active", "provided.al2023")
    assert sorted(config["env_var"]) == sorted([
        f"INLET_SOURCE={source}", "QUEUE_URL=https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "WEBHOOK_SECRET_ARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:s"])


@pytest.mark.parametrize("binary,function", [("inlet-fanout", "FanoutFunction"), ("inlet-delivery", "DeliveryFunction")])
def test_outbound_deploy_configuration_is_the_templates(binary, function):
    """functions/outbound holds two binaries: each has its own [package.metadata.lambda.bin.*]
    configuration where it differs, and both agree with the template's function."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # the short forms (!Ref …)
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)
    want = template["Resources"][function]["Properties"]
    env = {**os.environ, "PATH": f"{SAM_BIN}:{os.environ['PATH']}", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    out = subprocess.run(
        ["cargo", "lambda", "deploy", "--binary-name", binary, f"inlet-{binary}", "--dry", "--output-format", "json",
         "--iam-role", "arn:aws:iam::123456789012:role/inlet"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout[out.stdout.index("{"):])
    assert plan["name"] == binary and plan["files"] == ["bootstrap"]
    config = plan["config"]
    assert (config["timeout"], config["tracing"], config["runtime"]) == (want["Timeout"], "Active", "provided.al2023")
    assert config["description"] == want["Description"]

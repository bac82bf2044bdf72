"""The function reaches AWS over TLS trusting the Amazon Trust Services roots it carries plus the
certificates in AWS_CA_BUNDLE, and nothing from the system's bundle unless INLET_TLS_ROOTS=system.
The endpoint is the benchmark's HTTPS stub (infra/bench/harness), whose certificate comes from a
test CA made at its start, so no trust store holds it unless a test puts it there."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest

from conftest import ROOT
from runtime_api import Function

sys.path.insert(0, str(ROOT / "infra" / "bench"))
import bench  # noqa: E402

STUB = ROOT / "target" / "debug" / "bench-stub"
INLET = ROOT / "target" / "debug" / "inlet-webhook"


@pytest.fixture
def stub(tmp_path):
    s = bench.Stub(STUB, tmp_path)
    yield s
    s.stop()


@pytest.fixture
def function(stub, tmp_path):
    started: list[Function] = []

    def start(extra: dict[str, str]) -> Function:
        env = {**bench.aws_env(stub), "INLET_SOURCE": "github", **extra}
        fn = Function(INLET, env, tmp_path / f"fn-{len(started)}.log")
        started.append(fn)
        return fn

    yield start
    for fn in started:
        fn.stop()


def delivered(fn: Function, stub: bench.Stub) -> None:
    body = bench.body_of("github", 1024)
    r = fn.invoke(bench.signed_event("github", body))
    assert r["statusCode"] == 202, r
    stats = stub.stats()
    assert stats["calls"].get("secretsmanager.GetSecretValue") == 1
    assert stats["calls"].get("AmazonSQS.SendMessage") == 1
    assert json.loads(stats["last_message"])["inletbodysha256"] == hashlib.sha256(body).hexdigest()


def test_an_endpoint_whose_ca_is_in_aws_ca_bundle_is_trusted(stub, function):
    delivered(function({"AWS_CA_BUNDLE": str(stub.ca)}), stub)


def test_the_system_bundle_is_not_read(stub, function):
    # SSL_CERT_FILE is where the SDK's default client (rustls-native-certs) looks first: a
    # function that read the system's trust store would trust the stub through it.
    fn = function({"SSL_CERT_FILE": str(stub.system_plus_ca)})
    # An untrusted certificate is no outage that passes: the function refuses to start, saying so.
    assert fn.wait_exit() != 0
    assert "refusing to start" in fn.logs()
    assert "WEBHOOK_SECRET_ARN" in fn.logs() and "certificate is not trusted" in fn.logs()
    assert stub.stats()["calls"] == {}, "no request got past the TLS handshake"


def test_inlet_tls_roots_system_trusts_the_system_bundle(stub, function):
    delivered(function({"INLET_TLS_ROOTS": "system", "SSL_CERT_FILE": str(stub.system_plus_ca)}), stub)


def test_an_unreadable_ca_bundle_stops_the_function_naming_it(stub, function, tmp_path):
    fn = function({"AWS_CA_BUNDLE": str(tmp_path / "missing.pem")})
    assert fn.wait_exit() != 0
    assert "AWS_CA_BUNDLE is invalid" in fn.logs()
    assert stub.stats()["calls"] == {}

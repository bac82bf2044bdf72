"""Fixtures for the integration tests: a moto server (real SQS/S3/Secrets Manager wire protocols)
on a free loopback port, the compiled function binaries run through a Lambda Runtime API, and
helpers that sign requests with the providers' own SDKs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from runtime_api import Function  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# Binaries under test: cargo's output by default; the test script may point this at `sam build` output.
BIN_DIR = Path(os.environ.get("INLET_BIN_DIR", ROOT / "target" / "debug"))
VENV_BIN = Path(sys.executable).parent

SOURCES = ["github", "stripe", "slack", "standard"]

# Development secrets (the same as the CLI's defaults and infra/env.json).
DEV_SECRETS = {
    "github": "inlet-dev-github-secret",
    "stripe": "whsec_inlet_dev_stripe_secret",
    "slack": "inlet-dev-slack-signing-secret",
    "standard": "whsec_aW5sZXQtZGV2LXN0YW5kYXJkLXdlYmhvb2tzLWtleSE=",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    # moto_serial.py runs moto's server one request at a time: the atomicity AWS guarantees.
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "moto_serial.py"), "127.0.0.1", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/moto-api/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def aws(moto_url):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


@pytest.fixture
def sqs(aws):
    return aws("sqs")


@pytest.fixture
def new_queue(sqs):
    """Creates a fresh queue per call so every test reads only its own messages."""

    def make(fifo: bool = False, max_message_size: int | None = None) -> str:
        name = f"inlet-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
        attrs = {"FifoQueue": "true"} if fifo else {}
        if max_message_size is not None:
            attrs["MaximumMessageSize"] = str(max_message_size)
        return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]

    return make


@pytest.fixture
def new_table(aws):
    """Creates a fresh idempotency table per call, shaped as template.yaml makes it."""

    def make() -> str:
        name = f"inlet-idem-{uuid.uuid4().hex[:12]}"
        ddb = aws("dynamodb")
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
        return name

    return make


@pytest.fixture
def new_bucket(aws):
    """Creates a fresh payload bucket per call."""

    def make() -> str:
        name = f"inlet-payloads-{uuid.uuid4().hex[:12]}"
        aws("s3").create_bucket(Bucket=name)
        return name

    return make


def bucket_objects(aws, bucket: str) -> dict[str, bytes]:
    """Every object in `bucket`, by key."""
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


# The outbound functions' binaries, and the template's functions `sam build` lays them out as.
OUTBOUND_FUNCTIONS = {"inlet-fanout": "FanoutFunction", "inlet-delivery": "DeliveryFunction"}


def binary(source: str) -> Path:
    """The function binary for `source`: its own (the first four senders) or `inlet-webhook`; or
    an outbound function's (`inlet-fanout`, `inlet-delivery`)."""
    if source in OUTBOUND_FUNCTIONS:
        for path in (BIN_DIR / source, BIN_DIR / OUTBOUND_FUNCTIONS[source] / "bootstrap"):
            if path.exists():
                return path
        pytest.fail(f"{BIN_DIR / source} is missing: build the functions first (infra/scripts/test does)")
    path = BIN_DIR / f"{source}-webhook"
    if not path.exists() and (BIN_DIR / "inlet-webhook").exists():
        return BIN_DIR / "inlet-webhook"
    if not path.exists():
        # `sam build` lays each function out as <source>Function/bootstrap.
        sam = BIN_DIR / f"{source}Function" / "bootstrap"
        if sam.exists():
            return sam
        pytest.fail(f"{path} is missing: build the functions first (infra/scripts/test does)")
    return path


@pytest.fixture
def start_function(moto_url, tmp_path):
    """Starts a function binary with the given environment; stops it after the test."""
    started: list[Function] = []

    def start(source: str, env: dict[str, str], timeout: float = 5.0, response_delay: float = 0.0) -> Function:
        """`timeout` is the function's, as template.yaml sets it: each invocation's deadline.
        `response_delay`: see RuntimeApi."""
        base = {"AWS_ENDPOINT_URL": moto_url, "RUST_LOG": "info", "INLET_SOURCE": source}
        f = Function(binary(source), {**base, **env}, tmp_path / f"{source}-{len(started)}.log", timeout=timeout,
                     response_delay=response_delay)
        started.append(f)
        return f

    yield start
    for f in started:
        f.stop()


def receive_all(sqs, queue_url: str) -> list[dict]:
    out = []
    while True:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return out
        out.extend(got)


def queue_depth(sqs, queue_url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


@pytest.fixture
def fault_proxy(moto_url):
    """A FaultProxy in front of moto (see faultproxy.py); closed after the test."""
    from faultproxy import FaultProxy

    proxy = FaultProxy(moto_url)
    try:
        yield proxy
    finally:
        proxy.close()


# --- Reports: tables the fault and soak tests print after the run (see test_faults.py, test_soak.py)

REPORTS: list[tuple[str, list[str]]] = []


def report(title: str, lines: list[str]) -> None:
    """Adds a section to the summary printed at the end of the test run."""
    REPORTS.append((title, list(lines)))


def pytest_sessionfinish(session):
    # Under pytest-xdist each worker gathers its own reports: hand them to the controller.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["inlet_reports"] = [[title, lines] for title, lines in REPORTS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's hook, in the controller: a worker finished; keep its reports."""
    for title, lines in getattr(node, "workeroutput", {}).get("inlet_reports", []):
        REPORTS.append((title, list(lines)))


def pytest_terminal_summary(terminalreporter):
    for title, lines in REPORTS:
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)

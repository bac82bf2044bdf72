"""The outbound side's DynamoDB and KMS adapters (shared/src/outbound/dynamodb.rs) against moto.

The tests themselves are Rust (shared/tests/outbound_dynamodb.rs, ignored by a plain `cargo
test`); this runs them with the session's moto server, reusing cargo's build (CARGO_TARGET_DIR is
inherited; --workspace resolves features as `cargo test --workspace` did, where `-p inlet` would
compile the SDK and the library again), and checks that every one of them ran: a run that silently
tests nothing fails."""

from __future__ import annotations

import os
import re
import subprocess

from conftest import ROOT

RUST_TESTS = ROOT / "shared" / "tests" / "outbound_dynamodb.rs"
IGNORED = '#[ignore = "needs moto: run by tests/integration/test_outbound_dynamodb.py"]'


def test_outbound_dynamodb_adapters_against_moto(moto_url):
    expected = RUST_TESTS.read_text().count(IGNORED)
    assert expected >= 9, f"{RUST_TESTS} should hold the moto tests"
    run = subprocess.run(
        ["cargo", "test", "--workspace", "--test", "outbound_dynamodb", "--",
         "--include-ignored", "--test-threads", "4"],
        cwd=ROOT,
        env={**os.environ, "INLET_TEST_MOTO_URL": moto_url},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    results = re.findall(r"test result: ok\. (\d+) passed; (\d+) failed; (\d+) ignored", output)
    assert results == [(str(expected), "0", "0")], output[-20000:]

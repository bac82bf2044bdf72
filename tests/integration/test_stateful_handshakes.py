"""Handshakes that hand over the secret (issue 18): Asana's `X-Hook-Secret` and Notion's
`verification_token`, stored as the source's secret only while it holds `inlet:await-handshake`,
create-if-absent, and never replaced by a later handshake.

The compiled function (inlet-webhook) against moto's Secrets Manager, through the Runtime API
emulator; `inlet serve` with its local file; and the template's IAM statement (expanded with SAM's
loader, as check-template expands it). The pure parts are unit-tested in shared/src (secrets.rs,
handshake.rs, senders/asana.rs, senders/notion.rs)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from conftest import ROOT, free_port, receive_all, wait_http
from signers import api_event, response_body

AWAIT = "inlet:await-handshake"
ASANA_SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"
NOTION_TOKEN = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl"
FORGED = "attacker-chosen-secret-0123456789abcdef"
ASANA_BODY = json.dumps({"events": [{
    "user": {"gid": "1123", "resource_type": "user"}, "created_at": "2018-11-30T22:27:17.165Z",
    "action": "changed", "resource": {"gid": "1234", "resource_type": "task"}, "parent": None,
    "change": {"field": "assignee", "action": "changed"}}]}, separators=(",", ":")).encode()
NOTION_BODY = json.dumps({
    "id": "367cba44-b6f3-4c92-81e7-6a2e9659efd4", "timestamp": "2024-12-05T23:55:34.285Z",
    "attempt_number": 1, "type": "page.created",
    "entity": {"id": "153104cd-477e-809d-8dc4-ff2d96ae3090", "type": "page"}}, separators=(",", ":")).encode()


def mac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def make_secret(aws, value: str) -> str:
    return aws("secretsmanager").create_secret(Name=f"inlet/{uuid.uuid4().hex[:8]}", SecretString=value)["ARN"]


def stored(aws, arn: str) -> str:
    return aws("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def versions(aws, arn: str) -> int:
    return len(aws("secretsmanager").list_secret_version_ids(SecretId=arn)["Versions"])


def asana_handshake(fn, secret: str) -> dict:
    return fn.invoke(api_event("v2", "asana", [("X-Hook-Secret", secret)], b""))


def asana_delivery(fn, secret: str) -> dict:
    return fn.invoke(api_event("v2", "asana", [("Content-Type", "application/json"),
                                               ("X-Hook-Signature", mac(secret, ASANA_BODY))], ASANA_BODY))


def notion_verification(fn, token: str) -> dict:
    body = json.dumps({"verification_token": token}).encode()
    return fn.invoke(api_event("v2", "notion", [("Content-Type", "application/json")], body))


def notion_delivery(fn, token: str) -> dict:
    return fn.invoke(api_event("v2", "notion", [("Content-Type", "application/json"),
                                                ("X-Notion-Signature", "sha256=" + mac(token, NOTION_BODY))],
                               NOTION_BODY))


def hook_secret(resp: dict) -> str | None:
    return {k.lower(): v for k, v in (resp.get("headers") or {}).items()}.get("x-hook-secret")


def test_asana_the_first_handshake_is_stored_echoed_and_verifies_at_once(aws, start_function, new_queue, sqs):
    arn = make_secret(aws, AWAIT)
    queue_url = new_queue()
    fn = start_function("asana", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    # Awaiting: a delivery signed with anything is refused.
    assert asana_delivery(fn, ASANA_SECRET)["statusCode"] == 401
    resp = asana_handshake(fn, ASANA_SECRET)
    assert resp["statusCode"] == 200, resp
    assert hook_secret(resp) == ASANA_SECRET
    assert stored(aws, arn) == ASANA_SECRET
    # No restart: the next delivery is verified with the stored secret.
    assert asana_delivery(fn, ASANA_SECRET)["statusCode"] == 202
    [envelope] = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
    assert envelope["type"] == "asana.task.changed" and envelope["subject"] == "1234"
    # A later handshake, which anyone can send: refused as an unsigned request, not echoed,
    # nothing stored.
    versions_before = versions(aws, arn)
    for forged in (FORGED, ASANA_SECRET):
        resp = asana_handshake(fn, forged)
        assert resp["statusCode"] == 401, resp
        assert hook_secret(resp) is None
        assert ASANA_SECRET.encode() not in response_body(resp) and FORGED.encode() not in response_body(resp)
    assert stored(aws, arn) == ASANA_SECRET and versions(aws, arn) == versions_before
    assert receive_all(sqs, queue_url) == []
    logs = fn.logs()
    assert ASANA_SECRET not in logs and FORGED not in logs
    assert "handshake refused" in logs


def test_asana_of_two_instances_racing_one_handshake_is_stored(aws, start_function, new_queue, sqs):
    """Two function instances both started while the secret awaited: Secrets Manager takes one
    value under the ClientRequestToken both derive from the awaiting version, refuses the other."""
    arn = make_secret(aws, AWAIT)
    queue_url = new_queue()
    a = start_function("asana", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    b = start_function("asana", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    a.wait_started()
    b.wait_started()
    secrets = {id(a): ASANA_SECRET, id(b): FORGED}
    results: dict[int, dict] = {}
    barrier = threading.Barrier(2)

    def shake(fn):
        barrier.wait()
        results[id(fn)] = asana_handshake(fn, secrets[id(fn)])

    threads = [threading.Thread(target=shake, args=(fn,)) for fn in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    statuses = sorted(r["statusCode"] for r in results.values())
    assert statuses == [200, 401], results
    [(winner, _)] = [(fid, r) for fid, r in results.items() if r["statusCode"] == 200]
    assert stored(aws, arn) == secrets[winner]
    assert hook_secret(results[winner]) == secrets[winner]
    [loser] = [r for fid, r in results.items() if fid != winner]
    assert hook_secret(loser) is None
    # The other instance picks the stored secret up on its next delivery (an awaiting source
    # re-reads its secret at most once a second).
    time.sleep(1.1)
    for fn in (a, b):
        assert asana_delivery(fn, secrets[winner])["statusCode"] == 202
    assert len(receive_all(sqs, queue_url)) == 2


def test_notion_the_token_is_stored_never_echoed_nor_logged(aws, start_function, new_queue, sqs):
    arn = make_secret(aws, AWAIT)
    queue_url = new_queue()
    fn = start_function("notion", {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    resp = notion_verification(fn, NOTION_TOKEN)
    assert resp["statusCode"] == 200, resp
    assert response_body(resp) == b""
    assert all(NOTION_TOKEN not in v for v in (resp.get("headers") or {}).values())
    # Where the operator reads it to paste it into Notion.
    assert stored(aws, arn) == NOTION_TOKEN
    assert notion_delivery(fn, NOTION_TOKEN)["statusCode"] == 202
    [envelope] = [json.loads(m["Body"]) for m in receive_all(sqs, queue_url)]
    assert envelope["id"] == "367cba44-b6f3-4c92-81e7-6a2e9659efd4" and envelope["type"] == "notion.page.created"
    # A forged later verification request: refused, nothing stored, nothing revealed.
    forged = notion_verification(fn, "secret_" + FORGED)
    assert forged["statusCode"] == 401
    assert NOTION_TOKEN.encode() not in response_body(forged)
    assert stored(aws, arn) == NOTION_TOKEN
    assert notion_delivery(fn, "secret_" + FORGED)["statusCode"] == 401
    assert receive_all(sqs, queue_url) == []
    logs = fn.logs()
    assert NOTION_TOKEN not in logs and FORGED not in logs


@pytest.mark.parametrize("source", ["asana", "notion"])
def test_a_configured_secret_refuses_every_handshake(source, aws, start_function, new_queue, sqs):
    arn = make_secret(aws, "configured-by-the-operator-0123456789")
    queue_url = new_queue()
    fn = start_function(source, {"QUEUE_URL": queue_url, "WEBHOOK_SECRET_ARN": arn})
    unsigned = fn.invoke(api_event("v2", source, [("Content-Type", "application/json")], b"{}"))
    resp = asana_handshake(fn, FORGED) if source == "asana" else notion_verification(fn, "secret_" + FORGED)
    # Exactly what an unsigned request gets: nothing says whether a secret is set.
    assert unsigned["statusCode"] == 401
    assert (resp["statusCode"], response_body(resp)) == (unsigned["statusCode"], response_body(unsigned))
    assert hook_secret(resp) is None
    assert stored(aws, arn) == "configured-by-the-operator-0123456789" and versions(aws, arn) == 1
    assert receive_all(sqs, queue_url) == []


def test_a_handshake_is_refused_from_an_environment_secret(start_function, new_queue):
    """WEBHOOK_SECRET cannot be written: it can neither await a handshake nor take one."""
    fn = start_function("asana", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET": AWAIT})
    assert fn.wait_exit() != 0
    assert "not a secret" in fn.logs()
    fn = start_function("asana", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET": "configured-in-the-env-0123"})
    resp = asana_handshake(fn, FORGED)
    assert resp["statusCode"] == 401 and hook_secret(resp) is None


def test_only_senders_whose_handshake_hands_over_the_secret_may_await_one(aws, start_function, new_queue):
    # (heroku: served by inlet-webhook, as every sender without a binary of its own.)
    fn = start_function("heroku", {"QUEUE_URL": new_queue(), "WEBHOOK_SECRET_ARN": make_secret(aws, AWAIT)})
    assert fn.wait_exit() != 0
    assert "hands over no secret" in fn.logs()


# ------------------------------------------------------------------ inlet serve

CLI = ROOT / "target" / "debug" / "inlet"


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def serve(tmp_path, env: dict[str, str]):
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("INLET_") and k != "QUEUE_URL"}
    log = open(tmp_path / f"serve-{port}.log", "wb")
    p = subprocess.Popen([str(CLI), "serve", "--addr", f"127.0.0.1:{port}", "--spool", str(tmp_path / "spool"),
                          "--no-idempotency", "--no-outbound"],
                         env={**clean, **env}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/healthz")
    return p, log, url


def test_inlet_serve_stores_the_handshake_in_its_file_once(tmp_path):
    env = {"INLET_ASANA_SECRET": AWAIT, "INLET_NOTION_SECRET": AWAIT}
    p, log, url = serve(tmp_path, env)
    try:
        status, headers, _ = post(f"{url}/webhooks/asana", {"X-Hook-Secret": ASANA_SECRET}, b"")
        assert status == 200 and headers.get("x-hook-secret") == ASANA_SECRET
        status, headers, _ = post(f"{url}/webhooks/asana", {"X-Hook-Secret": FORGED}, b"")
        assert status == 401 and "x-hook-secret" not in headers
        status, _, body = post(f"{url}/webhooks/notion", {"Content-Type": "application/json"},
                               json.dumps({"verification_token": NOTION_TOKEN}).encode())
        assert status == 200 and body == b""
        signed = {"Content-Type": "application/json", "X-Hook-Signature": mac(ASANA_SECRET, ASANA_BODY)}
        assert post(f"{url}/webhooks/asana", signed, ASANA_BODY)[0] == 202
    finally:
        p.kill()
        p.wait()
        log.close()
    secrets = tmp_path / "secrets"
    assert (secrets / "asana").read_text() == ASANA_SECRET
    assert (secrets / "notion").read_text() == NOTION_TOKEN
    assert stat.S_IMODE((secrets / "asana").stat().st_mode) & 0o077 == 0
    assert sorted(f.name for f in secrets.iterdir()) == ["asana", "notion"]
    output = (tmp_path / next(f.name for f in tmp_path.iterdir() if f.name.startswith("serve-"))).read_text()
    assert ASANA_SECRET not in output and NOTION_TOKEN not in output
    # Restarted, the server reads the stored secrets: deliveries verify, handshakes are refused.
    p, log, url = serve(tmp_path, env)
    try:
        signed = {"Content-Type": "application/json",
                  "X-Notion-Signature": "sha256=" + mac(NOTION_TOKEN, NOTION_BODY)}
        assert post(f"{url}/webhooks/notion", signed, NOTION_BODY)[0] == 202
        status, headers, _ = post(f"{url}/webhooks/asana", {"X-Hook-Secret": FORGED}, b"")
        assert status == 401 and "x-hook-secret" not in headers
    finally:
        p.kill()
        p.wait()
        log.close()
    assert (secrets / "asana").read_text() == ASANA_SECRET


# ------------------------------------------------------------------ template.yaml

SAM_PYTHON = Path(os.environ.get("INLET_VENV_SAM") or ROOT / ".venv-sam") / "bin" / "python"


def test_each_function_may_write_its_own_secret_only(tmp_path):
    """Least privilege: PutSecretValue on the function's own secret and nothing else; no
    secretsmanager action on any other resource, no wildcard."""
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: run infra/scripts/setup-test-tools first (infra/scripts/test does)")
    sources = ["asana", "notion", "github"]
    out = tmp_path / "expanded.json"
    subprocess.run([str(SAM_PYTHON), str(ROOT / "infra" / "scripts" / "expand-template.py"), ",".join(sources),
                    str(out), str(ROOT / "template.yaml")], cwd=ROOT, check=True, capture_output=True, timeout=300)
    resources = json.loads(out.read_text())["Resources"]
    for s in sources:
        statements = [st for st in resources[f"{s}Function"]["Properties"]["Policies"][0]["Statement"]
                      if isinstance(st, dict) and "Action" in st]
        granted: dict[str, object] = {}
        for st in statements:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert st["Effect"] == "Allow"
            for action in actions:
                assert "*" not in action, st
                if action.startswith("secretsmanager:"):
                    granted[action] = st["Resource"]
        assert granted == {"secretsmanager:GetSecretValue": {"Ref": f"{s}Secret"},
                           "secretsmanager:PutSecretValue": {"Ref": f"{s}Secret"}}, s
        [put] = [st for st in statements if st.get("Sid") == "StoreItsOwnHandshakeSecret"]
        assert put["Action"] == "secretsmanager:PutSecretValue"

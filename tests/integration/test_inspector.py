"""The inspector page `inlet serve` serves at /_inlet/, in a real headless browser (Debian's
Chromium driven by Playwright): a delivery sent with `inlet send` appears live, its signature
redacted, resend goes through the pipeline again, a forged delivery shows its problem, and the
outbound attempts are listed. A screenshot is kept in target/artifacts/inspector.png.

Playwright never downloads a browser here (`playwright install` is not run): it drives
/usr/bin/chromium, which infra/scripts/setup-test-tools installs."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect, sync_playwright

from conftest import ROOT
from receivers import Receiver
from test_outbound_local import CLI, LOOPBACK, Outbound, delivered

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT = ROOT / "target" / "artifacts" / "inspector.png"
STRIPE_SECRET = "whsec_inlet_dev_stripe_secret"

expect.set_options(timeout=15_000)


@pytest.fixture
def browser(tmp_path):
    """A fresh Chromium profile each test."""
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1000})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def serve(tmp_path):
    started: list[Outbound] = []

    def start(*args: str) -> Outbound:
        home = tmp_path / f"serve{len(started)}"
        home.mkdir()
        o = Outbound(home, LOOPBACK, 1, args)
        started.append(o)
        return o

    yield start
    for o in started:
        o.stop()


def send(o: Outbound, source: str, *args: str) -> subprocess.CompletedProcess:
    """`inlet send`, as a user runs it against the server."""
    env = {k: v for k, v in o.env.items() if not k.startswith("INLET_")}
    return subprocess.run([str(CLI), "send", source, "--url", f"{o.url}/webhooks/{source}", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def accepted(out: subprocess.CompletedProcess) -> dict:
    status, body = out.stdout.split("\n", 1)
    assert status.startswith("202"), out
    return json.loads(body)


def call(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, headers=headers or {},
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_a_sent_delivery_appears_live_redacted_and_resends_as_a_duplicate(serve, browser):
    o = serve()
    page = browser.new_page()
    page.goto(f"{o.url}/_inlet/")
    expect(page.locator("#live")).to_have_class("on")
    expect(page.locator("#no-deliveries")).to_be_visible()

    # Sent after the page loaded: it arrives over the event stream, with no reload.
    first = accepted(send(o, "stripe"))
    row = page.locator('tr.delivery[data-source="stripe"][data-outcome="enqueued"]')
    expect(row).to_have_count(1)
    expect(row.locator("td.id")).to_have_text(first["id"])
    expect(row.locator("td.type")).to_have_text("stripe.payment_intent.succeeded")
    expect(row.locator("td.status")).to_have_text("202")

    # Its headers, the signature redacted; its envelope, as queued.
    row.click()
    expect(page.locator('dd[data-header="stripe-signature"]')).to_have_text("[redacted]")
    expect(page.locator('dd[data-header="content-type"]')).to_have_text("application/json")
    envelope = json.loads(page.locator("#detail pre").first.text_content())
    assert envelope["id"] == first["id"] and envelope["type"] == first["type"]
    assert envelope["source"] == "stripe" and envelope["data"]["id"] == first["id"]
    html = page.content()
    assert "v1=" not in html and STRIPE_SECRET not in html

    # Resend: the same bytes and headers through the pipeline again, a new row: a duplicate.
    row.locator("button.resend").click()
    again = page.locator('tr.delivery[data-outcome="duplicate"]')
    expect(again).to_have_count(1)
    expect(again).to_contain_text("resend of #1")
    expect(again.locator("td.id")).to_have_text(first["id"])
    expect(page.locator("#detail")).to_contain_text("Nothing queued: an earlier delivery with this key was.")
    assert len([p for p in o.spool.iterdir() if p.suffix == ".json"]) == 1, "the resend queued nothing"

    # A forged delivery: refused, with its problem.
    forged = send(o, "stripe", "--secret", "whsec_wrong")
    assert forged.stdout.startswith("401"), forged
    refused = page.locator('tr.delivery[data-outcome="rejected"]')
    expect(refused).to_have_count(1)
    expect(refused.locator("td.outcome")).to_contain_text("invalid-signature")
    expect(refused.locator("td.status")).to_have_text("401")

    # The outbound attempts: an event published to a subscribed endpoint.
    with Receiver() as receiver:
        endpoint = o.add(receiver.url)
        o.publish("invoice.paid", {"amount": 1250}, "--id", "evt_inspected")
        o.wait(endpoint["id"], "evt_inspected", delivered)
        attempts = page.locator("#attempts")
        expect(attempts).to_contain_text("evt_inspected")
        expect(attempts).to_contain_text(endpoint["id"])
        expect(page.locator("#tasks")).to_contain_text("delivered")

    # Newest first, and nothing lost.
    numbers = [int(n) for n in page.locator("tr.delivery").evaluate_all("rows => rows.map(r => r.dataset.n)")]
    assert numbers == [3, 2, 1]
    again.click()
    page.evaluate("document.getElementById('deliveries-section').scrollLeft = 0")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


def test_a_reopened_page_shows_what_came_before(serve, browser):
    o = serve()
    ids = [accepted(send(o, source))["id"] for source in ("github", "slack")]
    page = browser.new_page()
    page.goto(f"{o.url}/_inlet/")
    rows = page.locator("tr.delivery")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td.id")).to_have_text(ids[1])
    expect(rows.nth(1).locator("td.id")).to_have_text(ids[0])


def test_resend_without_idempotency_is_queued_again(serve):
    o = serve("--no-idempotency")
    first = accepted(send(o, "stripe"))
    status, body = call(f"{o.url}/_inlet/api/deliveries/1/resend", "POST", {"X-Inlet-Inspector": "1"})
    assert status == 200, body
    resent = json.loads(body)
    assert (resent["n"], resent["resendOf"], resent["outcome"], resent["status"]) == (2, 1, "enqueued", 202)
    assert resent["id"] == first["id"] and resent["envelopes"][0]["id"] == first["id"]
    assert len([p for p in o.spool.iterdir() if p.suffix == ".json"]) == 2


def test_the_inspector_answers_this_machine_only_unless_asked(serve):
    o = serve()
    accepted(send(o, "github"))
    assert call(f"{o.url}/_inlet/api/deliveries")[0] == 200
    assert call(f"{o.url}/_inlet/api/deliveries", headers={"Host": f"localhost:{o.url.rsplit(':', 1)[1]}"})[0] == 200
    # A name other than an address or localhost may be a DNS-rebinding page's.
    status, body = call(f"{o.url}/_inlet/", headers={"Host": "rebind.example"})
    assert status == 403 and b"--inspector-remote" in body
    # Resend asks for a header a cross-site form cannot send.
    assert call(f"{o.url}/_inlet/api/deliveries/1/resend", "POST")[0] == 403
    assert call(f"{o.url}/_inlet/api/deliveries/9/resend", "POST", {"X-Inlet-Inspector": "1"})[0] == 404
    assert call(f"{o.url}/_inlet/api/deliveries/1/resend")[0] == 405
    # The page allows scripts from itself only.
    with urllib.request.urlopen(f"{o.url}/_inlet/") as r:
        assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        assert b"Inlet inspector" in r.read()

    remote = serve("--inspector-remote")
    assert call(f"{remote.url}/_inlet/", headers={"Host": "rebind.example"})[0] == 200


def test_no_inspector_turns_it_off_and_leaves_the_webhooks(serve):
    o = serve("--no-inspector")
    assert call(f"{o.url}/_inlet/")[0] == 404
    assert call(f"{o.url}/_inlet/api/deliveries")[0] == 404
    accepted(send(o, "stripe"))

"""The `kg serve` workbench in a real browser: Debian's Chromium driven by Playwright against a real
`kg serve` process. Every request the pages make is recorded: a request that fails, goes anywhere but
the test server, or a script error fails the test. Skipped, with the reason, when Chromium or
Playwright is missing. The workbench screenshot is saved to test-artifacts/serve-workbench.png; copy it
to docs/serve-workbench.png when the workbench changes (the suite never writes into the docs).
"""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path

import pytest

from kg.server.process import running_server

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
XSS = Path(__file__).parent / "fixtures" / "viz" / "xss.ttl"


@pytest.fixture(scope="module")
def server():
    with running_server() as base:
        yield base


@pytest.fixture(scope="module")
def hostile_server():
    with running_server("--data", str(XSS)) as base:
        yield base


class Watched:
    """A browser tab with everything that can go wrong recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        self.page = self.context.new_page()
        self.errors, self.failed, self.requests, self.dialogs = [], [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append((r.url, r.failure)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: str):
        answer = self.page.goto(self.base + path)
        assert answer.status == 200, (path, answer.status)
        return answer

    def check_clean(self):
        assert self.errors == [], self.errors
        assert self.failed == [], self.failed
        assert self.dialogs == [], self.dialogs
        outside = [u for u in self.requests if not (u.startswith(self.base + "/") or u.startswith("data:"))]
        assert outside == [], outside

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server):
    watched = Watched(browser, server)
    yield watched
    watched.close()


def _wait_until_stable(page, seconds: float = 30.0) -> None:
    """Wait for the deal web's layout to settle. Polled from Python: Playwright's own in-page polling
    (wait_for_function) was seen to time out under the page's Content-Security-Policy on a loaded machine."""
    deadline = time.monotonic() + seconds
    while not page.evaluate("Boolean(window.kgViz && window.kgViz.stable === true)"):
        assert time.monotonic() < deadline, f"the deal web did not settle within {seconds:.0f} s"
        time.sleep(0.2)


def test_workbench_runs_a_typed_query_and_shows_its_rows(tab):
    tab.open("/")
    editor = tab.page.locator(".yasqe .CodeMirror")
    editor.wait_for(state="visible", timeout=20_000)
    editor.click()
    tab.page.keyboard.press("Control+A")
    tab.page.keyboard.press("Delete")
    query = 'SELECT ?name WHERE { ?p a kg:Person ; rdfs:label ?name FILTER(lang(?name) = "zh") } ORDER BY ?name'
    tab.page.keyboard.type(query)
    typed = tab.page.evaluate("window.kgYasgui.getTab().getYasqe().getValue()")
    assert "kg:Person" in typed and "ORDER BY ?name" in typed
    tab.page.locator(".yasqe_queryButton").click()
    rows = tab.page.locator(".yasr table tbody tr")
    rows.first.wait_for(state="visible", timeout=20_000)
    cells = tab.page.locator(".yasr table tbody td").all_inner_texts()
    # Line 41: 英伟达CEO黄仁勋 — Jensen Huang's Chinese name is in the data.
    assert any("黄仁勋" in c for c in cells), cells
    assert rows.count() >= 3
    tab.page.wait_for_timeout(300)
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    tab.page.screenshot(path=str(ROOT / "test-artifacts" / "serve-workbench.png"))
    tab.check_clean()


def test_stored_query_form_with_a_chinese_name(tab):
    tab.open("/queries/money-into")
    tab.page.fill("form.params input[name=company]", "英伟达")
    with tab.page.expect_navigation():
        tab.page.click("form.params button[type=submit]")
    url = urllib.parse.unquote(tab.page.url)
    assert url.endswith("/queries/money-into?company=英伟达")
    table = tab.page.locator("table.results").inner_text()
    # Line 41 (and 35): OpenAI buys up to $350B of Nvidia GPUs.
    assert "OpenAI" in table and "350" in table
    assert tab.page.locator("#row-count").inner_text() == "1 row"
    assert tab.page.get_by_role("link", name="CSV").get_attribute("href").startswith("/queries/money-into.csv?company=")
    tab.check_clean()


def test_entity_page_and_the_deal_web(tab):
    tab.open("/entity/" + urllib.parse.quote("英伟达"))
    assert tab.page.locator("h1").inner_text() == "Nvidia / 英伟达"
    text = tab.page.locator("main").inner_text()
    assert "line 41" in text and "英伟达未来向OpenAI投资最高1000亿美元" in text
    tab.page.get_by_role("link", name="OpenAI").first.click()
    tab.page.wait_for_url("**/entity/OpenAI")
    tab.open("/web")
    _wait_until_stable(tab.page)
    nodes, edges = tab.page.evaluate("[kgViz.network.body.nodeIndices.length, kgViz.network.body.edgeIndices.length]")
    assert nodes > 10 and edges > 10
    tab.check_clean()


def test_hostile_labels_never_execute(browser, hostile_server):
    watched = Watched(browser, hostile_server)
    try:
        for path in ("/", "/entity/EvilCorp", "/entity/OpenAI", "/queries/money-into?company=OpenAI",
                     "/trace?from=EvilCorp", "/entity", "/cycles"):
            watched.open(path)
            assert watched.page.evaluate("document.getElementById('injected') === null"), path
            if path != "/":  # the workbench's own icons are SVG; the data pages have no images at all
                assert watched.page.locator("main img, main svg, main iframe").count() == 0, path
        watched.open("/entity/EvilCorp")  # shown as text
        assert watched.page.locator("h1").inner_text().startswith("<img src=x onerror=alert(1)>")
        watched.open("/web")
        _wait_until_stable(watched.page)
        assert watched.page.evaluate("document.getElementById('injected') === null")
        watched.check_clean()
    finally:
        watched.close()

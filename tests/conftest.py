"""Fixtures shared by the test files: the headless browser of the browser tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

#: Debian's Chromium (Playwright cannot download its own here); KG_CHROMIUM names another.
CHROMIUM = os.environ.get("KG_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright; the test is skipped, with the reason, when either is missing."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()

"""The API's documentation as an integrator opens it: Debian's Chromium, headless, with every
request to another host refused (a machine without internet), against uvicorn on localhost.
Swagger UI lists the operations and offers "Authorize"; ReDoc renders the reference. Screenshots
in `TESSERA_SCREENSHOTS` (or the test's folder)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tessera.trust import Services, create_app
from tessera.trust.http import serve_in_thread

pytestmark = pytest.mark.slow


def test_the_docs_render_with_the_network_closed(chromium, services: Services, shots) -> None:
    asked_out: list[str] = []

    def only_here(route) -> None:
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            asked_out.append(route.request.url)
            route.abort()

    with serve_in_thread(create_app(services)) as address:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", only_here)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"http://{address}/docs")
        page.wait_for_selector(".opblock-summary", timeout=20_000)
        assert page.locator(".opblock-summary").count() >= 80
        assert page.get_by_text("Decide and answer a data access").count() >= 1
        page.click("button.authorize")
        page.wait_for_selector(".auth-container")
        assert page.locator(".auth-container").get_by_text("apiKey").count() >= 1
        page.screenshot(path=shots / "docs-swagger-authorize.png")
        page.keyboard.press("Escape")
        page.goto(f"http://{address}/redoc")
        page.wait_for_selector("h1", timeout=20_000)
        page.wait_for_selector("h2:has-text('Decide and answer a data access')", timeout=20_000)
        page.screenshot(path=shots / "docs-redoc.png")
        context.close()
    assert asked_out == []
    # Nothing the pages need was refused; ReDoc's "powered by" logo, which it links from its
    # vendor's host, is the one thing the policy keeps out (it never leaves the machine).
    refused = [e for e in errors if "Content Security Policy" in e]
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in e for e in refused), refused

"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc`, from assets installed with
Tessera: the `fastapi-offline` package ships both bundles, so a server without internet (or
behind a proxy that allows nothing out) still shows its API, and no page asks another host."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "install_docs"]


def _assets() -> Path:
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


ASSETS = "/docs/assets"
# Everything from this server; the bundles configure themselves inline, and ReDoc searches in
# a worker it builds from a blob.
_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


def _page(html: HTMLResponse) -> HTMLResponse:
    html.headers["Content-Security-Policy"] = _POLICY
    html.headers["X-Content-Type-Options"] = "nosniff"
    return html


def install_docs(app: FastAPI) -> None:
    """Serve the two pages and their assets (FastAPI's own pages are turned off)."""
    app.mount(ASSETS, StaticFiles(directory=_assets()), name="docs-assets")
    title = f"{app.title} {app.version}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _page(
            get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=f"{title}: API",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                # The key typed into "Authorize" stays in the page: never kept in the browser.
                swagger_ui_parameters={"persistAuthorization": False, "tryItOutEnabled": False},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _page(
            get_redoc_html(
                openapi_url="/openapi.json",
                title=f"{title}: API reference",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )

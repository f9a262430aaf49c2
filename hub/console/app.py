"""The console application: its routers, the security headers, and the error pages.

GET  /masuk, POST /masuk      sign in (the only pages without a session, with /static)
POST /keluar                  sign out
POST /bahasa                  switch language (id, en)
/...                          the pages of each area (hub/console/pages/)
/api/v1/...                   the JSON API of the same operations (contracts/console-openapi.json)
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from hub.bootstrap import BackOffice
from hub.console import web
from hub.console.pages import AREAS
from hub.observability.web import RequestMetrics

API_VERSION = "1.0.0"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send `Origin: null` on form posts
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_console_app(desk: BackOffice | None) -> FastAPI:
    """`desk` None builds the app without services (for generating the OpenAPI document)."""
    app = FastAPI(
        title="Hub back-office API",
        version=API_VERSION,
        description=(
            "The back-office console's JSON API: the same operations as its pages, under the same "
            "sign-in. Sign in with POST /api/v1/session (the session cookie comes back, with the "
            "CSRF token); every change needs that token in the X-CSRF-Token header. Personal data is "
            "never in a URL: searches and reveals are POSTs."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        exception_handlers=web.ERROR_HANDLERS,
    )
    app.state.desk = desk
    app.add_middleware(RequestMetrics, server="console")  # per route template, in `hub run`'s /metrics
    app.mount("/static", StaticFiles(directory=str(resources.files("hub.console") / "static")), name="static")
    for area in AREAS:
        app.include_router(area.pages)
        app.include_router(area.api, prefix="/api/v1")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app

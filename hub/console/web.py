"""What every console page shares: the signed-in user, permission and CSRF checks, rendering in
the user's language, and the error pages.

A page declares what it needs with a dependency:

    @router.get("/antrean")
    async def queue(request: Request, user: SignedIn = Depends(viewer("review.view"))): ...

    @router.post("/antrean/putuskan")
    async def decide(request: Request, user: SignedIn = Depends(actor("review.decide")), note: str = Form(...)): ...

`viewer` needs a live session with the permission; `actor` also needs the session's CSRF token
(form field `csrf_token`, or header `X-CSRF-Token` for the JSON API) and, when the browser sends
one, an Origin of this console. Without a session a page redirects to the sign-in page (and back
afterwards); the JSON API (paths under /api/) answers 401. A missing permission is a 403 page (or
JSON). Pages call the BackOffice's use cases (`desk(request)`), never SQL.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hub.bootstrap import BackOffice
from hub.console import i18n
from hub.errors import OperatorError, StoreRefusedData, TransientError
from hub.service.accounts import PERMISSIONS, SignedIn

COOKIE = "hub_console"
LANGUAGE_COOKIE = "hub_lang"
API_PREFIX = "/api/"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("hub.console", "templates"),
    autoescape=jinja2.select_autoescape(default=True),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInNeeded(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfRefused(Exception):
    pass


def desk(request: Request) -> BackOffice:
    return request.app.state.desk


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, i18n.DEFAULT)
    return chosen if chosen in i18n.LANGUAGES else i18n.DEFAULT


async def current_user(request: Request) -> SignedIn | None:
    """The request's live session (looked up once per request)."""
    if not hasattr(request.state, "user"):
        polling = request.headers.get("x-poll") == "1"  # console.js asking for progress: not the user at work
        request.state.user = await desk(request).accounts.session(request.cookies.get(COOKIE, ""), touch=not polling)
    return request.state.user


def viewer(permission: str) -> Callable[[Request], Awaitable[SignedIn]]:
    if not any(permission in granted for granted in PERMISSIONS.values()):
        raise ValueError(f"no role has the permission {permission!r}")

    async def need(request: Request) -> SignedIn:
        user = await current_user(request)
        if user is None:
            raise SignInNeeded()
        if not user.may(permission):
            raise Forbidden(permission)
        return user

    return need


def actor(permission: str) -> Callable[[Request], Awaitable[SignedIn]]:
    """A change: the permission, this console as the origin, and the session's CSRF token."""
    need = viewer(permission)

    async def acting(request: Request) -> SignedIn:
        user = await need(request)
        check_csrf(request, user.csrf_token, await _sent_token(request))
        return user

    return acting


def check_csrf(request: Request, expected: str, sent: str | None) -> None:
    origin = request.headers.get("origin")
    if origin is not None and not _same_origin(request, origin):
        raise CsrfRefused()
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


def _same_origin(request: Request, origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


async def _sent_token(request: Request) -> str | None:
    header = request.headers.get("x-csrf-token")
    if header is not None:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request: the route's Form(...) parameters read it again
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the user's language; templates get `t`, `user`, `may`, `csrf_token`, `lang`, `path`."""
    lang = language(request)
    user: SignedIn | None = getattr(request.state, "user", None)

    def t(key: str, **values: object) -> str:
        return i18n.text(key, lang, **values)

    done = request.query_params.get("selesai")
    page = _templates.get_template(template).render(
        request=request,
        t=t,
        done_text=t(f"done.{done}") if done and f"done.{done}" in i18n.known() else None,
        lang=lang,
        user=user,
        may=(lambda permission: user is not None and user.may(permission)),
        csrf_token=user.csrf_token if user is not None else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def when(value: datetime | str | None, seconds: bool = False) -> str:
    """A time as the pages show it, in UTC, to the minute (or the second); '' for none."""
    if value is None or value == "":
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this console, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def back_to(path: str, done: str | None = None) -> RedirectResponse:
    """After a change: 303 to a page, with a message key to show (never data) in `done`."""
    return RedirectResponse(path + (f"?selesai={quote(done)}" if done else ""), status_code=303)


def failed(request: Request, exc: Exception) -> str:
    """The text to show for a failed action (OperatorError texts name fields, never personal data)."""
    return str(exc) if isinstance(exc, OperatorError) else type(exc).__name__


async def signin_needed(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": "sign-in needed", "code": "SIGNIN-NEEDED"}, status_code=401)
    target = request.url.path if request.method in SAFE_METHODS else "/"
    ended = "&expired=true" if request.cookies.get(COOKIE) else ""  # it had a session, which has ended
    return RedirectResponse(f"/masuk?next={quote(target)}{ended}", status_code=303)


async def forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    if is_api(request):
        return JSONResponse({"error": f"your role may not do this ({exc.permission})", "code": "FORBIDDEN"}, 403)
    user = getattr(request.state, "user", None)
    role = i18n.text(f"role.{user.role}", language(request)) if user else "-"
    return render(request, "error.html", 403, kind="forbidden", role=role)


async def csrf_refused(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": "missing or wrong X-CSRF-Token", "code": "CSRF"}, status_code=403)
    return render(request, "error.html", 403, kind="csrf", role="")


async def refused(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": str(exc), "code": "REFUSED"}, status_code=400)
    return render(request, "error.html", 400, kind="refused", role="", detail=str(exc))


async def unavailable(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": "a dependency is unavailable; nothing was changed", "code": "UNAVAILABLE"}, 503)
    return render(request, "error.html", 503, kind="unavailable", role="")


async def not_stored(request: Request, exc: Exception) -> Response:
    """A value the database refuses (e.g. a NUL character in a note): nothing was written."""
    if is_api(request):
        return JSONResponse({"error": "a value could not be stored; nothing was changed", "code": "REFUSED-DATA"}, 400)
    return render(
        request, "error.html", 400, kind="refused", role="", detail=i18n.text("error.data", language(request))
    )


async def invalid_request(request: Request, exc: Exception) -> Response:
    """A form or body that does not fit: named by field and rule only, never echoing the input
    (FastAPI's default answer quotes it, and it may be a NIK or a name)."""
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(part) for part in error.get("loc", ()) if part != "body"),
            "problem": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    if is_api(request):
        return JSONResponse({"error": "invalid request", "code": "INVALID", "problems": problems}, status_code=422)
    detail = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return render(request, "error.html", 400, kind="refused", role="", detail=detail)


async def not_found(request: Request, exc: Exception) -> Response:
    if is_api(request):
        return JSONResponse({"error": "not found", "code": "NOT-FOUND"}, status_code=404)
    return render(request, "error.html", 404, kind="notfound", role="")


ERROR_HANDLERS: dict[int | type[Exception], Callable[[Request, Any], Coroutine[Any, Any, Response]]] = {
    SignInNeeded: signin_needed,
    Forbidden: forbidden,
    CsrfRefused: csrf_refused,
    OperatorError: refused,
    TransientError: unavailable,
    StoreRefusedData: not_stored,
    RequestValidationError: invalid_request,
    404: not_found,
}

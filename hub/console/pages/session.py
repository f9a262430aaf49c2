"""Signing in and out, and the language: the only pages that need no session."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from hub.console import i18n
from hub.console.web import (
    COOKIE,
    LANGUAGE_COOKIE,
    SignInNeeded,
    actor,
    check_csrf,
    current_user,
    desk,
    render,
    safe_next,
)
from hub.errors import OperatorError
from hub.service.accounts import SignedIn

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["session"])


@pages.get("/masuk")
async def signin_page(request: Request, next: str = "/", expired: bool = False):
    if await current_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "signin.html", next=safe_next(next), refused=False, expired=expired)


@pages.post("/masuk")
async def signin(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
):
    origin = request.headers.get("origin")
    if origin is not None:  # a sign-in form posted from another site (login CSRF)
        check_csrf(request, "-", "-")
    try:
        token, session = await desk(request).accounts.sign_in(username.strip(), password)
    except OperatorError:
        return render(request, "signin.html", 401, next=safe_next(next), refused=True, expired=False)
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_cookie(request, response, token, session.expires_at)
    return response


@pages.post("/keluar")
async def signout(request: Request, user: Annotated[SignedIn, Depends(actor("dashboard.view"))]):
    await desk(request).accounts.sign_out(user)
    response = RedirectResponse("/masuk", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@pages.post("/bahasa")
async def switch_language(
    request: Request, lang: Annotated[str, Form()] = i18n.DEFAULT, back: Annotated[str, Form()] = "/"
):
    response = RedirectResponse(safe_next(back), status_code=303)
    chosen = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="strict", path="/")
    return response


def _set_cookie(request: Request, response: Response, token: str, expires_at: datetime) -> None:
    secure = request.app.state.desk.settings.console_secure_cookie
    response.set_cookie(COOKIE, token, expires=expires_at, httponly=True, secure=secure, samesite="strict", path="/")


class Credentials(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class SessionInfo(BaseModel):
    username: str
    display_name: str
    role: str
    csrf_token: str = Field(description="Send it as X-CSRF-Token with every change.")
    expires_at: datetime
    permissions: list[str]


def _info(user: SignedIn) -> SessionInfo:
    from hub.service.accounts import PERMISSIONS

    return SessionInfo(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        csrf_token=user.csrf_token,
        expires_at=user.expires_at,
        permissions=sorted(PERMISSIONS[user.role]),
    )


@api.post("/session", response_model=SessionInfo, responses={401: {"description": "Wrong credentials"}})
async def api_signin(request: Request, credentials: Credentials):
    """Sign in: sets the `hub_console` session cookie and returns the CSRF token."""
    try:
        token, session = await desk(request).accounts.sign_in(credentials.username.strip(), credentials.password)
    except OperatorError as exc:
        return JSONResponse({"error": str(exc), "code": "SIGNIN-REFUSED"}, status_code=401)
    response = JSONResponse(_info(session).model_dump(mode="json"))
    _set_cookie(request, response, token, session.expires_at)
    return response


@api.get("/session", response_model=SessionInfo)
async def api_whoami(request: Request):
    user = await current_user(request)
    if user is None:
        raise SignInNeeded()
    return _info(user)


@api.delete("/session", status_code=204)
async def api_signout(request: Request, user: Annotated[SignedIn, Depends(actor("dashboard.view"))]):
    await desk(request).accounts.sign_out(user)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response

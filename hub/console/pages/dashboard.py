"""The console's dashboard area (being built)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from hub.console.web import render, viewer
from hub.service.accounts import SignedIn

pages = APIRouter(include_in_schema=False)
api = APIRouter(tags=["dashboard"])


@pages.get("/")
async def home(request: Request, user: Annotated[SignedIn, Depends(viewer("dashboard.view"))]):
    return render(request, "dashboard/index.html")

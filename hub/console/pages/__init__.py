"""The console's areas. Each module has `pages` (HTML, left out of the OpenAPI document) and
`api` (JSON under /api/v1), and registers its texts with hub.console.i18n."""

from __future__ import annotations

from hub.console.pages import admin, dashboard, deadletters, documents, review, search, session

AREAS = (session, dashboard, review, search, documents, deadletters, admin)

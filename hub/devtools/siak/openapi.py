"""The SIAK contract as an OpenAPI document, generated from the reference server's app.

`hub contracts` writes it to contracts/siak-openapi.json. The app is built with a dummy DSN:
building it never connects (the pool opens when the server starts).
"""

from __future__ import annotations

from typing import Any

from hub.devtools.siak.server import create_app
from hub.devtools.siak.server_faults import Faults

_NO_DATABASE = "postgresql://contract@127.0.0.1:9/unused"


def openapi_document() -> dict[str, Any]:
    return create_app(_NO_DATABASE, Faults()).openapi()

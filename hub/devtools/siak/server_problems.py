"""Error answers of the SIAK reference server: RFC 9457 problem documents with a stable `code`.

`Refusal` is raised anywhere in the server and turned into an `application/problem+json`
response by the app's exception handler. Retryability follows the status: 5xx, 429 and 503 are
retryable, everything else is not (the same request will be refused again).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from starlette.responses import Response

from hub.adapters.siak.models import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE


class Refusal(Exception):
    """A request the server answers with a problem document instead of a result."""

    def __init__(self, status: int, code: str, detail: str | None = None, *, retryable: bool | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status, self.code, self.detail = status, code, detail
        self.retryable = is_retryable(status) if retryable is None else retryable

    def problem(self) -> Problem:
        return Problem(
            title=HTTPStatus(self.status).phrase,
            status=self.status,
            code=self.code,
            detail=self.detail,
            retryable=self.retryable,
        )

    def response(self, headers: Mapping[str, str] | None = None) -> ProblemResponse:
        return ProblemResponse(self.problem().model_dump_json(), status_code=self.status, headers=headers)


def is_retryable(status: int) -> bool:
    return status >= 500 or status == 429


def not_found(code: str, detail: str) -> Refusal:
    return Refusal(404, code, detail)

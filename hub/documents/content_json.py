"""Document contents as JSON: how a job carries them and how the store keeps them for reprints
and corrections. `{"type": "akta" | "kk", ...fields}`; dates ISO 8601, enums by value."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from hub.domain.documents import AktaContent, Content, KkContent, KkMember, Official
from hub.domain.values import AktaVariant, Sex


def to_json(content: Content) -> dict[str, Any]:
    kind = "akta" if isinstance(content, AktaContent) else "kk"
    return {"type": kind, **_plain(asdict(content))}


def from_json(data: dict[str, Any]) -> Content:
    fields = {k: v for k, v in data.items() if k != "type"}
    fields["official"] = Official(**fields["official"])
    fields["issued_on"] = date.fromisoformat(fields["issued_on"])
    if data["type"] == "akta":
        fields.update(
            variant=AktaVariant(fields["variant"]),
            sex=Sex(fields["sex"]),
            born_at=datetime.fromisoformat(fields["born_at"]),
        )
        return AktaContent(**fields)
    fields["members"] = tuple(
        KkMember(**{**m, "sex": Sex(m["sex"]), "birth_date": date.fromisoformat(m["birth_date"])})
        for m in fields["members"]
    )
    return KkContent(**fields)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Sex, AktaVariant)):
        return value.value
    return value

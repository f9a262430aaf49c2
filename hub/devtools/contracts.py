"""Generate contracts/ from the code: AsyncAPI, JSON Schemas, error codes, example bundles and the
OpenAPI documents (the reference SIAK and signer servers, the back-office console's JSON API).

`hub contracts` writes the files; `hub contracts --check` and tests/unit/test_contracts.py fail
when a checked-in file differs from what the code generates. contracts/profile.md is prose,
written by hand, and not generated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hub.config import Settings
from hub.console.app import create_console_app
from hub.devtools.siak.openapi import openapi_document
from hub.devtools.signer.openapi import openapi_document as signer_openapi_document
from hub.devtools.simulation import examples
from hub.domain.codes import CATALOGUE, Severity
from hub.intake.profile import read_notice
from hub.intake.structure import structural_issues
from hub.service.events import EVENT_MODELS


def generate() -> dict[str, str]:
    files = {"asyncapi.yaml": _asyncapi(), "error-codes.md": _error_codes()}
    for topic, model in EVENT_MODELS.items():
        files[f"schemas/{topic}.schema.json"] = _json(model.model_json_schema())
    every = {**examples.valid_examples(), **examples.invalid_examples()}
    for name, document in every.items():
        files[f"examples/{name}.json"] = _json(document)
    files["examples/README.md"] = _examples_readme(every)
    files["siak-openapi.json"] = _json(openapi_document())
    files["signer-openapi.json"] = _json(signer_openapi_document())
    files["console-openapi.json"] = _json(create_console_app(None).openapi())
    return files


def write(files: dict[str, str], directory: Path) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _asyncapi() -> str:
    from hub.entrypoints.consumer import build_app, build_broker, placeholder_security

    settings = Settings(kafka_bootstrap="127.0.0.1:19092", topic_prefix="")
    app = build_app(build_broker(settings, None, lambda _: None, security=placeholder_security(settings)))
    document = app.schema.to_specification().to_jsonable()
    # FastStream lists publishers in set order, which changes between processes: sort for a stable file.
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100)


def _error_codes() -> str:
    lines = [
        "# Hub error codes",
        "",
        "Generated from `hub/domain/codes.py` by `hub contracts`; do not edit by hand.",
        "Codes are stable. `DLQ-*` codes are dead-letter reasons (header `dlq-reason`); the others appear in",
        "result OperationOutcomes as `issue.details.coding.code` (system `https://akta-hub.example/fhir/CodeSystem/hub-issue`).",
        "Severity `error` rejects the notification; `warning` and `information` accompany an accepted one.",
        "",
        "| code | severity | FHIR issue type | Bahasa Indonesia | English |",
        "|---|---|---|---|---|",
    ]
    for code in CATALOGUE.values():
        lines.append(f"| `{code.code}` | {code.severity.value} | {code.fhir_type} | {code.id} | {code.en} |")
    return "\n".join(lines) + "\n"


def _examples_readme(every: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# Example birth notifications",
        "",
        "Generated from `hub/devtools/simulation/examples.py`; synthetic people only. Checked as if received at",
        f"{examples.AS_OF.isoformat()} with strict NIK checks; the registry checks (mother, KK, hospital) come",
        "after these and depend on the registry's contents.",
        "",
        "| file | profile outcome | codes |",
        "|---|---|---|",
    ]
    for name, document in every.items():
        found = structural_issues(document)
        if not found:
            found = read_notice(document, now=examples.AS_OF, strict_nik=True, region_known=lambda _: True).issues
        errors = [i for i in found if i.effective_severity in (Severity.ERROR, Severity.FATAL)]
        outcome = "rejected" if errors else "valid"
        codes = ", ".join(f"`{i.code.code}` at `{i.expression}`" for i in found) or "none"
        lines.append(f"| `{name}.json` | {outcome} | {codes} |")
    return "\n".join(lines) + "\n"

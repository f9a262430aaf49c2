"""No Python or JSON artefact in what a hospital reads (contracts/profile.md section 4).

Every contract example, and mutations of the valid ones (each element removed in turn, set to null,
emptied, given a wrong JSON type), go through the intake as the pipeline runs it (FHIR structure,
then the profile rules when the structure holds); the decision's rejections and review reasons
too. Each answer is rendered with hub/intake/results.py, and what the hospital reads there,
`diagnostics` and `details.text`, must not show `None`, `null`, braces, brackets, `<`, or a quoted
repr such as `'x'`. (An apostrophe after a letter is English: "the mother's NIK".)
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.devtools.simulation import examples
from hub.domain import codes
from hub.domain.codes import CATALOGUE, Issue
from hub.domain.decision import Reject, Review, decide
from hub.domain.outcomes import ResultStatus
from hub.domain.values import Hospital, Sex
from hub.intake import structure
from hub.intake.profile import read_notice
from hub.intake.results import ResultContent, build_result
from hub.intake.structure import structural_issues
from tests.unit.builders import BORN_AT, NOW, facts, nik, notice, registered

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
ARTEFACT = re.compile(r"None|\bnull\b|\bTrue\b|\bFalse\b|[{}\[\]<]|\"|(?<![A-Za-z])'")
MARKS = re.compile(r"None|\bnull\b|[{}\[\]<]")  # the catalogue may quote a word: "(mis. 'Bayi Ny.')"


def artefacts(issues: list[Issue]) -> list[str]:
    """The texts of the rendered OperationOutcome that show an artefact."""
    content = ResultContent(str(uuid.uuid4()), str(uuid.uuid4()), "1032730001", ResultStatus.REJECTED, tuple(issues))
    outcome = build_result(content, NOW)["entry"][1]["resource"]
    if not issues:
        return [] if outcome["issue"][0]["diagnostics"] == "OK" else [str(outcome["issue"])]
    found = []
    for issue, rendered in zip(issues, outcome["issue"], strict=True):
        catalogue_text = f"{issue.code.id} / {issue.code.en}"
        text = rendered["details"]["text"]
        assert text.startswith(catalogue_text)
        for shown in (rendered.get("diagnostics", ""), text.removeprefix(catalogue_text)):
            if ARTEFACT.search(shown):
                found.append(f"{issue.code.code} at {issue.expression}: {shown}")
    return found


def intake(document: dict[str, Any], now=examples.AS_OF) -> list[Issue]:
    """The issues the pipeline answers with: structural ones, else the profile's."""
    return (
        structural_issues(document)
        or read_notice(document, now=now, strict_nik=True, region_known=lambda _: True).issues
    )


def test_the_check_catches_what_it_is_for():  # the guard of every test below
    leaks = ["None", "null", "got <class 'list'>", "['a', 'b']", "{'x': 1}", "should be 'male'", 'a "quoted" value']
    for leak in leaks:
        assert artefacts([Issue(codes.FHIR_INVALID, "Bundle", leak)]), leak
    assert artefacts([Issue(codes.ELEMENT_MISSING, "Bundle", "the hospital's encounter number")]) == []


def test_catalogue_messages_have_no_artefacts():
    assert [c.code for c in CATALOGUE.values() if MARKS.search(c.id) or MARKS.search(c.en)] == []


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_contract_example_renders_clean(path):
    document = json.loads(path.read_text())

    issues = intake(document)

    assert path.stem.startswith("valid") or any(issue.blocks for issue in issues)
    assert artefacts(issues) == []


# Mutations of the valid examples.


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _shape(path: tuple) -> tuple:
    """Paths alike but for a repetition (the next coding, the second witness); the entry index is
    kept, as each entry is another resource with its own rules."""
    return tuple("*" if isinstance(k, int) and not (i == 1 and path[0] == "entry") else k for i, k in enumerate(path))


def _wrong_type(value: Any) -> Any:
    """A number for text and objects, text for numbers, booleans and arrays."""
    return "x" if isinstance(value, (int, float, bool, list)) else 7


def _empty(value: Any) -> Any:
    return [] if isinstance(value, list) else {} if isinstance(value, dict) else ""


MUTATIONS = {
    "removed": None,
    "null": lambda value: None,
    "empty": _empty,
    "wrong-type": _wrong_type,
}


def _mutated(document: dict[str, Any], path: tuple, mutation: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    if mutation == "removed":
        del parent[path[-1]]
    else:
        parent[path[-1]] = MUTATIONS[mutation](parent[path[-1]])
    return changed


def _sweep() -> Iterator[tuple[str, dict[str, Any], tuple]]:
    """Every element of the singleton, then what the other valid examples add: the twin's
    multiple-birth total, the stillbirth's deceasedBoolean, the entries of a Bundle without a father."""
    valid = examples.valid_examples()
    singleton = valid["valid-singleton"]
    seen = {_shape(path) for path in _paths(singleton)}
    yield from (("valid-singleton", singleton, path) for path in _paths(singleton))
    for name in ("valid-twin-2", "valid-stillbirth", "valid-mother-only"):
        for path in _paths(valid[name]):
            if _shape(path) not in seen:
                seen.add(_shape(path))
                yield name, valid[name], path


SWEEP = list(_sweep())


def test_the_sweep_reaches_every_required_element():
    reached = {(name, ".".join(map(str, path))) for name, _, path in SWEEP}
    for path in (
        "entry.2.resource._birthDate.extension.0.valueDateTime",
        "entry.6.resource.valueQuantity.value",
        "entry.3.resource.identifier.0.value",
        "entry.4.resource.relationship",
        "entry.0.resource.sender",
        "entry.0.resource.extension.0.extension.3.valueIdentifier.value",
    ):
        assert ("valid-singleton", path) in reached
    assert any(name == "valid-twin-2" and "valuePositiveInt" in path for name, _, path in SWEEP)
    assert any(name == "valid-stillbirth" and "deceasedBoolean" in path for name, _, path in SWEEP)


@pytest.fixture
def unchanged_resources_checked_once(monkeypatch):
    """Speed only: a mutation changes one resource, and structural_issues checks each resource on
    its own with a pure function, so the unchanged ones need not be validated again for every
    mutation. The changed resource and the Bundle itself are validated every time."""
    check, seen = structure._resource_issues, {}

    def remembered(resource, path):
        key = (path, json.dumps(resource, sort_keys=True, default=repr))
        if key not in seen:
            seen[key] = check(resource, path)
        return list(seen[key])

    monkeypatch.setattr(structure, "_resource_issues", remembered)


@pytest.mark.usefixtures("unchanged_resources_checked_once")
@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_mutated_valid_examples_render_clean(mutation):
    leaks, rejected = [], 0
    for name, document, path in SWEEP:
        try:
            issues = intake(_mutated(document, path, mutation))
        except Exception as exc:  # noqa: BLE001 - reported with its path: the intake must answer, not fall over
            leaks.append(f"{name} {path}: raised {type(exc).__name__}")
            continue
        rejected += any(issue.blocks for issue in issues)
        leaks += [f"{name} {path}: {leak}" for leak in artefacts(issues)]

    assert leaks == []
    assert rejected > len(SWEEP) // 3  # the mutations do reach the rules


# The decision's rejections and review reasons, as rendered.


def _decisions() -> list[tuple[str, list[Issue]]]:
    birth = notice(father_nik=nik(sex=Sex.MALE), mother_name="Siti Aminah")
    others = (
        registered(birth, encounter_id="ENC-dup", born_at=BORN_AT - timedelta(days=3)),
        registered(birth, encounter_id="ENC-old", born_at=BORN_AT - timedelta(days=90), stillborn=True),
    )
    mother = replace(facts(birth).mother, name="Dewi Lestari")
    closed = Hospital(birth.hospital_id, "RS Sintetis (tutup)", "3273", active=False)
    cases = {
        "review": facts(birth, mother=mother, father=None, mothers_births=others),
        "unknown-sender": facts(birth, hospital=None),
        "inactive-sender": facts(birth, hospital=closed),
        "registry": facts(birth, mother=None, family=None),
        "other-kk": facts(birth, mother=replace(facts(birth).mother, kk_number="3273010202200007")),
    }
    found = []
    for case, registry in cases.items():
        decision = decide(birth, registry, NOW)
        assert isinstance(decision, Review | Reject), case
        found.append((case, list(decision.reasons if isinstance(decision, Review) else decision.issues)))
    return found


@pytest.mark.parametrize(("case", "issues"), [pytest.param(*found, id=found[0]) for found in _decisions()])
def test_decision_issues_render_clean(case, issues):
    assert issues and artefacts(issues) == []


def test_review_answer_with_every_reason_renders_clean():
    _, reasons = _decisions()[0]
    content = ResultContent(
        str(uuid.uuid4()), str(uuid.uuid4()), "1032730001", ResultStatus.REVIEW, (Issue(codes.REVIEW_PENDING), *reasons)
    )

    outcome = build_result(content, NOW)["entry"][1]["resource"]

    assert [i["details"]["coding"][0]["code"] for i in outcome["issue"]] == [
        "REVIEW-PENDING",
        "REVIEW-MOTHER-DATA-MISMATCH",
        "REVIEW-SUSPECTED-DUPLICATE",
        "REVIEW-BIRTH-SPACING",
        "REVIEW-FATHER-NOT-FOUND",
    ]
    assert outcome["issue"][3]["diagnostics"] == "births of different pregnancies are at least 161 days apart"
    assert artefacts(list(content.issues)) == []

"""The hub against the reference validator (HAPI FHIR, base R4) on one corpus (corpus.py).

The validator runs once over every file (its cold start costs seconds). The hub must accept every
valid member the validator finds clean, and reject every mutation the validator finds an error in,
ideally with the code the mutation names. Needs Java (and Maven for the first fetch): skipped
without them on a developer's machine, a failure in CI.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.devtools import reference_validator
from hub.domain import codes
from hub.intake.conformance.definitions import required_bindings
from tests.conformance import corpus
from tests.conformance.accepted_differences import ACCEPTED_DIFFERENCES
from tests.conformance.hub_verdict import Verdict, judge

pytestmark = pytest.mark.conformance


@functools.cache
def members() -> dict[str, corpus.Member]:
    return {member.name: member for member in corpus.build()}


VALID = [name for name, member in members().items() if member.valid]
MUTATIONS = [name for name, member in members().items() if not member.valid]
# The mutations the reference validator checks (mutations.REFERENCE_UNCHECKED lists those it does not:
# test_mutation_is_a_real_defect keeps that list honest); the hub is held to the validator on these.
CHECKED = [name for name in MUTATIONS if (m := members()[name].mutation) is not None and m.reference_checks]


@dataclass(frozen=True, slots=True)
class Run:
    reference: dict[str, list[reference_validator.RefIssue]]
    hub: dict[str, Verdict]

    def errors(self, name: str) -> list[reference_validator.RefIssue]:
        return [issue for issue in self.reference[name] if issue.is_error]

    def unexcused_errors(self, name: str) -> list[reference_validator.RefIssue]:
        return [e for e in self.errors(name) if not any(a.covers(e.id, e.path) for a in ACCEPTED_DIFFERENCES)]


def _validator_or_skip() -> None:
    try:
        reference_validator.ensure()
    except reference_validator.ReferenceValidatorUnavailable as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"the conformance suite must run in CI: {exc}")
        pytest.skip(f"reference validator unavailable: {exc}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    _validator_or_skip()
    folder = tmp_path_factory.mktemp("conformance-corpus")
    paths = corpus.write(list(members().values()), folder)
    found = reference_validator.validate(list(paths.values()))
    by_path = {Path(path).resolve(): issues for path, issues in found.items()}
    reference = {name: by_path[path.resolve()] for name, path in paths.items()}
    hub = {name: judge(member.document, member.judged_at) for name, member in members().items()}
    return Run(reference, hub)


def _listed(issues: list[reference_validator.RefIssue]) -> str:
    return "\n".join(f"  {issue.id} at {issue.path}: {issue.message[:160]}" for issue in issues)


@pytest.mark.parametrize("name", VALID)
def test_valid_member_is_clean_for_the_reference_validator(run: Run, name: str) -> None:
    errors = run.unexcused_errors(name)
    assert not errors, f"{name}: the reference validator reports {len(errors)} error(s):\n{_listed(errors)}"


@pytest.mark.parametrize("name", VALID)
def test_valid_member_is_accepted_by_the_hub(run: Run, name: str) -> None:
    verdict = run.hub[name]
    assert verdict.accepted, f"{name}: the hub {verdict.summary()}"


@pytest.mark.parametrize("name", MUTATIONS)
def test_mutation_is_a_real_defect(run: Run, name: str) -> None:
    """A mutation the validator accepts covers nothing: the mutation is wrong, not the hub. Those
    the validator is known not to check (mutations.REFERENCE_UNCHECKED) must stay unflagged, or
    the exception is stale."""
    mutation = members()[name].mutation
    assert mutation is not None
    if mutation.reference_checks:
        assert run.errors(name), f"{name}: the reference validator reports no error, so the mutation tests nothing"
    else:
        assert not run.errors(name), (
            f"{name}: the reference validator now checks this: drop it from REFERENCE_UNCHECKED"
        )


@pytest.mark.parametrize("name", CHECKED)
def test_hub_rejects_what_the_reference_validator_rejects(run: Run, name: str) -> None:
    errors = run.unexcused_errors(name)
    if not errors:  # every error the validator reports here is an accepted difference: say which
        excused = run.errors(name)
        assert excused, f"{name}: the reference validator reports no error (see test_mutation_is_a_real_defect)"
        return
    verdict = run.hub[name]
    assert not verdict.accepted, f"{name}: the hub accepts what the reference validator rejects:\n{_listed(errors)}"


@pytest.mark.parametrize("name", CHECKED)
def test_hub_rejects_with_the_expected_code(run: Run, name: str) -> None:
    mutation = members()[name].mutation
    assert mutation is not None
    verdict = run.hub[name]
    assert set(mutation.expected) & set(verdict.blocking), (
        f"{name}: expected {' or '.join(mutation.expected)}; the hub {verdict.summary()}"
    )


def test_every_accepted_difference_still_occurs(run: Run) -> None:
    stale = [
        difference
        for difference in ACCEPTED_DIFFERENCES
        if not any(difference.covers(e.id, e.path) for name in run.reference for e in run.errors(name))
    ]
    assert not stale, f"accepted differences that no longer occur (remove them): {stale}"


def test_the_corpus_covers_every_rule_kind() -> None:
    kinds = {member.mutation.kind for member in members().values() if member.mutation is not None}
    assert kinds == {"binding", "uri", "bundle", "reference", "ucum", "invariant"}
    assert len(VALID) >= 40


def test_every_conformance_code_and_every_required_binding_has_a_mutation() -> None:
    expected = {code for member in members().values() if member.mutation for code in member.mutation.expected}
    conformance_codes = {
        codes.FHIR_CODE_NOT_IN_VALUE_SET,
        codes.FHIR_URI_INVALID,
        codes.FHIR_IDENTIFIER_SYSTEM_NOT_ABSOLUTE,
        codes.FHIR_UCUM_INVALID,
        codes.FHIR_CONSTRAINT_FAILED,
        codes.BUNDLE_FULLURL_DUPLICATE,
        codes.BUNDLE_FULLURL_MISMATCH,
        codes.BUNDLE_FULLURL_INVALID,
        codes.REFERENCE_UNRESOLVED,
    }
    missing = sorted(code.code for code in conformance_codes if code.code not in expected)
    assert not missing, f"no mutation expects {missing}"
    names = {member.mutation.name for member in members().values() if member.mutation}
    unbound = [f"{b.owner}.{b.name}" for b in required_bindings() if f"binding-{b.owner}.{b.name}" not in names]
    assert not unbound, f"required bindings without a mutation: {unbound}"

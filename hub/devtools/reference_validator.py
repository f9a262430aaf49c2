"""The HAPI FHIR reference validator (base R4) from Python, for the conformance tests and the bench.

deploy/local/fhir-validator.sh fetches the validator's jars from Maven Central and compiles a small
runner (deploy/local/fhir-validator/ReferenceValidator.java); this module drives that runner. Its
cold start takes seconds, so every call here starts one JVM for all the files it is given.

    ensure()                   fetch and build once; the java command line that runs the validator
    validate(paths)            {file: [RefIssue, ...]} for every file (and every *.json under a folder)
    throughput(paths, seconds) bundles/s of one thread, after a warm-up pass over the files

Needs a JDK (java, javac) and, for the first fetch, Maven: `ReferenceValidatorUnavailable` says which
is missing. Nothing here logs: the validator's messages can quote the values it judged (personal
data), so they are only returned, and errors carry the runner's own diagnostics, never its input.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local" / "fhir-validator.sh"
MAIN_CLASS = "ReferenceValidator"
ERROR_SEVERITIES = frozenset({"error", "fatal"})
# The validator names the resource inside a location: "Bundle.entry[2].resource/*Patient/p1*/.birthDate".
_RESOURCE_NOTE = re.compile(r"/\*[^*]*\*/")
# Lines of the runner's stderr that are its own diagnostics (the validator's log lines are not kept).
_OWN_DIAGNOSTICS = ("fhir-validator:", "ReferenceValidator:", "usage:")


class ReferenceValidatorUnavailable(RuntimeError):
    """The validator cannot run here: no JDK or Maven, a failed fetch or build (the message says which)."""


class ReferenceValidatorFailed(RuntimeError):
    """The validator's JVM ended badly or printed something that is not its documented output."""


@dataclass(frozen=True, slots=True)
class RefIssue:
    """One message of the reference validator, as it gave it (`id` is its message id)."""

    severity: str  # "fatal", "error", "warning" or "information"
    id: str
    location: str
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity in ERROR_SEVERITIES

    @property
    def path(self) -> str:
        """The location as a FHIRPath from the root: "Bundle.entry[2].resource.birthDate"."""
        return _RESOURCE_NOTE.sub("", self.location)


@dataclass(frozen=True, slots=True)
class Throughput:
    bundles: int
    seconds: float
    per_second: float
    files: int


@cache
def ensure() -> tuple[str, ...]:
    """Fetch the jars and build the runner if needed; the command that runs it (append its inputs)."""
    java = shutil.which("java")
    if java is None:
        raise ReferenceValidatorUnavailable("java not found: the reference validator needs a JDK 17 (and Maven)")
    if not SCRIPT.is_file():
        raise ReferenceValidatorUnavailable(f"{SCRIPT} not found: the reference validator runs from a checkout")
    bash = shutil.which("bash") or "/bin/bash"
    # Our own script with a fixed argument, no shell: nothing untrusted reaches the command line.
    done = subprocess.run(  # noqa: S603
        [bash, str(SCRIPT), "classpath"], capture_output=True, text=True, timeout=1800, check=False
    )
    classpath = done.stdout.strip().splitlines()
    if done.returncode != 0 or not classpath:
        raise ReferenceValidatorUnavailable(
            f"{SCRIPT.name} classpath failed (exit {done.returncode}): {_diagnostics(done.stderr) or 'no message'}"
        )
    return (java, "-cp", classpath[-1], MAIN_CLASS)


def validate(paths: Iterable[Path], timeout: float | None = 900) -> dict[Path, list[RefIssue]]:
    """Every file's issues (a folder stands for each *.json under it), from one JVM."""
    given = list(paths)
    with _listed(given) as listing:
        out = _run([*ensure(), f"@{listing}"], timeout)
    results: dict[Path, list[RefIssue]] = {}
    for line in out.splitlines():
        record = _record(line)
        results[Path(record["file"])] = [RefIssue(**issue) for issue in record["issues"]]
    missing = [p for p in given if not p.is_dir() and p not in results]
    if missing:
        raise ReferenceValidatorFailed(f"no result for {len(missing)} of the files, e.g. {missing[0]}")
    return results


def measure(paths: Iterable[Path], seconds: float, timeout: float | None = None) -> Throughput:
    """Bundles per second of one validator thread on these files, round-robin for about `seconds`."""
    with _listed(list(paths)) as listing:
        out = _run([*ensure(), "--bench", f"{seconds:g}", f"@{listing}"], timeout or seconds * 4 + 300)
    lines = out.splitlines()
    if not lines:
        raise ReferenceValidatorFailed("the --bench run printed nothing")
    record = _record(lines[-1])
    return Throughput(
        bundles=int(record["bundles"]),
        seconds=float(record["seconds"]),
        per_second=float(record["per_second"]),
        files=int(record["files"]),
    )


def throughput(paths: Iterable[Path], seconds: float) -> float:
    """measure(...).per_second."""
    return measure(paths, seconds).per_second


@contextmanager
def _listed(paths: list[Path]) -> Iterator[Path]:
    """A temporary @list file naming `paths` (no command-line length limit on thousands of files)."""
    if not paths:
        raise ValueError("no files to validate")
    with tempfile.TemporaryDirectory(prefix="fhir-validator-") as folder:
        listing = Path(folder) / "inputs.txt"
        listing.write_text("".join(f"{p}\n" for p in paths), encoding="utf-8")
        yield listing


def _run(command: list[str], timeout: float | None) -> str:
    try:
        # The JDK's java on our runner; inputs travel in a list file, never through a shell.
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired as exc:
        raise ReferenceValidatorFailed(f"the reference validator took longer than {timeout} s") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        raise ReferenceValidatorFailed(
            f"the reference validator exited with {done.returncode}: {_diagnostics(stderr) or 'no message of its own'}"
        )
    return done.stdout.decode("utf-8")


def _record(line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ReferenceValidatorFailed(f"unexpected output line from the runner ({len(line)} characters)") from exc
    if not isinstance(record, dict):
        raise ReferenceValidatorFailed("unexpected output line from the runner (not an object)")
    return record


def _diagnostics(stderr: str) -> str:
    return " / ".join(line.strip() for line in stderr.splitlines() if line.strip().startswith(_OWN_DIAGNOSTICS))

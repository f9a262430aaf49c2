"""Minimum cardinalities of the FHIR R4 elements, which the mutations need to build the smallest
valid parent of a defect. Read from the validator's definitions jar by the same reader that
generates hub/intake/conformance/r4_definitions.json (whose JSON keeps no minimums)."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path

from hub.devtools.r4_definitions import find_jar, read_structures

JAR_DIR = Path(__file__).resolve().parents[2] / ".local" / "fhir-validator" / "libs"


@functools.cache
def minimums() -> dict[str, int]:
    """Element path as defined ("Patient.contact.name", "Observation.value[x]") -> its minimum."""
    with zipfile.ZipFile(find_jar(JAR_DIR)) as archive:
        structures = read_structures(archive)
    return {e.path: e.min for s in structures.values() if s.base is None for e in s.elements}

"""Peer: the HAPI FHIR reference validator (base R4) on the same messages as the hub's validation ceiling.

The run's notification bundles are written to a temporary folder, one file each, exactly the bytes
the hospitals send; hub.devtools.reference_validator measures one validator thread on them
(deploy/local/fhir-validator.sh: a warm-up pass, then the files round-robin for `seconds`). In the
same run, and in the same way as the ceilings scenario (bench/ceilings.py), the hub's own validation
(json parse + structural_issues + read_notice, one process, warm) is timed on the same messages, so
the ratio hub validation ÷ reference validator compares like with like on this machine.

Needs a JDK (and Maven the first time): `--skip-reference-validator` leaves it out, and the summary
says it was skipped.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bench.ceilings import validation_ceiling
from bench.context import Context
from bench.messages import Message
from hub.devtools import reference_validator

METRICS = ("reference_bundles_per_s", "hub_validation_msgs_per_s", "reference_ms_per_bundle")
ROWS = [
    ("reference_bundles_per_s", "HAPI FHIR 8.8.0 reference validator bundles/s (1 thread, warm)", "{:.1f}"),
    ("reference_ms_per_bundle", "reference validator ms/bundle", "{:.1f}"),
    ("hub_validation_msgs_per_s", "hub validation msgs/s on the same messages (1 process, warm)", "{:.1f}"),
]


async def run_reference(ctx: Context, messages: list[Message], label: str, seconds: float) -> dict:
    task = ctx.task(f"{label}: hub validation", len(messages))
    try:
        hub = validation_ceiling(messages, lambda: ctx.progress.advance(task))
        ctx.progress.update(task, description=f"{label}: reference validator (~{seconds:g} s + JVM start)", total=None)
        with tempfile.TemporaryDirectory(prefix="bench-reference-") as folder:
            files = _write(messages, Path(folder))
            figures = await asyncio.to_thread(reference_validator.measure, files, seconds)
    finally:
        ctx.done(task)
    return {
        "reference_bundles_per_s": figures.per_second,
        "reference_ms_per_bundle": 1000 / figures.per_second,
        "reference_bundles": figures.bundles,
        "reference_seconds": figures.seconds,
        "reference_files": figures.files,
        "hub_validation_msgs_per_s": hub["validation_msgs_per_s"],
    }


def _write(messages: list[Message], folder: Path) -> list[Path]:
    files = []
    for index, message in enumerate(messages):
        path = folder / f"{index:06d}.json"
        path.write_bytes(message.value)
        files.append(path)
    return files

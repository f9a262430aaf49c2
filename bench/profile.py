"""Where the hub's CPU time goes: py-spy's collapsed stacks reduced to a few tables (profile-top.md).

Only samples where a thread was running are recorded (py-spy leaves idle threads out), so shares
are of the hub's busy CPU time, not of wall time. py-spy follows the hub's worker processes
(validation, documents) too: the areas are also split by process, the hub's own and its workers.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

# Each busy sample goes to the first area, in this order, that has a frame on its stack (paths as
# py-spy prints them: relative to site-packages or the repository), so the shares add up to 100%.
AREAS = [
    ("structural validation (fhir.resources, fhir_core, its pydantic)", r"(^|[ /])(fhir/resources|fhir_core)/"),
    ("FHIR R4 conformance (hub/intake/conformance)", r"(^|[ /])hub/intake/conformance/"),
    ("text rules (hub/intake/text)", r"(^|[ /])hub/intake/text\.py"),
    ("trust: signature check (hub/intake/signature, joserfc)", r"(^|[ /])(hub/intake/signature|joserfc/)"),
    (
        "profile rules (hub/intake: profile, people, newborn, ...)",
        r"(^|[ /])hub/intake/(profile|people|newborn|registration|measurements|bundle_view|elements|vocabulary)",
    ),
    ("envelope: json parse, depth check (hub/intake/envelope)", r"(^|[ /])hub/intake/envelope"),
    (
        "results and civil events (hub/intake/results, hub/service/answers, events)",
        r"(^|[ /])(hub/intake/results|hub/service/answers|hub/service/events)",
    ),
    ("outbox relay (read outbox, produce, mark sent)", r"(^|[ /])hub/adapters/kafka/relay"),
    ("PostgreSQL: asyncpg and hub/adapters/postgres", r"(^|[ /])(asyncpg|hub/adapters/postgres)/"),
    ("logging", r"(^|[ /])(logging/|hub/logging\.py)"),
    ("Kafka client (aiokafka)", r"(^|[ /])aiokafka/"),
    (
        "the use case and pipeline, not counted above (hub/service, hub/entrypoints/consumer)",
        r"(^|[ /])hub/(service|entrypoints/consumer)",
    ),
    ("FastStream / fast_depends around the handler", r"(^|[ /])(faststream|fast_depends)/"),
    ("json (stdlib), elsewhere", r"(^|[ /])json/"),
    ("asyncio event loop, sockets", r"(^|[ /])(asyncio/|selectors\.py)"),
]
# Leaf frames that mean "waiting", which py-spy's idle detection does not always drop.
IDLE = re.compile(r"^(EpollSelector\.select|select|Condition\.wait|wait|_worker|Queue\.get) ")
# With --subprocesses each stack starts with the processes it runs in: `process <pid>:"<command>";`.
_PROCESS = re.compile(r'process \d+:"[^"]*";')
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")


def _frames(stack: str) -> list[tuple[str, str]]:
    found = []
    for frame in stack.split(";"):
        match = _FRAME.match(frame.strip())
        found.append((match["func"], match["file"]) if match else (frame.strip(), ""))
    return found


def top_functions(out: Path, limit: int = 15) -> dict:
    path = out / "profile.txt"
    if not path.exists() or not path.read_text().strip():
        return {"error": "no py-spy output (is py-spy installed and allowed to attach?)"}
    own, areas, total, idle = Counter(), Counter(), 0, 0
    by_process: dict[str, Counter] = {"hub": Counter(), "workers": Counter()}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        processes = _PROCESS.findall(stack)
        process = "workers" if processes and "spawn_main" in processes[-1] else "hub"
        n, frames = int(count), _frames(_PROCESS.sub("", stack))
        func, file = frames[-1]
        if IDLE.match(f"{func} ({file})"):
            idle += n
            continue
        total += n
        own[f"{func} ({_short(file)})"] += n
        files = " ".join(f for _, f in frames)
        area = next((area for area, pattern in AREAS if re.search(pattern, files)), "other")
        areas[area] += n
        by_process[process][area] += n
    if not total:
        return {"error": "py-spy recorded no busy samples"}
    result = {
        "samples": total,
        "idle_samples": idle,
        "self": [(k, n / total) for k, n in own.most_common(limit)],
        "areas": [(k, n / total) for k, n in areas.most_common()],
        "process_samples": {p: sum(c.values()) for p, c in by_process.items()},
    }
    split = bool(by_process["workers"])
    lines = [
        "# Where the hub's busy CPU time goes (py-spy, one throughput run)",
        "",
        f"{total} busy samples at 100/s ({idle} more samples waiting in select/wait left out); shares are "
        "of the busy samples.",
        "",
    ]
    if split:
        hub, workers = (by_process[p] for p in ("hub", "workers"))
        lines += [
            f"py-spy followed the worker processes: {sum(workers.values())} of the busy samples are theirs "
            f"(validation, documents), {sum(hub.values())} the hub's own process's.",
            "",
            "| area (each sample counted once) | share | in the hub's process | in worker processes |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| {k} | {v:.1%} | {hub[k] / total:.1%} | {workers[k] / total:.1%} |" for k, v in result["areas"]]
    else:
        lines += ["| area (each sample counted once) | share |", "|---|---:|"]
        lines += [f"| {k} | {v:.1%} |" for k, v in result["areas"]]
    lines += ["", "| function (self time) | share |", "|---|---:|"]
    lines += [f"| `{k}` | {v:.1%} |" for k, v in result["self"]]
    (out / "profile-top.md").write_text("\n".join(lines) + "\n")
    return result


def _short(file: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file

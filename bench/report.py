"""Write a bench's results: results.json (everything), runs/*.json (one per run), summary.md, latency.png."""

from __future__ import annotations

import json
from pathlib import Path

from bench import ceilings, console, latency, reference, throughput
from bench.stats import over_runs

ROWS = {  # scenario -> (metric, label, format)
    "throughput": [
        ("notifications_per_s", "notifications/s (hub ready → last result)", "{:.1f}"),
        ("births_per_s", "registered births/s (same window)", "{:.1f}"),
        ("cold_notifications_per_s", "notifications/s cold (process start → last result)", "{:.1f}"),
        ("first_to_last_per_s", "notifications/s (first → last result)", "{:.1f}"),
        ("startup_s", 'startup s (spawn → "hub running")', "{:.2f}"),
        ("processing_s", "processing s (ready → last result)", "{:.1f}"),
        ("first_result_s", "first result s after ready", "{:.2f}"),
        ("peak_rss_mib", "peak RSS of the hub, MiB", "{:.0f}"),
        ("hub_cpu_share", "hub CPU with its worker processes, cores used", "{:.2f}"),
        ("machine_busy", "machine CPU busy (all cores = 1)", "{:.2f}"),
    ],
    "latency": [
        ("p50_ms", "p50 ms", "{:.0f}"),
        ("p95_ms", "p95 ms", "{:.0f}"),
        ("p99_ms", "p99 ms", "{:.0f}"),
        ("max_ms", "max ms", "{:.0f}"),
        ("steady_p99_ms", "p99 ms of sends after the first 5 s", "{:.0f}"),
        ("achieved_rate", "offered rate achieved /s", "{:.1f}"),
        ("hub_output_per_s", "results/s while offering", "{:.1f}"),
        ("answered_share", "answered share", "{:.3f}"),
        ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
    ],
    "ceilings": [
        ("transport_msgs_per_s", "transport: raw aiokafka consume msgs/s", "{:.0f}"),
        ("validation_msgs_per_s", "validation: parse+structure+profile msgs/s (1 process)", "{:.1f}"),
        ("validation_parse_ms", "validation: json parse ms/msg", "{:.2f}"),
        ("validation_structure_ms", "validation: text + fhir.resources ms/msg", "{:.2f}"),
        ("validation_conformance_ms", "validation: R4 conformance ms/msg", "{:.2f}"),
        ("validation_profile_ms", "validation: profile rules ms/msg", "{:.2f}"),
        ("database_births_per_s", "database: register_birth births/s (1 tx each)", "{:.1f}"),
        ("database_ms_per_birth", "database: ms per birth (1 tx each)", "{:.2f}"),
        (
            "database_batched_births_per_s",
            "database: register_birth births/s (transactions of 20, as the consumer)",
            "{:.1f}",
        ),
        ("handler_msgs_per_s", "handler in process, batches, no Kafka (extra) msgs/s", "{:.1f}"),
        ("handler_statements_per_msg", "handler in process: SQL statements per message", "{:.2f}"),
    ],
    "no-documents": [
        ("notifications_per_s", "notifications/s, documents off (HUB_DOCUMENTS=false)", "{:.1f}"),
        ("births_per_s", "registered births/s, documents off", "{:.1f}"),
        ("hub_cpu_share", "hub CPU with its worker processes, cores used", "{:.2f}"),
        ("peak_rss_mib", "peak RSS MiB", "{:.0f}"),
    ],
    "scale": [
        ("notifications_per_s", "notifications/s, 2 hub processes", "{:.1f}"),
        ("births_per_s", "registered births/s, 2 hub processes", "{:.1f}"),
        ("startup_s", "startup s (slower of the two)", "{:.2f}"),
        ("peak_rss_mib", "peak RSS MiB (larger of the two)", "{:.0f}"),
        ("hub_cpu_share", "hub CPU with worker processes, cores used (both hubs)", "{:.2f}"),
        ("machine_busy", "machine CPU busy (all cores = 1)", "{:.2f}"),
    ],
    "console": console.ROWS,
    "reference-validator": reference.ROWS,
}
METRICS = {
    "throughput": throughput.METRICS,
    "scale": throughput.METRICS,
    "no-documents": throughput.METRICS,
    "ceilings": ceilings.METRICS,
    "latency": latency.METRICS,
    "console": console.METRICS,
    "reference-validator": reference.METRICS,
}


def summarise(results: dict) -> None:
    """Add medians over runs to every scenario, and the ratios of the hub's throughput to each ceiling."""
    for name, scenario in results["scenarios"].items():
        for group in scenario.values() if name == "latency" else [scenario]:
            group["summary"] = over_runs(group["runs"], METRICS[name])
    med = {
        name: {k: v["median"] for k, v in s.get("summary", {}).items()}
        for name, s in results["scenarios"].items()
        if name != "latency"
    }
    hub, ceil, scale = med.get("throughput", {}), med.get("ceilings", {}), med.get("scale", {})
    plain, peer = med.get("no-documents", {}), med.get("reference-validator", {})
    pairs = [
        ("hub notifications/s ÷ transport ceiling", hub.get("notifications_per_s"), ceil.get("transport_msgs_per_s")),
        ("hub notifications/s ÷ validation ceiling", hub.get("notifications_per_s"), ceil.get("validation_msgs_per_s")),
        (
            "hub registered births/s ÷ database ceiling (transactions of 20)",
            hub.get("births_per_s"),
            ceil.get("database_batched_births_per_s"),
        ),
        (
            "hub notifications/s ÷ in-process handler (extra)",
            hub.get("notifications_per_s"),
            ceil.get("handler_msgs_per_s"),
        ),
        (
            "hub validation ÷ reference validator (same messages, 1 thread each)",
            peer.get("hub_validation_msgs_per_s"),
            peer.get("reference_bundles_per_s"),
        ),
        (
            "2 hub processes ÷ 1 hub process (notifications/s)",
            scale.get("notifications_per_s"),
            hub.get("notifications_per_s"),
        ),
        (
            "documents on ÷ documents off (notifications/s)",
            hub.get("notifications_per_s"),
            plain.get("notifications_per_s"),
        ),
    ]
    results["ratios"] = {label: {"value": a / b, "numerator": a, "denominator": b} for label, a, b in pairs if a and b}


def write(results: dict, out: Path) -> None:
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for name, scenario in results["scenarios"].items():
        groups = scenario.items() if name == "latency" else [("", scenario)]
        for rate, group in groups:
            for index, run in enumerate(group["runs"], 1):
                tag = f"{name}-{rate}per_s-{index}" if rate else f"{name}-{index}"
                (runs / f"{tag}.json").write_text(json.dumps(run, indent=1, default=str))
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (out / "summary.md").write_text(markdown(results))
    if "latency" in results["scenarios"]:
        from bench.chart import latency_chart

        latency_chart(results["scenarios"]["latency"], out / "latency.png")


def markdown(results: dict) -> str:
    hub_runs = any(name != "console" for name in results["scenarios"])  # the scenarios that start hubs
    console_args = (
        f"console: {results['args'].get('registrations', 0):,} registrations, "
        f"{results['args'].get('samples', 0)} requests per page and run; "
        if "console" in results["scenarios"]
        else ""
    )
    lines = [
        f"# hub benchmark {results['started']}",
        "",
        f"Runs per scenario: {results['args']['runs']}; "
        + (f"throughput notifications per run: {results['args']['notifications']}; " if hub_runs else "")
        + console_args
        + f"wall time {results.get('wall_s', 0):.0f} s."
        + (
            " **Documents off** (HUB_DOCUMENTS=false) for throughput, scale and the profile run (--documents-off)."
            if results["args"].get("documents_off")
            else ""
        ),
        "",
        "| scenario | metric | median | min | max | runs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, scenario in results["scenarios"].items():
        groups = (
            [(f"latency @ {rate}/s", g) for rate, g in scenario.items()]
            if name == "latency"
            else [
                (
                    "throughput (1 hub)" if name == "throughput" else "scale (2 hubs)" if name == "scale" else name,
                    scenario,
                )
            ]
        )
        for title, group in groups:
            for metric, label, fmt in ROWS[name]:
                s = group.get("summary", {}).get(metric)
                if s:
                    lines.append(
                        f"| {title} | {label} | {fmt.format(s['median'])} | {fmt.format(s['min'])} | "
                        f"{fmt.format(s['max'])} | {s['runs']} |"
                    )
            if group.get("skipped"):
                lines.append(f"| {title} | {group['skipped']} | | | | |")
            failed = [r["error"] for r in group["runs"] if "error" in r]
            if failed:
                lines.append(f"| {title} | failed runs | {len(failed)} | | | |")
    if results.get("ratios"):
        lines += ["", "| ratio (of medians) | value | numerator | denominator |", "|---|---:|---:|---:|"]
        lines += [
            f"| {k} | {v['value']:.2f} | {v['numerator']:.1f} | {v['denominator']:.1f} |"
            if v["value"] >= 0.01
            else f"| {k} | {v['value']:.4f} | {v['numerator']:.1f} | {v['denominator']:.0f} |"
            for k, v in results["ratios"].items()
        ]
    peer_failed = [
        r["error"] for r in results["scenarios"].get("reference-validator", {}).get("runs", []) if "error" in r
    ]
    if peer_failed:
        lines += [
            "",
            f"Reference-validator run failed: {peer_failed[0]} (where there is no JDK: --skip-reference-validator)",
        ]
    if hub_runs:
        lines += ["", "## Outcomes (first run of each scenario)", ""]
    for name, scenario in results["scenarios"].items():
        for title, group in (
            [(f"latency @ {r}/s", g) for r, g in scenario.items()] if name == "latency" else [(name, scenario)]
        ):
            run = next((r for r in group["runs"] if "outcomes" in r), None)
            if run:
                o = run["outcomes"]
                lines.append(
                    f"- {title}: statuses {o['statuses']}; answers differing from the kind sent: "
                    f"{o['unexpected']}; rejection/review codes {o['rejection_and_review_codes']}"
                )
    if "console" in results["scenarios"]:
        lines += console.markdown_section(results["scenarios"]["console"])
    profile, run = results.get("profile"), (results.get("profile_run") or {"runs": [{}]})["runs"][0]
    if profile and "areas" in profile:
        lines += [
            "",
            "## Profile (one extra throughput run with py-spy attached, not in the medians)",
            "",
            f"That run: {run.get('notifications_per_s', 0):.1f} notifications/s. Flame graph: profile.svg; "
            "tables: profile-top.md. Busy CPU time of the hub by area:",
            "",
        ]
        lines += [f"- {area}: {share:.1%}" for area, share in profile["areas"][:8]]
    m = results["machine"]
    lines += [
        "",
        "## Machine",
        "",
        f"- {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; Python {m['python']}; {m['platform']}",
        f"- Kafka {m['kafka']} (local KRaft, deploy/local/kafka.sh), notification topic "
        f"{m['partitions']} partitions; PostgreSQL {m['postgresql']} {m['postgresql_settings']}",
        f"- hub at commit {m['hub_commit']}{' with uncommitted changes under hub/' if m['hub_dirty'] else ''}; "
        f"HUB_* passed through: {m.get('hub_env') or 'none'}",
    ]
    if hub_runs:  # the console section says how it is measured
        lines += ["", "## How it is measured", "", NOTES]
    return "\n".join(lines) + "\n"


NOTES = """\
- Every run: a fresh database copied from one seeded template (no mother has a birth within 30 days),
  its own topic prefix and consumer group; `python -m hub.entrypoints.cli run --seed-families 0` started
  cold as a subprocess with HUB_* variables; default settings otherwise (INFO logs to a file).
- Result time = the result record's Kafka timestamp (CreateTime, set when the hub's relay hands the record
  to its producer), not LogAppendTime; same machine clock as the harness. "Ready" = the hub logged
  "hub running" (log polled every 20 ms).
- Throughput: all notifications produced before the hub starts; results counted on birth.result.v1
  (one per notification, re-sent ids included). Mix: ~85% valid singletons, ~5% twins, ~1% stillbirths,
  ~6% invalid (placeholder name, weight in kg, FHIR-invalid date, unknown KK, unknown sender), ~2% re-sent
  message ids, ~1% new message id for an already sent birth.
- Latency: a separate producer process sends at a steady rate; latency = result CreateTime − producer's
  time.time() just before send. Above the hub's capacity the queue grows and latency grows with the run.
- Ceilings use the same messages: raw consume in the harness process, validation in one process (warm),
  database = register_birth alone, one per transaction and in transactions of 20, sequential. Medians over runs; min and max shown.
- Reference validator: HAPI FHIR 8.8.0's FhirInstanceValidator on base R4 (deploy/local/fhir-validator.sh),
  one JVM, one thread, on the run's bundles written to files; a warm-up pass, then the files round-robin
  for --reference-seconds; HAPI builds a new instance validator for every call (part of its cost). The
  hub's validation is timed again in that scenario on the same messages, for the ratio.
- Peak memory: RSS of the hub process sampled every 100 ms (psutil). Nothing here is asserted.
"""

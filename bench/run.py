"""`make bench`: the hub's benchmark harness. Measures and reports; asserts nothing.

    python -m bench.run [--scenario throughput,no-documents,latency,ceilings,scale,reference-validator] [--runs 3]
                        [--notifications N] [--quick] [--skip-reference-validator]
    python -m bench.run --scenario console [--registrations 1000000] [--samples 30] [--runs 1] [--quick]

Needs the local Kafka and PostgreSQL (`make bench` starts them like `make run`). Results go to
bench-results/<timestamp>/: results.json, runs/*.json, summary.md, latency.png, logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

SCENARIOS = ("throughput", "no-documents", "latency", "ceilings", "scale", "reference-validator")  # the default: all
EXTRA = ("console",)  # only when named: seeding a million registrations takes minutes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make bench BENCH_ARGS=...", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scenario",
        default=",".join(SCENARIOS),
        help="comma-separated, from: %(default)s (scale also runs throughput, its 1-process baseline); "
        "and console (only when named)",
    )
    parser.add_argument("--runs", type=int, help="runs per scenario; medians over them (default 3, --quick 1)")
    parser.add_argument(
        "--notifications", type=int, help="notifications per throughput/ceilings/scale run (default 5000, --quick 400)"
    )
    parser.add_argument("--rates", help="latency: offered rates per second (default 50,200)")
    parser.add_argument(
        "--duration", type=float, help="latency: seconds of offered load per run (default 30, --quick 8)"
    )
    parser.add_argument(
        "--drain",
        type=float,
        default=120,
        help="latency: longest wait for results after the producer stops, s (default %(default)s)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="one extra throughput run (not in the medians) with py-spy attached: profile.svg, profile-top.md",
    )
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument(
        "--documents-off",
        action="store_true",
        help="throughput, scale and the profile run with HUB_DOCUMENTS=false (no-documents always is)",
    )
    parser.add_argument(
        "--registrations", type=int, help="console: registrations seeded (default 1000000, --quick 20000)"
    )
    parser.add_argument(
        "--samples", type=int, help="console: timed requests per page and run, after 2 warm-ups (default 30, --quick 5)"
    )
    parser.add_argument(
        "--keep-console-db",
        action="store_true",
        help="console: keep the seeded database afterwards (its name is printed)",
    )
    parser.add_argument(
        "--reference-seconds",
        type=float,
        help="reference-validator: seconds the HAPI validator is timed per run, after its warm-up (default 30, --quick 5)",
    )
    parser.add_argument(
        "--skip-reference-validator",
        action="store_true",
        help="leave out the reference-validator scenario (it needs a JDK and Maven); the summary says so",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every scenario")
    parser.add_argument("--out", type=Path, default=Path("bench-results"), help="parent folder (default %(default)s)")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS) - set(EXTRA)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS + EXTRA)}")
    if "scale" in args.scenarios and "throughput" not in args.scenarios:
        args.scenarios.insert(0, "throughput")
    args.runs = args.runs or (1 if args.quick else 3)
    args.notifications = args.notifications or (400 if args.quick else 5000)
    args.rates = [float(r) for r in (args.rates or "50,200").split(",")]
    args.duration = args.duration or (8.0 if args.quick else 30.0)
    args.registrations = args.registrations or (20_000 if args.quick else 1_000_000)
    args.samples = args.samples or (5 if args.quick else 30)
    args.reference_seconds = args.reference_seconds or (5.0 if args.quick else 30.0)
    return args


async def bench(args: argparse.Namespace, out: Path, console: Console) -> dict:
    from bench.ceilings import run_ceilings
    from bench.console import run_console
    from bench.context import Context
    from bench.env import Template, machine_info
    from bench.latency import run_latency
    from bench.messages import mothers_needed, plan
    from bench.reference import run_reference
    from bench.throughput import run_throughput

    wanted = set(args.scenarios)
    templated = [s for s in args.scenarios if s not in EXTRA]  # the scenarios that need the seeded template
    sizes = [args.notifications] * bool(set(templated) - {"latency"}) + [
        round(rate * args.duration) for rate in args.rates
    ] * ("latency" in wanted)
    results = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "out": str(out),
        "args": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": await machine_info(),
        "scenarios": {
            name: ({f"{r:g}": {"runs": []} for r in args.rates} if name == "latency" else {"runs": []})
            for name in args.scenarios
        },
    }
    if "reference-validator" in wanted and args.skip_reference_validator:
        results["scenarios"]["reference-validator"]["skipped"] = "not run: --skip-reference-validator"
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, refresh_per_second=5) as progress:
        template = None
        if templated:
            families = mothers_needed(max(sizes))
            seeding = progress.add_task(f"seeding template ({families} families)", total=families)
            template = await Template.create(families, lambda n: progress.advance(seeding, n))
            progress.remove_task(seeding)
        ctx = Context(template, out, progress, console)  # template None: console only
        per_run = sum(len(args.rates) if s == "latency" else 1 for s in args.scenarios)
        overall = progress.add_task("bench", total=args.runs * per_run + args.profile)

        async def record(group: dict, label: str, make) -> None:
            for attempt in (1, 2):  # others may be editing hub/: one retry after a failed run
                try:
                    group["runs"].append({"label": label, **await make()})
                    break
                except Exception as exc:
                    console.print(f"[red]{label} failed (attempt {attempt}):[/red] {type(exc).__name__}: {exc}"[:1500])
                    if attempt == 2:
                        group["runs"].append({"label": label, "error": f"{type(exc).__name__}: {exc}"[:3000]})
                    await asyncio.sleep(3)
            progress.advance(overall)

        docs_env = {"HUB_DOCUMENTS": "false"} if args.documents_off else None
        try:
            for i in range(1, args.runs + 1):
                messages = (
                    plan(template.mothers, template.hospitals, args.notifications, seed=i)
                    if wanted - {"latency", *EXTRA}
                    else []
                )
                s = results["scenarios"]
                for name in args.scenarios:
                    if name == "throughput":
                        await record(
                            s[name],
                            f"throughput-{i}",
                            lambda: run_throughput(ctx, messages, f"throughput-{i}", extra_env=docs_env),
                        )
                    elif name == "ceilings":
                        await record(s[name], f"ceilings-{i}", lambda: run_ceilings(ctx, messages, f"ceilings-{i}"))
                    elif name == "no-documents":
                        await record(
                            s[name],
                            f"nodocs-{i}",
                            lambda: run_throughput(ctx, messages, f"nodocs-{i}", extra_env={"HUB_DOCUMENTS": "false"}),
                        )
                    elif name == "scale":
                        await record(
                            s[name],
                            f"scale-{i}",
                            lambda: run_throughput(ctx, messages, f"scale-{i}", processes=2, extra_env=docs_env),
                        )
                    elif name == "reference-validator":
                        if not args.skip_reference_validator:
                            await record(
                                s[name],
                                f"reference-{i}",
                                lambda: run_reference(ctx, messages, f"reference-{i}", args.reference_seconds),
                            )
                        else:
                            progress.advance(overall)
                    elif name == "console":
                        continue  # below: one seeded database for all its runs
                    else:
                        for rate in args.rates:
                            load = plan(
                                template.mothers,
                                template.hospitals,
                                round(rate * args.duration),
                                seed=100 * i + int(rate),
                            )
                            label = f"latency-{rate:g}-{i}"
                            await record(
                                s[name][f"{rate:g}"], label, lambda: run_latency(ctx, load, rate, label, args.drain)
                            )
            if args.profile:
                messages = plan(template.mothers, template.hospitals, args.notifications, seed=999)
                results["profile_run"] = {"runs": []}
                await record(
                    results["profile_run"],
                    "profile",
                    lambda: run_throughput(
                        ctx, messages, "profile", profile_seconds=args.profile_seconds, extra_env=docs_env
                    ),
                )
            if "console" in wanted:
                try:
                    results["scenarios"]["console"] = await run_console(ctx, args)
                except Exception as exc:
                    console.print(f"[red]console failed:[/red] {type(exc).__name__}: {exc}"[:1500])
                    results["scenarios"]["console"]["runs"].append(
                        {"label": "console", "error": f"{type(exc).__name__}: {exc}"[:3000]}
                    )
                progress.advance(overall, args.runs)
        finally:
            if template is not None:
                await template.drop()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)  # e.g. "not leader" right after topic creation: retried
    console = Console()
    out = args.out / datetime.now().strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    console.print(f"hub bench: {', '.join(args.scenarios)}; {args.runs} run(s) each; output {out}")
    results = asyncio.run(bench(args, out, console))
    results["wall_s"] = time.monotonic() - started
    from bench.report import summarise, write

    summarise(results)
    if "profile_run" in results:
        from bench.profile import top_functions

        results["profile"] = top_functions(out)
    write(results, out)
    console.print(Markdown((out / "summary.md").read_text().split("\n## Machine")[0]))
    console.print(
        f"\nwrote {out / 'results.json'}, {out / 'summary.md'}"
        + (f", {out / 'latency.png'}" if "latency" in results["scenarios"] else "")
    )
    failed = sum(
        "error" in run
        for s in results["scenarios"].values()
        for g in (s.values() if "runs" not in s else [s])
        for run in g["runs"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

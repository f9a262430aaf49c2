"""Throughput (and scale): pre-produced notifications, hub(s) started cold, until the last result.

Times: `spawned` (the harness starts the hub process), `ready` (the hub logs "hub running"), and
the Kafka timestamp of the first and last result. The headline figure is notifications per second
from ready to the last result; `cold` counts from spawn (process start, imports, connections).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.context import Context, MachineLoad, Profiler
from bench.env import drop_env, fresh_env
from bench.hubproc import HubProcess
from bench.kafka_io import ResultCollector, produce_all
from bench.messages import Message, kinds_of
from bench.stats import outcomes, pair_results

METRICS = (
    "notifications_per_s",
    "births_per_s",
    "cold_notifications_per_s",
    "first_to_last_per_s",
    "startup_s",
    "processing_s",
    "first_result_s",
    "peak_rss_mib",
    "hub_cpu_share",
    "machine_busy",
    "produce_s",
)


async def run_throughput(
    ctx: Context,
    messages: list[Message],
    label: str,
    *,
    processes: int = 1,
    profile_seconds: int = 0,
    extra_env: dict[str, str] | None = None,
) -> dict:
    env = await fresh_env(ctx.template, label.replace("-", "_"))
    task = ctx.task(f"{label}: produce", len(messages))
    hubs: list[HubProcess] = []
    collector = None
    try:
        produce_s = await produce_all(env.settings, messages, lambda n: ctx.progress.advance(task, n))
        collector = ResultCollector(env.settings, len(messages))
        await collector.start()
        hubs = [
            HubProcess(env.hub_env(**(extra_env or {})), ctx.logs / f"{label}-hub{i + 1}.log") for i in range(processes)
        ]
        for hub in hubs:
            hub.spawn()
        ctx.progress.update(task, description=f"{label}: hub starting", completed=0)
        waits = [asyncio.create_task(hub.wait_ready()) for hub in hubs]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        load = MachineLoad()
        load.start()  # from the first hub's ready, like the processing window
        startup = await asyncio.gather(*waits)
        ready, cpu_at_ready = min(hub.ready for hub in hubs), [hub.cpu_at_ready for hub in hubs]
        profiler = Profiler(hubs[0].process.pid, ctx.out, profile_seconds) if profile_seconds else None
        ctx.progress.update(task, description=f"{label}: results ({processes} hub{'s' * (processes > 1)})")
        complete = await collector.wait(ctx.stall_timeout, lambda n: ctx.progress.update(task, completed=n))
        busy, cpu_at_done = load.stop(), [hub.cpu_seconds for hub in hubs]
        if profiler:
            profiler.wait()
    finally:
        exits = [hub.stop() for hub in hubs if hub.process is not None]
        if collector is not None:
            await collector.stop()
        ctx.done(task)
        await drop_env(env)
    return _figures(
        messages,
        collector.results,
        hubs,
        startup,
        ready,
        cpu_at_ready,
        cpu_at_done,
        busy,
        complete,
        produce_s,
        exits,
        processes,
        profiler,
    )


def _figures(
    messages,
    results,
    hubs,
    startup,
    ready,
    cpu_at_ready,
    cpu_at_done,
    busy,
    complete,
    produce_s,
    exits,
    processes,
    profiler,
) -> dict:
    if not results:
        raise RuntimeError(f"no result at all; see {hubs[0].log_path}: {hubs[0].tail(800)}")
    pairs = pair_results([(m.message_id, m.kind) for m in messages], results)
    outcome = outcomes(pairs)
    first, last = min(r.created for r in results), max(r.created for r in results)
    processing = last - ready
    registered = outcome["statuses"].get("registered", 0) - sum(1 for kind, _, _ in pairs if kind == "resent")
    figures = {
        "processes": processes,
        "notifications": len(messages),
        "results": len(results),
        "complete": complete,
        "notifications_per_s": len(results) / processing,
        "births_per_s": registered / processing,
        "registered_births": registered,
        "cold_notifications_per_s": len(results) / (last - min(h.spawned for h in hubs)),
        "first_to_last_per_s": (len(results) - 1) / (last - first) if last > first else None,
        "startup_s": max(startup),
        "processing_s": processing,
        "first_result_s": first - ready,
        "last_result_received_after_s": max(r.received for r in results) - ready,
        "peak_rss_mib": max(h.peak_rss_mib for h in hubs),
        "peak_rss_mib_each": [h.peak_rss_mib for h in hubs],
        "hub_cpu_share": sum(b - a for a, b in zip(cpu_at_ready, cpu_at_done, strict=False)) / processing,
        "machine_busy": busy,
        "produce_s": produce_s,
        "exit_codes": exits,
        "hub_errors_logged": sum(h.errors_logged() for h in hubs),
        "sent_kinds": kinds_of(messages),
        "outcomes": outcome,
        "logs": [Path(h.log_path).name for h in hubs],
    }
    if profiler:
        figures["profile"] = {"svg": profiler.svg.name, "collapsed": profiler.raw.name}
    return figures

"""Latency: a separate producer process offers a steady rate for a fixed time to a running hub.

Latency of a notification = the Kafka timestamp of its result (CreateTime, set by the hub's relay)
minus the producer's wall-clock time just before it sent the notification; both clocks are this
machine's. A re-sent message id is matched send by send (n-th send with the n-th result).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pickle
import sys
import time

from bench.context import Context
from bench.env import ROOT, drop_env, fresh_env
from bench.hubproc import HubProcess
from bench.kafka_io import ResultCollector
from bench.messages import Message
from bench.stats import latency_summary, outcomes, pair_results

WARM_UP_S = 5.0  # steady_*: only notifications sent after the first 5 s (the cold hub builds its validators)
METRICS = (
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "mean_ms",
    "steady_p50_ms",
    "steady_p99_ms",
    "achieved_rate",
    "answered_share",
    "hub_output_per_s",
    "peak_rss_mib",
)


async def run_latency(ctx: Context, messages: list[Message], rate: float, label: str, drain_seconds: float) -> dict:
    env = await fresh_env(ctx.template, label.replace("-", "_").replace(".", "_"))
    plan_path, out_path = ctx.logs / f"{label}-plan.pickle", ctx.logs / f"{label}-sends.json"
    topics = env.settings.topics
    plan_path.write_bytes(
        pickle.dumps([(m.message_id, m.key, m.value, topics.notifications_of(m.hospital), m.headers) for m in messages])
    )
    task = ctx.task(f"{label}: hub starting", len(messages))
    hub = HubProcess(env.hub_env(), ctx.logs / f"{label}-hub.log")
    collector = ResultCollector(env.settings, len(messages))
    try:
        await collector.start()
        hub.spawn()
        await hub.wait_ready()
        ctx.progress.update(task, description=f"{label}: offering {rate:g}/s")
        producer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.producer",
            str(plan_path),
            str(out_path),
            "--rate",
            str(rate),
            "--bootstrap",
            env.settings.kafka_bootstrap,
            cwd=ROOT,
        )
        while producer.returncode is None:
            ctx.progress.update(task, completed=len(collector.results))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(producer.wait(), 0.2)
        if producer.returncode != 0:
            raise RuntimeError(f"the producer process failed with exit code {producer.returncode}")
        ctx.progress.update(task, description=f"{label}: draining")
        complete = await collector.wait(
            ctx.stall_timeout,
            lambda n: ctx.progress.update(task, completed=n),
            deadline=time.monotonic() + drain_seconds,
        )
    finally:
        exit_code = hub.stop() if hub.process is not None else None
        await collector.stop()
        ctx.done(task)
        plan_path.unlink(missing_ok=True)
        await drop_env(env)
    return _figures(messages, json.loads(out_path.read_text()), collector.results, hub, complete, exit_code)


def _figures(
    messages: list[Message], produced: dict, results: list, hub: HubProcess, complete: bool, exit_code
) -> dict:
    sends = produced["sends"]
    kinds = {m.message_id: m.kind for m in messages}
    pairs = pair_results([(mid, kinds[mid]) for mid, _ in sends], results)
    latencies = [round((result.created - sends[index][1]) * 1000, 2) for _, index, result in pairs]
    after_warm_up = [
        ms for (_, index, _), ms in zip(pairs, latencies, strict=False) if sends[index][1] - sends[0][1] >= WARM_UP_S
    ]
    receipt = [(result.received - sends[index][1]) * 1000 for _, index, result in pairs]
    window = (sends[0][1], sends[-1][1]) if sends else (0, 0)
    in_window = sum(1 for r in results if window[0] <= r.created <= window[1])
    figures = {
        "achieved_rate": produced["achieved_rate"],
        "sent": len(sends),
        "answered": len(pairs),
        "answered_share": len(pairs) / len(sends) if sends else 0,
        "complete": complete,
        "producer_max_behind_s": produced["max_behind_schedule_s"],
        "send_failures": produced["failed"],
        "hub_output_per_s": in_window / (window[1] - window[0]) if window[1] > window[0] else None,
        **latency_summary(latencies),
        **{f"steady_{k}": v for k, v in latency_summary(after_warm_up).items() if k != "count"},
        "receipt_p50_ms": latency_summary(receipt).get("p50_ms"),
        "peak_rss_mib": hub.peak_rss_mib,
        "exit_code": exit_code,
        "hub_errors_logged": hub.errors_logged(),
        "outcomes": outcomes(pairs),
        "latencies_ms": latencies,
        "series": [
            (round(sends[index][1] - sends[0][1], 3), ms) for (_, index, _), ms in zip(pairs, latencies, strict=False)
        ],
    }
    return figures

"""latency.png: the distribution of produce → result latency for each offered rate (all runs pooled)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def latency_chart(latency: dict, path: Path) -> None:
    fig, (hist, cdf, series) = plt.subplots(1, 3, figsize=(17, 4.8))
    for rate, group in sorted(latency.items(), key=lambda item: float(item[0])):
        values = np.array([v for run in group["runs"] for v in run.get("latencies_ms", [])], dtype=float)
        if values.size == 0:
            continue
        values = np.maximum(values, 0.1)
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        label = f"{rate}/s: p50 {p50:.0f} ms, p95 {p95:.0f}, p99 {p99:.0f}, max {values.max():.0f} (n={values.size})"
        bins = np.logspace(np.log10(values.min()), np.log10(values.max() * 1.01), 60)
        hist.hist(values, bins=bins, histtype="step", linewidth=1.6, label=label)
        ordered = np.sort(values)
        cdf.plot(ordered, np.arange(1, ordered.size + 1) / ordered.size * 100, linewidth=1.6, label=f"{rate}/s")
        points = next((run["series"] for run in group["runs"] if run.get("series")), [])
        if points:
            xs, ys = zip(*points, strict=False)
            series.scatter(xs, np.maximum(ys, 0.1), s=3, alpha=0.5, label=f"{rate}/s (first run)")
    hist.set(xscale="log", xlabel="latency, ms (log)", ylabel="notifications", title="produce → result latency")
    cdf.set(
        xscale="log",
        xlabel="latency, ms (log)",
        ylabel="percent of notifications at or below",
        title="cumulative distribution",
    )
    series.set(
        yscale="log", xlabel="seconds since the first send", ylabel="latency, ms (log)", title="latency over the run"
    )
    series.legend(fontsize=8, markerscale=3)
    for p in (50, 95, 99):
        cdf.axhline(p, color="grey", linewidth=0.6, linestyle=":")
    hist.legend(fontsize=8)
    cdf.legend(fontsize=8, loc="lower right")
    cdf.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

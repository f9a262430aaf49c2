"""Observability: Prometheus metrics, health and readiness, OpenTelemetry traces.

Everything here is safe to import anywhere (no I/O at import time) and costs nothing when off:
metrics are in-process counters, traces use OpenTelemetry's no-op API until `tracing.configure`
installs a provider.
"""

"""Benchmark harness for the hub (`make bench`): throughput, latency, ceilings, scale.

Not part of the test suite: it measures and reports, it never asserts timings.
"""

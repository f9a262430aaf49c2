"""Fault-injection suite (issue #8): the hub runs as its own process while a private broker or
database of the test's own is stopped, restarted or made read-only under load.

The hub processes are watched as in the e2e suite: a test fails on an ERROR record it did not
expect (its fixtures are imported from tests/e2e/conftest.py, so both suites share one rule).
"""

from __future__ import annotations

from tests.e2e.conftest import hub_logs_at_module_end, hub_logs_without_errors

__all__ = ["hub_logs_at_module_end", "hub_logs_without_errors"]

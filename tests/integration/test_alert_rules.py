"""The alert rules and the Grafana dashboard, checked against promtool and the metric catalogue.

No Kafka or PostgreSQL: promtool comes from Debian's prometheus package, fetched once by
deploy/local/promtool.sh into .local/tools/. The drift tests read the metric names the rules and
the dashboard use and look each up among the names hub.observability.metrics.REGISTRY exposes,
so a renamed or misspelt metric fails here rather than as an alert that silently never fires.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from hub.observability.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PROMTOOL_SH = ROOT / "deploy" / "local" / "promtool.sh"
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yaml"
ALERT_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "hub-dashboard.json"
README = ROOT / "README.md"
RUNBOOK = "README.md#operating-the-hub"
FETCH_SECONDS = 600  # a fresh machine may need `apt-get update` before the download

# Samples prometheus-client exposes for a metric family, by the family's type.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}
NOT_METRICS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "offset", "bool", "inf", "nan", "atan2",
}  # fmt: skip


# --- promtool ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def promtool() -> Path:
    done = subprocess.run(
        ["bash", str(PROMTOOL_SH), "path"], capture_output=True, text=True, timeout=FETCH_SECONDS, check=False
    )
    assert done.returncode == 0, f"deploy/local/promtool.sh path failed:\n{done.stderr}"
    path = Path(done.stdout.strip())
    assert path.is_file(), f"promtool.sh printed {done.stdout!r}, not a file"
    return path


def run_promtool(promtool: Path, *args: str) -> None:
    done = subprocess.run([str(promtool), *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"promtool {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.timeout(FETCH_SECONDS)
def test_alert_rules_are_valid(promtool):
    run_promtool(promtool, "check", "rules", str(ALERTS.relative_to(ROOT)))


@pytest.mark.timeout(FETCH_SECONDS)
def test_alert_rules_pass_their_unit_tests(promtool):
    run_promtool(promtool, "test", "rules", str(ALERT_TESTS.relative_to(ROOT)))


@pytest.mark.timeout(FETCH_SECONDS)
def test_dashboard_queries_are_valid_promql(promtool, tmp_path):
    """Grafana's variables replaced by plain values, each query must parse as a recording rule."""
    rules = [
        {"record": f"hub_dashboard_check_{i}", "expr": _as_promql(expr)} for i, expr in enumerate(dashboard_queries())
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool(promtool, "check", "rules", str(path))


def _as_promql(expr: str) -> str:
    expr = expr.replace("$__rate_interval", "1m").replace("$__range", "6h")
    return re.sub(r"\$\{?\w+\}?", ".*", expr)


# --- the rules' own shape ----------------------------------------------------------------------------


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_says_how_bad_what_it_means_and_where_the_runbook_is():
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        name = rule["alert"]
        assert rule.get("labels", {}).get("severity") in {"warning", "critical"}, name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary", "").strip(), f"{name} has no summary"
        assert len(annotations.get("description", "")) > 80, f"{name} has no real description"
        assert annotations.get("runbook") == RUNBOOK, name
    assert "\n## Operating the hub\n" in README.read_text(), "the runbook section is missing from README.md"


def test_every_alert_has_a_firing_and_a_quiet_unit_test():
    cases = [case for group in yaml.safe_load(ALERT_TESTS.read_text())["tests"] for case in group["alert_rule_test"]]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fires == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown staying quiet"
    assert (fires | quiet) - names == set(), "tests of alerts that do not exist"


# --- drift: names used against names exposed -----------------------------------------------------------


def exposed_names(registry: CollectorRegistry) -> set[str]:
    """Every sample name the registry can expose, whether or not a labelled metric has children yet."""
    return {family.name + suffix for family in registry.collect() for suffix in SUFFIXES[family.type]}


def known_names() -> set[str]:
    faststream = CollectorRegistry()
    KafkaPrometheusMiddleware(registry=faststream, app_name="hub")  # registers FastStream's metrics
    return exposed_names(REGISTRY) | exposed_names(faststream) | {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (strings, label matchers, ranges, grouping
    label lists and Grafana variables removed; functions are names followed by a parenthesis)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)
    names = re.findall(r"(?<![\w.:])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()", text)
    return {name for name in names if name.lower() not in NOT_METRICS}


def unknown_names(expressions: list[str], known: set[str]) -> dict[str, set[str]]:
    found = {}
    for expr in expressions:
        names = metric_names(expr)
        assert names, f"no metric found in {expr!r}: the name check would pass vacuously"
        if names - known:
            found[expr] = names - known
    return found


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in _panels(board["panels"]) for target in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            text = query["query"] if isinstance(query, dict) else query
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", text.strip())
            queries.append(match.group(1) if match else text)
    return queries


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def test_alert_rules_use_only_catalogued_metrics():
    assert unknown_names([rule["expr"] for rule in alert_rules()], known_names()) == {}


def test_dashboard_uses_only_catalogued_metrics():
    queries = dashboard_queries()
    assert len(queries) >= 30
    assert unknown_names(queries, known_names()) == {}


def test_dashboard_takes_its_data_source_from_a_variable():
    board = json.loads(DASHBOARD.read_text())
    assert 36 <= board["schemaVersion"] <= 41
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    for panel in _panels(board["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]


def test_the_name_check_finds_a_misspelt_or_unknown_metric():
    known = known_names()
    assert metric_names(
        'histogram_quantile(0.95, sum by (le) (rate(hub_result_age_seconds_bucket{job=~"$job"}[$__rate_interval])))'
    ) == {"hub_result_age_seconds_bucket"}
    assert metric_names('max without (instance) (x{a="b"}) > 2 and on (topic) y offset 1d unless z') == {"x", "y", "z"}
    assert unknown_names(["sum(rate(hub_dead_leters_total[5m]))"], known) == {
        "sum(rate(hub_dead_leters_total[5m]))": {"hub_dead_leters_total"}
    }
    assert unknown_names(["hub_outbox_oldest_age_seconds_total > 0"], known) != {}  # a gauge has no _total
    assert unknown_names(["hub_dead_letters > 0"], known) != {}  # a counter is exposed with _total
    assert unknown_names(['rate(faststream_received_messages_total{app_name="hub"}[1m])'], known) == {}

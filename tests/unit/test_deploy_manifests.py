"""The Kubernetes manifests agree with the hub: probes on the paths and port it serves, every file
kustomize lists exists, every YAML file under deploy/ parses, and the owner role's credentials and
the audit anchors' key reach only the pods that need them."""

from __future__ import annotations

from pathlib import Path

import yaml

from hub.config import Settings
from hub.observability.web import create_ops_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests(kind: str) -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in documents(path) if doc.get("kind") == kind]


def hub_container() -> dict:
    (deployment,) = [d for d in manifests("Deployment") if d["metadata"]["name"] == "hub"]
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "hub"]
    return container


def test_every_yaml_file_under_deploy_parses():
    files = sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])
    assert files
    for path in files:
        assert documents(path) is not None, path


def test_probes_use_the_paths_the_hub_serves_on_its_metrics_port():
    served = {route.path for route in create_ops_app(None).routes}
    container = hub_container()
    probes = {name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probes["livenessProbe"]["path"] == "/healthz"
    assert probes["startupProbe"]["path"] == "/healthz"
    assert probes["readinessProbe"]["path"] == "/readyz"
    for probe in probes.values():
        assert probe["port"] == "metrics"
        assert probe["path"] in served
    assert "/metrics" in served


def test_the_metrics_port_is_the_one_the_hub_is_configured_to_listen_on():
    (config,) = [c for c in manifests("ConfigMap") if c["metadata"]["name"] == "hub-config"]
    settings = Settings.model_validate(
        {key.removeprefix("HUB_").lower(): value for key, value in config["data"].items() if key.startswith("HUB_")}
    )
    (port,) = [p for p in hub_container()["ports"] if p["name"] == "metrics"]
    assert port["containerPort"] == settings.metrics_port
    assert settings.metrics_host == "0.0.0.0"
    template = next(d for d in manifests("Deployment") if d["metadata"]["name"] == "hub")["spec"]["template"]
    assert template["metadata"]["annotations"]["prometheus.io/port"] == str(settings.metrics_port)
    (service,) = [s for s in manifests("Service") if s["metadata"]["name"] == "hub"]
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    (monitor,) = manifests("ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]


def test_kustomizations_list_only_files_that_exist():
    for kustomization in DEPLOY.rglob("kustomization.yaml"):
        spec = documents(kustomization)[0]
        listed = list(spec.get("resources", []))
        listed += [f for generator in spec.get("configMapGenerator", []) for f in generator.get("files", [])]
        assert listed, kustomization
        for name in listed:
            assert (kustomization.parent / name).exists(), f"{kustomization} lists {name}, which does not exist"


def _pod_secrets(spec: dict) -> set[str]:
    containers = spec["containers"]
    found = {ref["secretRef"]["name"] for c in containers for ref in c.get("envFrom", []) if "secretRef" in ref}
    return found | {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}


def test_only_the_migrate_job_holds_the_owner_role_and_only_the_anchoring_job_the_audit_key():
    pods = {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]["spec"]
        for kind in ("Deployment", "Job")
        for doc in manifests(kind)
    }
    pods |= {
        f"CronJob/{c['metadata']['name']}": c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for c in manifests("CronJob")
    }
    holders = {name: _pod_secrets(spec) for name, spec in pods.items()}
    assert {name for name, found in holders.items() if "hub-db-owner" in found} == {"Job/hub-migrate"}
    assert {name for name, found in holders.items() if "hub-audit-key" in found} == {"CronJob/hub-audit-anchor"}
    assert all("hub-db" in found for found in holders.values())


def test_the_console_runs_in_its_own_pods_probed_on_a_page_it_serves_without_a_session():
    from hub.console.app import create_console_app

    (deployment,) = [d for d in manifests("Deployment") if d["metadata"]["name"] == "hub-console"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "console"
    port = int(container["args"][container["args"].index("--port") + 1])
    assert [p["containerPort"] for p in container["ports"]] == [port]
    app = create_console_app(None)
    for probe in ("readinessProbe", "livenessProbe"):
        path = container[probe]["httpGet"]["path"]
        assert app.url_path_for("signin_page") == path  # the sign-in page: answered without a session
    (service,) = [s for s in manifests("Service") if s["metadata"]["name"] == "hub-console"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert {"name": "HUB_CONSOLE_PORT", "value": "0"} in hub_container()["env"]  # not also in the hub's pods
    assert "console.yaml" in (K8S / "kustomization.yaml").read_text()

"""The Kubernetes manifests agree with the hub: probes on the paths and port it serves, every file
kustomize lists exists, every YAML file under deploy/ parses, and the owner role's credentials and
the audit anchors' key reach only the pods that need them. Kafka's deploy files (the production
broker settings, Strimzi's KafkaUsers and KafkaTopics, compose's setup) grant exactly the ACLs
hub/service/broker_policy.py defines and listen with nothing but TLS and SCRAM."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from hub.config import Settings, Topics
from hub.observability.web import create_ops_app
from hub.service.broker_policy import (
    CLUSTER_NAME,
    Acl,
    Operation,
    Pattern,
    Permission,
    Resource,
    hospital_acls,
    hospital_username,
    hub_consumer_acls,
    principal,
    relay_acls,
)
from hub.service.topic_layout import topic_specs

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


# --- Kafka: the deploy files secure it as the code expects (issue #9) ---------------------------

KAFKA = DEPLOY / "kafka"
STRIMZI = KAFKA / "strimzi"
_STRIMZI_RESOURCES = {
    "topic": Resource.TOPIC,
    "group": Resource.GROUP,
    "cluster": Resource.CLUSTER,
    "transactionalId": Resource.TRANSACTIONAL_ID,
}
_STRIMZI_PATTERNS = {"literal": Pattern.LITERAL, "prefix": Pattern.PREFIXED}


def _operation(name: str) -> Operation:
    """Kafka's operation names as Strimzi and kafka-acls.sh write them: Read, DescribeConfigs, ..."""
    return Operation(re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower())


def strimzi(kind: str) -> dict[str, dict]:
    found = [doc for path in sorted(STRIMZI.glob("*.yaml")) for doc in documents(path) if doc["kind"] == kind]
    return {doc["metadata"]["name"]: doc for doc in found}


def strimzi_acls(user: dict) -> list[Acl]:
    """A KafkaUser's ACLs as broker_policy writes them (Strimzi's default host is any host)."""
    who = principal(user["metadata"]["name"])
    acls = []
    for rule in user["spec"].get("authorization", {}).get("acls", []):
        resource = rule["resource"]
        assert rule.get("host", "*") == "*"
        kind = _STRIMZI_RESOURCES[resource["type"]]
        name = resource.get("name", CLUSTER_NAME)
        pattern = _STRIMZI_PATTERNS[resource.get("patternType", "literal")]
        permission = Permission(rule.get("type", "allow"))
        acls += [Acl(who, kind, pattern, name, _operation(op), permission) for op in rule["operations"]]
    return sorted(acls)


def broker_settings() -> dict[str, str]:
    lines = (KAFKA / "server.properties").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    settings = {key.strip(): value.strip() for key, value in pairs}
    assert len(settings) == len(pairs), "a key is set twice"
    return settings


def compose() -> dict:
    return documents(DEPLOY / "compose.yaml")[0]


def compose_script(service: str) -> str:
    """A one-shot service's bash script as it runs ($$ is compose's escape of $)."""
    return compose()["services"][service]["command"][0].replace("$$", "$")


def compose_calls(service: str, function: str) -> list[list[str]]:
    """The arguments of every call of a shell function of the service's script."""
    lines = compose_script(service).splitlines()
    return [shlex.split(line)[1:] for line in lines if re.match(rf"\s*{function}\s+[^(]", line)]


def test_the_strimzi_users_of_the_hub_have_exactly_the_acls_of_the_broker_policy():
    users, settings, topics = strimzi("KafkaUser"), Settings(), Topics()
    consumer, relay = users[settings.kafka_username], users[settings.kafka_relay_username]
    assert strimzi_acls(consumer) == sorted(hub_consumer_acls(topics, settings.consumer_group, settings.kafka_username))
    assert strimzi_acls(relay) == sorted(relay_acls(topics, settings.kafka_relay_username))
    admin = users[settings.kafka_admin_username]
    assert "authorization" not in admin["spec"], "hub-admin is a super user, with no ACLs of its own"
    (kafka,) = strimzi("Kafka").values()
    authorization = kafka["spec"]["kafka"]["authorization"]
    assert authorization == {"type": "simple", "superUsers": [settings.kafka_admin_username]}
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]


def test_the_hospital_template_is_what_hub_hospitals_add_makes():
    (user,) = [u for name, u in strimzi("KafkaUser").items() if name.startswith("hospital-")]
    org_id = user["metadata"]["name"].removeprefix("hospital-")
    topics = Topics()
    assert user["metadata"]["name"] == hospital_username(org_id)
    assert strimzi_acls(user) == sorted(hospital_acls(topics, org_id))
    assert user["spec"]["authentication"]["password"]["valueFrom"]["secretKeyRef"]["key"] == "password"
    declared = {
        t["spec"]["topicName"]: (t["spec"]["partitions"], t["spec"].get("config", {}))
        for t in strimzi("KafkaTopic").values()
    }
    made = topic_specs(topics, [org_id], 1, Settings().hospital_partitions)
    expected = {s.name: (s.partitions, dict(s.config)) for s in made if s.name in topics.of_hospital(org_id)}
    assert declared == expected
    assert declared[topics.notifications_of(org_id)][1] == {"message.timestamp.type": "LogAppendTime"}


def test_the_strimzi_cluster_listens_only_with_tls_and_scram_and_hands_the_hub_its_secrets():
    (kafka,) = strimzi("Kafka").values()
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners
    for listener in listeners:
        assert listener["tls"] is True
        assert listener["authentication"] == {"type": "scram-sha-512"}
    assert kafka["spec"]["kafka"]["config"]["allow.everyone.if.no.acl.found"] is False
    operator = kafka["spec"]["entityOperator"]["userOperator"]
    namespaces = {
        doc["metadata"]["namespace"] for kind in ("KafkaUser", "KafkaTopic") for doc in strimzi(kind).values()
    }
    assert namespaces == {operator["watchedNamespace"]} == {"hub"}
    (config,) = [c for c in manifests("ConfigMap") if c["metadata"]["name"] == "hub-config"]
    host, port = config["data"]["HUB_KAFKA_BOOTSTRAP"].rsplit(":", 1)
    (tls,) = [item for item in listeners if item["type"] == "internal"]
    assert host == f"{kafka['metadata']['name']}-kafka-bootstrap.{kafka['metadata']['namespace']}.svc"
    assert int(port) == tls["port"]
    for key in ("HUB_KAFKA_USERNAME", "HUB_KAFKA_RELAY_USERNAME", "HUB_KAFKA_ADMIN_USERNAME"):
        assert config["data"][key] in strimzi("KafkaUser")
    # The pods read each password from the Secret the User Operator writes for that KafkaUser.
    prefix, refs = operator["secretPrefix"], _secret_refs(hub_container())
    assert refs["HUB_KAFKA_PASSWORD"] == prefix + config["data"]["HUB_KAFKA_USERNAME"]
    assert refs["HUB_KAFKA_RELAY_PASSWORD"] == prefix + config["data"]["HUB_KAFKA_RELAY_USERNAME"]


def _secret_refs(container: dict) -> dict[str, str]:
    """Environment variable -> the Secret it is read from (secretKeyRef, key `password`)."""
    refs = {}
    for variable in container.get("env", []):
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] == "password"
            refs[variable["name"]] = ref["name"]
    return refs


def test_the_kafka_passwords_and_ca_reach_only_the_pods_that_use_them():
    pods = {f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"] for d in manifests("Deployment")}
    pods |= {f"Job/{d['metadata']['name']}": d["spec"]["template"]["spec"] for d in manifests("Job")}
    pods |= {
        f"CronJob/{c['metadata']['name']}": c["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for c in manifests("CronJob")
    }
    read = {name: {v for c in spec["containers"] for v in _secret_refs(c).values()} for name, spec in pods.items()}
    holders = {
        secret: {name for name, found in read.items() if secret in found} for secret in ("kafka-hub", "kafka-hub-relay")
    }
    assert holders == {"kafka-hub": {"Deployment/hub", "Deployment/hub-console"}, "kafka-hub-relay": {"Deployment/hub"}}
    assert not any("kafka-hub-admin" in found for found in read.values()), "the admin's password is in no pod"
    (config,) = [c for c in manifests("ConfigMap") if c["metadata"]["name"] == "hub-config"]
    ca_folder = str(Path(config["data"]["HUB_KAFKA_CA_FILE"]).parent)
    for name in ("Deployment/hub", "Deployment/hub-console"):
        spec = pods[name]
        volumes = {v["name"]: v for v in spec["volumes"]}
        (mount,) = [m for c in spec["containers"] for m in c["volumeMounts"] if m["mountPath"] == ca_folder]
        assert volumes[mount["name"]]["secret"]["secretName"] == "kafka-cluster-ca-cert"
    assert "HUB_KAFKA_ADMIN_PASSWORD" not in {v["name"] for c in pods["Deployment/hub"]["containers"] for v in c["env"]}


def test_the_production_broker_has_no_plaintext_listener_and_refuses_what_no_acl_allows():
    settings = broker_settings()
    protocols = dict(item.split(":") for item in settings["listener.security.protocol.map"].split(","))
    assert set(protocols.values()) <= {"SSL", "SASL_SSL"}
    assert "PLAINTEXT" not in (KAFKA / "server.properties").read_text()
    assert protocols[settings["controller.listener.names"]] == "SSL"
    assert settings["listener.name.controller.ssl.client.auth"] == "required"
    assert protocols[settings["inter.broker.listener.name"]] == "SASL_SSL"
    assert settings["sasl.enabled.mechanisms"] == settings["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert settings["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert settings["allow.everyone.if.no.acl.found"] == "false"
    assert set(settings["super.users"].split(";")) == {"User:broker", principal(Settings().kafka_admin_username)}
    assert set(settings["ssl.enabled.protocols"].split(",")) <= {"TLSv1.3", "TLSv1.2"}
    assert settings["ssl.principal.mapping.rules"].startswith("RULE:")
    assert int(settings["connections.max.reauth.ms"]) > 0
    # No secret in the file: passwords come from the mounted secrets folder.
    assert settings["ssl.keystore.password"].startswith("${secrets:")
    assert 'password="${secrets:' in settings["listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config"]


def test_the_topics_file_lists_the_hubs_own_topics_as_compose_creates_them():
    declared = documents(KAFKA / "topics.yaml")[0]
    topics = {t["name"]: (t["partitions"], t["config"]) for t in declared["topics"]}
    assert set(topics) == set(Topics().all())
    created = {}
    for name, partitions, *configs in compose_calls("kafka-setup", "create"):
        config = {"min.insync.replicas": "2", "cleanup.policy": "delete"}  # what create() always adds
        config |= dict(c.split("=", 1) for c in configs)
        created[name] = (int(partitions), config)
    assert created == topics


def test_compose_grants_the_hubs_principals_exactly_the_acls_of_the_broker_policy():
    settings, topics = Settings(), Topics()
    granted = sorted(
        Acl(principal(who), Resource(kind), Pattern(pattern), name, _operation(op))
        for who, kind, pattern, name, *ops in compose_calls("kafka-setup", "grant")
        for op in ops
    )
    expected = hub_consumer_acls(topics, settings.consumer_group, settings.kafka_username) + relay_acls(
        topics, settings.kafka_relay_username
    )
    assert granted == sorted(expected)
    users = [call[0] for call in compose_calls("kafka-setup", "scram")]
    assert users == [settings.kafka_admin_username, settings.kafka_username, settings.kafka_relay_username]


def test_compose_runs_kafka_without_plaintext_and_gives_each_service_only_its_secrets():
    text = (DEPLOY / "compose.yaml").read_text()
    assert "PLAINTEXT" not in text
    services = compose()["services"]
    # Compose substitutes a lone $ in a script (and refuses ${secrets:...}): every $ is written $$.
    for script in [services[name]["command"][0] for name in ("kafka-pki", "kafka-setup")]:
        assert "$" not in script.replace("$$", ""), "an unescaped $ in a compose script"
    assert "$" not in compose()["x-kafka-node"]["command"][0].replace("$$", "")
    mounted = {
        name: {v.split(":")[0] for v in service.get("volumes", []) if not v.startswith(".")}
        for name, service in services.items()
    }
    holders = {volume: {n for n, found in mounted.items() if volume in found} for volume in compose()["volumes"]}
    assert holders["kafka-ca"] == {"kafka-pki"}
    assert holders["kafka-broker-secrets"] == {"kafka-pki", "kafka-1", "kafka-2", "kafka-3", "kafka-setup"}
    assert holders["kafka-hub-secrets"] == {"kafka-pki", "kafka-setup", "hub", "hub-console"}
    assert holders["kafka-admin-secrets"] == {"kafka-pki", "kafka-setup", "hub-admin"}
    environment = compose()["x-hub-env"]
    settings = Settings()
    assert environment["HUB_KAFKA_USERNAME"] == settings.kafka_username
    assert environment["HUB_KAFKA_RELAY_USERNAME"] == settings.kafka_relay_username
    pki = compose_script("kafka-pki")
    for username in (settings.kafka_username, settings.kafka_relay_username, settings.kafka_admin_username):
        assert f"/{username}.password" in pki  # HUB_KAFKA_SECRETS_DIR/<username>.password, as the settings read it
    for service in ("hub", "hub-console", "hub-admin"):
        assert f"{environment['HUB_KAFKA_SECRETS_DIR']}:ro" in " ".join(services[service]["volumes"])

"""deploy/kubernetes/afissue.yaml: Deployments that run the image's real commands with
known settings, probes on real endpoints, an HPA on CPU for ingest, and PDBs."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.compose import (
    ROOT,
    dockerfile_instructions,
    ingest_settings_classes,
    known_env_names,
)

MANIFEST = ROOT / "deploy" / "kubernetes" / "afissue.yaml"


def _documents() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if d]


def _one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _container(deployment: str) -> dict[str, Any]:
    (container,) = _one("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def _env_names(deployment: str) -> set[str]:
    container = _container(deployment)
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(_one("ConfigMap", source["configMapRef"]["name"])["data"])
        if source.get("secretRef", {}).get("name") == "afissue-secrets":
            # Created with kubectl (see the manifest's header): the session key only.
            names.add("AFISSUE_SECRET_KEY")
        # afissue-alert-secrets holds the variables the rules file's secret_env /
        # password_env name: the user's names, read by no settings object.
    return names


def _env_value(deployment: str, name: str) -> str:
    return str(next(e["value"] for e in _container(deployment)["env"] if e["name"] == name))


def _port(container: dict[str, Any], name: str) -> int:
    return int(next(p["containerPort"] for p in container["ports"] if p["name"] == name))


def _pod_labels(deployment: str) -> dict[str, str]:
    labels: dict[str, str] = _one("Deployment", deployment)["spec"]["template"]["metadata"]["labels"]
    return labels


DEPLOYMENTS = ["afissue-ingest", "afissue-consumer", "afissue-notifier"]


class TestDeployments:
    @pytest.mark.parametrize(
        ("deployment", "command"),
        [("afissue-ingest", "ingest"), ("afissue-consumer", "consumer"),
         ("afissue-notifier", "notifier")],
    )
    def test_runs_a_cli_subcommand(self, deployment: str, command: str) -> None:
        """The container's args are an `afissue` subcommand the CLI parser accepts."""
        from afissue.cli import _parser

        args = _container(deployment)["args"]
        assert _parser().parse_args(args).command == command

    @pytest.mark.parametrize("deployment", DEPLOYMENTS)
    def test_runs_as_the_image_user(self, deployment: str) -> None:
        """Pods run as non-root with the uid the Dockerfile creates, without privilege escalation."""
        spec = _one("Deployment", deployment)["spec"]["template"]["spec"]
        (user,) = [a for n, a in dockerfile_instructions() if n == "USER"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert str(spec["securityContext"]["runAsUser"]) == user.split(":")[0]
        assert _container(deployment)["securityContext"]["allowPrivilegeEscalation"] is False

    def test_ingest_sets_only_known_settings(self) -> None:
        """Every variable the ingest pods get is an IngestSettings or UISettings variable."""
        known = known_env_names(*ingest_settings_classes())
        assert _env_names("afissue-ingest") - known == set()

    def test_consumer_sets_only_known_settings(self) -> None:
        """Every variable the consumer pods get is a ConsumerSettings variable."""
        from consumer.settings import ConsumerSettings

        assert _env_names("afissue-consumer") - known_env_names(ConsumerSettings) == set()

    def test_notifier_sets_only_known_settings(self) -> None:
        """Every variable the notifier pods get is a NotifierSettings variable."""
        from notifier.settings import NotifierSettings

        assert _env_names("afissue-notifier") - known_env_names(NotifierSettings) == set()

    def test_consumers_and_notifiers_read_the_same_rules(self) -> None:
        """Both mount the alerts ConfigMap where AFISSUE_ALERTS_FILE points."""
        for deployment in ("afissue-consumer", "afissue-notifier"):
            path = _env_value(deployment, "AFISSUE_ALERTS_FILE")
            mounts = {m["name"]: m["mountPath"] for m in _container(deployment)["volumeMounts"]}
            volumes = {
                v["name"]: v for v in
                _one("Deployment", deployment)["spec"]["template"]["spec"]["volumes"]
            }
            assert path.startswith(mounts["alerts"] + "/")
            assert volumes["alerts"]["configMap"]["name"] == "afissue-alerts"

    def test_no_emulator_in_production(self) -> None:
        """The manifest never points at the Firestore emulator."""
        for deployment in DEPLOYMENTS:
            assert "FIRESTORE_EMULATOR_HOST" not in _env_names(deployment)


class TestProbes:
    def test_ingest_probes_hit_real_endpoints(self) -> None:
        """Readiness is /api/health/ready and liveness /api/health/live, both routes of the app."""
        from flask import Flask

        from ingest_service import health

        app = Flask("probe-check")
        app.register_blueprint(health.bp)
        routes = {rule.rule for rule in app.url_map.iter_rules()}
        container = _container("afissue-ingest")
        ready = container["readinessProbe"]["httpGet"]["path"]
        live = container["livenessProbe"]["httpGet"]["path"]
        assert (ready, live) == ("/api/health/ready", "/api/health/live")
        assert {ready, live} <= routes

    def test_ingest_probes_use_the_served_port(self) -> None:
        """The probes' named port is the port gunicorn binds (AFISSUE_INGEST_PORT)."""
        container = _container("afissue-ingest")
        assert container["readinessProbe"]["httpGet"]["port"] == "http"
        assert _port(container, "http") == int(_env_value("afissue-ingest", "AFISSUE_INGEST_PORT"))

    def test_notifier_liveness_uses_the_metrics_port(self) -> None:
        """The notifier's liveness probe calls /metrics on AFISSUE_NOTIFIER_METRICS_PORT."""
        container = _container("afissue-notifier")
        probe = container["livenessProbe"]["httpGet"]
        assert probe["path"] == "/metrics"
        port = _port(container, probe["port"])
        assert port == int(_env_value("afissue-notifier", "AFISSUE_NOTIFIER_METRICS_PORT"))

    def test_consumer_liveness_uses_the_metrics_port(self) -> None:
        """The consumer's liveness probe calls /metrics on AFISSUE_CONSUMER_METRICS_PORT."""
        container = _container("afissue-consumer")
        probe = container["livenessProbe"]["httpGet"]
        port = _port(container, probe["port"])
        assert probe["path"] == "/metrics"
        assert port == int(_env_value("afissue-consumer", "AFISSUE_CONSUMER_METRICS_PORT"))


class TestScaling:
    def test_ingest_autoscales_on_cpu(self) -> None:
        """An HPA scales the ingest Deployment on CPU utilisation."""
        hpa = _one("HorizontalPodAutoscaler", "afissue-ingest")["spec"]
        assert hpa["scaleTargetRef"]["name"] == "afissue-ingest"
        assert [m["resource"]["name"] for m in hpa["metrics"]] == ["cpu"]
        assert "cpu" in _container("afissue-ingest")["resources"]["requests"]

    def test_consumers_do_not_exceed_partitions(self) -> None:
        """Consumer replicas stay within the partition count deploy/create-topics.sh creates."""
        script = (ROOT / "deploy" / "create-topics.sh").read_text()
        partitions = int(script.split('ISSUES_PARTITIONS="${ISSUES_PARTITIONS:-')[1].split("}")[0])
        assert _one("Deployment", "afissue-consumer")["spec"]["replicas"] <= partitions

    @pytest.mark.parametrize("deployment", DEPLOYMENTS)
    def test_each_deployment_has_a_disruption_budget(self, deployment: str) -> None:
        """A PodDisruptionBudget selects each Deployment's pods."""
        budgets = [d for d in _documents() if d["kind"] == "PodDisruptionBudget"]
        labels = _pod_labels(deployment)
        assert any(
            b["spec"]["selector"]["matchLabels"].items() <= labels.items() for b in budgets
        )

    def test_consumers_are_evicted_one_at_a_time(self) -> None:
        """The consumers' budget allows one disruption at a time (each is a rebalance)."""
        assert _one("PodDisruptionBudget", "afissue-consumer")["spec"]["maxUnavailable"] == 1

    def test_consumers_get_time_to_flush(self) -> None:
        """The termination grace period leaves a consumer time to flush and commit."""
        spec = _one("Deployment", "afissue-consumer")["spec"]["template"]["spec"]
        assert spec["terminationGracePeriodSeconds"] >= 30

    def test_service_selects_the_ingest_pods(self) -> None:
        """The Service routes to the ingest pods' named http port."""
        service = _one("Service", "afissue-ingest")["spec"]
        assert service["selector"].items() <= _pod_labels("afissue-ingest").items()
        assert service["ports"][0]["targetPort"] == "http"

"""docker-compose.yml: the services, their health checks, persistence, Kafka in KRaft mode,
topic creation, two consumers, and environment variables the settings objects know."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from afissue.services import FirestoreEmulator, free_port
from tests.deploy.compose import (
    ROOT,
    MissingVariable,
    ingest_settings_classes,
    interpolate,
    known_env_names,
    load_compose,
    raw_environment,
    service_environment,
    services,
    volume_source,
)

LONG_RUNNING = ("kafka", "redis", "firestore", "ingest", "consumer", "notifier")
AFISSUE_SERVICES = ("ingest", "consumer")


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else [str(part) for part in command]


def _replicas(service: dict[str, Any]) -> int:
    return int((service.get("deploy") or {}).get("replicas", 1))


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


class TestComposeFile:
    def test_declares_every_component(self) -> None:
        """Kafka, topic creation, Redis, the Firestore emulator, ingest and consumers are all there."""
        assert set(services()) >= {"kafka", "kafka-topics", *LONG_RUNNING}

    def test_every_long_running_service_has_a_healthcheck(self) -> None:
        """Each service that stays up declares a health check with a test command."""
        missing = [name for name in LONG_RUNNING if not services()[name].get("healthcheck")]
        assert missing == []

    def test_afissue_services_wait_for_healthy_dependencies(self) -> None:
        """Ingest and consumers start after the topics exist and Redis and Firestore are healthy."""
        expected = {
            "kafka-topics": "service_completed_successfully",
            "redis": "service_healthy",
            "firestore": "service_healthy",
        }
        for name in AFISSUE_SERVICES:
            depends = services()[name]["depends_on"]
            assert {dep: depends[dep]["condition"] for dep in expected} == expected, name

    def test_afissue_services_are_built_from_the_dockerfile(self) -> None:
        """Ingest and consumer run the image built from this repository's Dockerfile."""
        for name in AFISSUE_SERVICES:
            build = services()[name]["build"]
            context = build if isinstance(build, str) else build["context"]
            assert (ROOT / context / "Dockerfile").resolve() == ROOT / "Dockerfile", name


class TestKafka:
    def test_uses_the_official_apache_kafka_image(self) -> None:
        """The broker is Apache Kafka's own image, not a repackaging."""
        assert services()["kafka"]["image"].startswith("apache/kafka:")

    def test_runs_in_kraft_mode_without_zookeeper(self) -> None:
        """One node is broker and controller, with a controller quorum and no ZooKeeper."""
        env = service_environment("kafka")
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
        assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in env["KAFKA_LISTENERS"]
        assert not any("ZOOKEEPER" in key for key in env)

    def test_advertises_the_address_the_afissue_services_use(self) -> None:
        """The in-compose advertised listener is exactly AFISSUE_KAFKA_BOOTSTRAP of ingest and consumers."""
        advertised = service_environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]
        addresses = {item.split("://", 1)[1] for item in advertised.split(",")}
        for name in AFISSUE_SERVICES:
            assert service_environment(name)["AFISSUE_KAFKA_BOOTSTRAP"] in addresses, name

    def test_publishes_a_listener_advertised_for_the_host(self) -> None:
        """A listener advertised as localhost is published on the same host port."""
        advertised = service_environment("kafka")["KAFKA_ADVERTISED_LISTENERS"]
        host_ports = [
            item.rsplit(":", 1)[1] for item in advertised.split(",") if "//localhost:" in item
        ]
        published = {str(port).split(":")[0] for port in services()["kafka"]["ports"]}
        assert host_ports and set(host_ports) <= published

    def test_keeps_its_log_on_a_named_volume(self) -> None:
        """The log directory is a named volume, so a restart keeps the topics' data."""
        log_dir = service_environment("kafka")["KAFKA_LOG_DIRS"]
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in services()["kafka"]["volumes"]}
        assert mounts[log_dir] in (load_compose()["volumes"] or {})

    def test_does_not_create_topics_on_first_use(self) -> None:
        """Auto-creation is off, so a typo in a topic name fails loudly instead of making a 1-partition topic."""
        assert service_environment("kafka")["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"


def _run_create_topics(tmp_path: Path, stub_exit: int = 0) -> tuple[int, list[list[str]]]:
    """Run deploy/create-topics.sh with the compose service's environment and a stub
    kafka-topics.sh that records its arguments."""
    record = tmp_path / "calls"
    stub = tmp_path / "kafka-topics.sh"
    stub.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{record}"\nexit {stub_exit}\n', encoding="utf-8"
    )
    stub.chmod(0o755)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KAFKA_TOPICS": str(stub),
        **service_environment("kafka-topics"),
    }
    script = volume_source("kafka-topics", "/deploy/create-topics.sh")
    proc = subprocess.run(
        ["bash", str(script)], check=False, env=env, capture_output=True, timeout=30
    )
    calls = [line.split() for line in record.read_text().splitlines()] if record.exists() else []
    return proc.returncode, calls


def _option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


class TestTopicCreation:
    def test_is_a_one_shot_service_of_the_kafka_image(self) -> None:
        """Topic creation runs kafka-topics.sh from the broker's own image once Kafka is healthy."""
        topics = services()["kafka-topics"]
        assert topics["image"] == services()["kafka"]["image"]
        assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert topics.get("restart", "no") == "no"

    def test_creates_the_issues_topic_and_its_dead_letter_topic(self, tmp_path: Path) -> None:
        """The script creates the topic the services use, with 12 partitions, and `<topic>.dlq`."""
        code, calls = _run_create_topics(tmp_path)
        assert code == 0
        created = {_option(c, "--topic"): c for c in calls if "--create" in c}
        topic = service_environment("ingest")["AFISSUE_KAFKA_TOPIC"]
        assert set(created) == {topic, f"{topic}.dlq"}
        assert _option(created[topic], "--partitions") == "12"
        assert all("--if-not-exists" in call for call in created.values())

    def test_passes_the_compose_bootstrap_address(self, tmp_path: Path) -> None:
        """Every kafka-topics.sh call goes to the broker's in-compose listener."""
        _, calls = _run_create_topics(tmp_path)
        bootstrap = service_environment("ingest")["AFISSUE_KAFKA_BOOTSTRAP"]
        assert calls and {_option(call, "--bootstrap-server") for call in calls} == {bootstrap}

    def test_fails_when_kafka_topics_fails(self, tmp_path: Path) -> None:
        """A failed creation makes the one-shot service fail, so ingest and consumers do not start."""
        code, _ = _run_create_topics(tmp_path, stub_exit=1)
        assert code != 0


class TestRedis:
    def test_appends_every_write_to_its_log(self) -> None:
        """Redis runs with appendonly yes, so dedup markers survive a restart."""
        command = _command(services()["redis"])
        assert command[command.index("--appendonly") + 1] == "yes"

    def test_keeps_its_data_on_a_named_volume(self) -> None:
        """/data, where the AOF lives, is a named volume."""
        mounts = [str(v).split(":") for v in services()["redis"]["volumes"]]
        assert any(target == "/data" and not source.startswith(".") for source, target, *_ in mounts)


def _run_shell_check(service: str, compose_port: str, local_port: str) -> int:
    """Run *service*'s CMD-SHELL health check with its port swapped for *local_port*."""
    kind, script = services()[service]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    script = script.replace(f":{compose_port}/", f":{local_port}/")
    return subprocess.run(["sh", "-c", script], capture_output=True, timeout=30, check=False).returncode


class TestFirestoreEmulator:
    def test_starts_the_emulator_reachable_from_other_containers(self) -> None:
        """The emulator listens on 0.0.0.0 at the port FIRESTORE_EMULATOR_HOST names."""
        command = _command(services()["firestore"])
        assert command[:4] == ["gcloud", "emulators", "firestore", "start"]
        port = service_environment("consumer")["FIRESTORE_EMULATOR_HOST"].rsplit(":", 1)[1]
        assert f"--host-port=0.0.0.0:{port}" in command

    def test_loads_the_repository_security_rules(self) -> None:
        """The emulator enforces firestore.rules from this repository."""
        command = _command(services()["firestore"])
        rules = next(part.split("=", 1)[1] for part in command if part.startswith("--rules="))
        assert volume_source("firestore", rules) == ROOT / "firestore.rules"

    def test_healthcheck_passes_against_a_running_emulator(
        self, firestore_emulator: FirestoreEmulator
    ) -> None:
        """The emulator's health check command, pointed at a real local emulator, exits 0."""
        assert _run_shell_check("firestore", "8080", firestore_emulator.host_port.rsplit(":")[1]) == 0

    def test_healthcheck_fails_when_nothing_listens(self) -> None:
        """The same command exits non-zero when no emulator answers."""
        assert _run_shell_check("firestore", "8080", str(free_port())) != 0

    def test_services_use_the_emulator_service(self) -> None:
        """Ingest and consumers point FIRESTORE_EMULATOR_HOST at the firestore service."""
        for name in AFISSUE_SERVICES:
            host = service_environment(name)["FIRESTORE_EMULATOR_HOST"].rsplit(":", 1)[0]
            assert host == "firestore", name


class TestIngest:
    def test_runs_afissue_ingest(self) -> None:
        """The ingest service's command is the `ingest` subcommand of the image's entrypoint."""
        assert _command(services()["ingest"])[0] == "ingest"

    def test_publishes_and_checks_the_port_it_serves_on(self) -> None:
        """The port gunicorn binds is the one published and the one the health check calls."""
        env = service_environment("ingest")
        port = env["AFISSUE_INGEST_PORT"]
        assert env["AFISSUE_INGEST_HOST"] == "0.0.0.0"
        assert any(str(p).endswith(f":{port}") for p in services()["ingest"]["ports"])
        assert f"127.0.0.1:{port}/api/health/live" in _healthcheck_text(services()["ingest"])

    def test_authenticates_by_default(self) -> None:
        """With nothing set on the host, AFISSUE_ALLOW_OPEN is false."""
        assert service_environment("ingest")["AFISSUE_ALLOW_OPEN"] == "false"

    def test_open_mode_is_an_explicit_host_choice(self) -> None:
        """AFISSUE_ALLOW_OPEN=true on the host turns open mode on."""
        env = service_environment("ingest", {"AFISSUE_ALLOW_OPEN": "true"})
        assert env["AFISSUE_ALLOW_OPEN"] == "true"

    def test_requires_a_host_chosen_session_key(self) -> None:
        """Compose refuses to start unless the host sets AFISSUE_SECRET_KEY, which the workers share."""
        raw = raw_environment("ingest")["AFISSUE_SECRET_KEY"]
        with pytest.raises(MissingVariable):
            interpolate(raw, {})
        assert service_environment("ingest", {"AFISSUE_SECRET_KEY": "k"})["AFISSUE_SECRET_KEY"] == "k"

    def test_web_ui_is_closed_by_default(self) -> None:
        """With nothing set on the host, the UI needs an operator login."""
        assert service_environment("ingest")["AFISSUE_UI_OPEN"] == "false"

    def test_mounts_an_operators_file_that_parses(self) -> None:
        """AFISSUE_UI_OPERATORS_FILE is a bind mount of deploy/operators, a valid tokens-format file."""
        from ingest_service.tokens import parse_tokens

        path = volume_source("ingest", service_environment("ingest")["AFISSUE_UI_OPERATORS_FILE"])
        assert path == ROOT / "deploy" / "operators"
        assert parse_tokens(path.read_text(encoding="utf-8"), str(path)) == []

    def test_mounts_a_tokens_file_that_parses(self) -> None:
        """AFISSUE_TOKENS_FILE is a bind mount of deploy/tokens, a valid tokens file."""
        from ingest_service.tokens import parse_tokens

        path = volume_source("ingest", service_environment("ingest")["AFISSUE_TOKENS_FILE"])
        assert path.is_file()
        assert parse_tokens(path.read_text(encoding="utf-8"), str(path)) == []


class TestConsumers:
    def test_runs_two_consumers(self) -> None:
        """Two `consumer` containers run in one consumer group."""
        consumers = [s for s in services().values() if _command(s)[:1] == ["consumer"]]
        assert sum(_replicas(s) for s in consumers) == 2

    def test_no_more_consumers_than_partitions(self) -> None:
        """Every consumer can own a partition: replicas do not exceed the topic's partitions."""
        partitions = int(service_environment("kafka-topics")["ISSUES_PARTITIONS"])
        assert _replicas(services()["consumer"]) <= partitions

    def test_health_check_calls_the_metrics_port(self) -> None:
        """The consumer's health check calls /metrics on AFISSUE_CONSUMER_METRICS_PORT."""
        port = service_environment("consumer")["AFISSUE_CONSUMER_METRICS_PORT"]
        assert f"127.0.0.1:{port}/metrics" in _healthcheck_text(services()["consumer"])

    def test_gets_time_to_flush_on_stop(self) -> None:
        """The stop grace period leaves the consumer time to flush and commit after SIGTERM."""
        grace = str(services()["consumer"]["stop_grace_period"])
        assert grace.endswith("s") and int(grace[:-1]) >= 15


class TestNotifiers:
    def test_runs_two_notifiers(self) -> None:
        """Two `notifier` containers share the alerts (leases make one send each)."""
        assert _command(services()["notifier"]) == ["notifier"]
        assert _replicas(services()["notifier"]) == 2

    def test_health_check_calls_the_metrics_port(self) -> None:
        """The notifier's health check calls /metrics on AFISSUE_NOTIFIER_METRICS_PORT."""
        port = service_environment("notifier")["AFISSUE_NOTIFIER_METRICS_PORT"]
        assert f"127.0.0.1:{port}/metrics" in _healthcheck_text(services()["notifier"])

    def test_waits_for_healthy_redis_and_firestore(self) -> None:
        """The notifier starts once Redis and the emulator are healthy (it reads no Kafka)."""
        depends = services()["notifier"]["depends_on"]
        assert {name: dep["condition"] for name, dep in depends.items()} == {
            "redis": "service_healthy", "firestore": "service_healthy",
        }

    def test_sets_only_notifier_settings(self) -> None:
        """Every variable given to the notifiers is a NotifierSettings variable."""
        from notifier.settings import NotifierSettings

        unknown = set(service_environment("notifier")) - known_env_names(NotifierSettings)
        assert unknown == set()

    def test_reads_what_the_consumers_write(self) -> None:
        """Notifiers and consumers agree on Redis, Firestore and the alert rules, and the
        notifier's settings parse."""
        from notifier.settings import NotifierSettings

        host = {"AFISSUE_ALERTS_FILE": "/etc/afissue/alerts/alerts.toml",
                "AFISSUE_ALERT_WEBHOOK_URL": "https://hooks.example/x"}
        notifier = service_environment("notifier", host)
        consumer = service_environment("consumer", host)
        shared = ("AFISSUE_REDIS_URL", "AFISSUE_FIRESTORE_PROJECT", "FIRESTORE_EMULATOR_HOST",
                  "AFISSUE_ALERTS_FILE", "AFISSUE_ALERT_WEBHOOK_URL",
                  "AFISSUE_ALERT_WEBHOOK_SECRET")
        assert {k: notifier[k] for k in shared} == {k: consumer[k] for k in shared}
        assert volume_source("notifier", "/etc/afissue/alerts") == volume_source(
            "consumer", "/etc/afissue/alerts"
        )
        settings = NotifierSettings.from_env(notifier)
        assert settings.metrics_port > 0 and settings.rules_path is not None

    def test_example_rules_file_is_valid(self) -> None:
        """deploy/alerts/alerts.example.toml loads without error (secrets from the environment)."""
        from alerting.rules import load_rules

        env = {"AFISSUE_OPS_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
               "AFISSUE_SMTP_PASSWORD": "x"}
        example = volume_source("notifier", "/etc/afissue/alerts") / "alerts.example.toml"
        config = load_rules(example, None, None, env)
        assert set(config.channels) == {"ops", "team", "mail"}


class TestEnvironment:
    def test_ingest_sets_only_ingest_settings(self) -> None:
        """Every variable given to ingest is an IngestSettings / UISettings variable (or a standard one)."""
        unknown = set(service_environment("ingest")) - known_env_names(*ingest_settings_classes())
        assert unknown == set()

    def test_consumer_sets_only_consumer_settings(self) -> None:
        """Every variable given to the consumers is a ConsumerSettings variable (or a standard one)."""
        from consumer.settings import ConsumerSettings

        unknown = set(service_environment("consumer")) - known_env_names(ConsumerSettings)
        assert unknown == set()

    def test_values_parse_into_the_settings(self) -> None:
        """The settings objects accept the values compose sets, with the types they expect."""
        from consumer.settings import ConsumerSettings
        from ingest_service.settings import IngestSettings

        ingest = IngestSettings.from_env(service_environment("ingest"))
        consumer = ConsumerSettings.from_env(service_environment("consumer"))
        for settings_class in ingest_settings_classes()[1:]:
            settings_class.from_env(service_environment("ingest"))
        assert ingest.port == 6001
        assert ingest.allow_open is False
        assert consumer.metrics_port > 0

    def test_ingest_and_consumers_share_topic_redis_and_firestore(self) -> None:
        """Ingest and consumers agree on the topic, Redis, and the Firestore project and collection."""
        shared = (
            "AFISSUE_KAFKA_BOOTSTRAP",
            "AFISSUE_KAFKA_TOPIC",
            "AFISSUE_REDIS_URL",
            "AFISSUE_FIRESTORE_PROJECT",
            "AFISSUE_FIRESTORE_COLLECTION",
            "FIRESTORE_EMULATOR_HOST",
        )
        ingest, consumer = service_environment("ingest"), service_environment("consumer")
        assert {k: ingest[k] for k in shared} == {k: consumer[k] for k in shared}

    def test_interpolation_takes_the_default_from_an_empty_host(self) -> None:
        """The test helper resolves `${VAR:-default}` and `${VAR:?message}` as compose does."""
        assert interpolate("${NOPE:-x}/${SET:-y}/${REQ:?m}", {"SET": "z", "REQ": "r"}) == "x/z/r"
        with pytest.raises(MissingVariable):
            interpolate("${REQ:?m}", {})

    @pytest.mark.parametrize("name", [*AFISSUE_SERVICES, "notifier"])
    def test_no_secret_is_written_into_the_file(self, name: str) -> None:
        """No token or credential value is set in compose; tokens live in the mounted file."""
        env = service_environment(name)
        assert "AFISSUE_TOKEN" not in env
        assert "GOOGLE_APPLICATION_CREDENTIALS" not in env

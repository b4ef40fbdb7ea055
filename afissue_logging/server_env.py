"""Environment variables that more than one server-side settings class reads, declared once.

The ingest API, the consumer, the web UI and ``afissue dev`` each have their own settings
class (:mod:`afissue_logging.config`), but the Kafka topology, Redis, the ingest port, the
log level and the secret key are one setting each, whoever reads them. Each reader
declares its field with ``KAFKA_TOPIC.field("what this reader uses it for")``, and
``docs/configuration.md`` lists the variable once. It lives here, beside the wire
contract, because this is the one package every server process already imports; the
client itself never reads these.
"""

from __future__ import annotations

from afissue_logging.config import SharedSetting

__all__ = [
    "ALERTS_COLLECTION",
    "ALERTS_FILE",
    "ALERT_WEBHOOK_SECRET",
    "ALERT_WEBHOOK_URL",
    "FIRESTORE_COLLECTION",
    "FIRESTORE_EMULATOR_HOST",
    "FIRESTORE_PROJECT",
    "INGEST_PORT",
    "KAFKA_BOOTSTRAP",
    "KAFKA_TOPIC",
    "LOG_LEVEL",
    "REDIS_URL",
    "SECRET_KEY",
    "SHARED",
]

KAFKA_BOOTSTRAP = SharedSetting(
    "AFISSUE_KAFKA_BOOTSTRAP", "127.0.0.1:9092", "Kafka bootstrap servers (host:port,...)."
)
KAFKA_TOPIC = SharedSetting(
    "AFISSUE_KAFKA_TOPIC",
    "alphafusion.issues",
    "Kafka topic of accepted events: the ingest API publishes to it, the consumers read it.",
)
FIRESTORE_PROJECT = SharedSetting(
    "AFISSUE_FIRESTORE_PROJECT", "afissue-local", "Google Cloud project of the issue store."
)
FIRESTORE_COLLECTION = SharedSetting(
    "AFISSUE_FIRESTORE_COLLECTION",
    "issues",
    "Firestore collection of the issue documents (one per issue).",
)
FIRESTORE_EMULATOR_HOST = SharedSetting(
    "FIRESTORE_EMULATOR_HOST",
    None,
    "host:port of a Firestore emulator (the standard Google name); when set, anonymous "
    "credentials are used.",
)
REDIS_URL = SharedSetting("AFISSUE_REDIS_URL", "redis://127.0.0.1:6379/0", "Redis URL.")
INGEST_PORT = SharedSetting("AFISSUE_INGEST_PORT", 6001, "Port of the ingest API.")
LOG_LEVEL = SharedSetting(
    "AFISSUE_LOG_LEVEL", "info", "Log level of the server process (debug, info, warning, error)."
)
SECRET_KEY = SharedSetting(
    "AFISSUE_SECRET_KEY",
    None,
    "Flask secret key signing the web UI's session cookie (login and CSRF token); random "
    "per process when unset, so set it when several workers serve the UI.",
)
ALERTS_FILE = SharedSetting(
    "AFISSUE_ALERTS_FILE",
    None,
    "Alert rules file (`.toml`, `.yaml` or `.yml`; docs/alerts.md), validated at start: a "
    "bad file stops the process with one line naming the rule and field.",
)
ALERT_WEBHOOK_URL = SharedSetting(
    "AFISSUE_ALERT_WEBHOOK_URL",
    None,
    "Shortcut: every new issue and regression to this generic webhook (channel `webhook`, "
    "rule `default`), in addition to the rules file's.",
)
ALERT_WEBHOOK_SECRET = SharedSetting(
    "AFISSUE_ALERT_WEBHOOK_SECRET",
    None,
    "Signing secret of the shortcut webhook (`whsec_` + base64, Standard Webhooks); unset: "
    "unsigned.",
)
ALERTS_COLLECTION = SharedSetting(
    "AFISSUE_ALERTS_COLLECTION",
    "alerts",
    "Firestore collection of the alert outbox (same project as the issues).",
)

#: Every shared declaration, in the order the configuration reference lists them.
SHARED: tuple[SharedSetting, ...] = (
    KAFKA_BOOTSTRAP,
    KAFKA_TOPIC,
    REDIS_URL,
    FIRESTORE_PROJECT,
    FIRESTORE_COLLECTION,
    FIRESTORE_EMULATOR_HOST,
    INGEST_PORT,
    LOG_LEVEL,
    SECRET_KEY,
    ALERTS_FILE,
    ALERT_WEBHOOK_URL,
    ALERT_WEBHOOK_SECRET,
    ALERTS_COLLECTION,
)

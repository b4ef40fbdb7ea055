"""Alerts: which issue changes are told to whom, and the outbox that carries them.

- :mod:`alerting.rules`: the rules file (``AFISSUE_ALERTS_FILE``, TOML or YAML) and the
  webhook shortcut, validated into an :class:`~alerting.rules.AlertConfig`;
- :mod:`alerting.outbox`: the outbox document the consumer writes in its flush batch and
  the notifier delivers (ids, states, layout).

Below the consumer, the notifier, the web UI and the CLI; nothing here imports Firestore,
Kafka or Flask.
"""

from __future__ import annotations

from alerting.outbox import alert_id, idempotency_id, new_outbox_document
from alerting.rules import AlertConfig, Channel, Rule, RulesError, load_rules

__all__ = [
    "AlertConfig",
    "Channel",
    "Rule",
    "RulesError",
    "alert_id",
    "idempotency_id",
    "load_rules",
    "new_outbox_document",
]

#!/usr/bin/env bash
# Creates afissue's Kafka topics with kafka-topics.sh (the apache/kafka image's), idempotently:
# the issues topic (key = issue_id) and its dead-letter topic `<topic>.dlq`.
# Run by the one-shot `kafka-topics` service of docker-compose.yml; usable by hand too:
#   BOOTSTRAP_SERVER=broker:9092 REPLICATION_FACTOR=3 MIN_INSYNC_REPLICAS=2 bash deploy/create-topics.sh
set -euo pipefail

BOOTSTRAP_SERVER="${BOOTSTRAP_SERVER:-localhost:9092}"
ISSUES_TOPIC="${ISSUES_TOPIC:-alphafusion.issues}"
ISSUES_PARTITIONS="${ISSUES_PARTITIONS:-12}"
REPLICATION_FACTOR="${REPLICATION_FACTOR:-3}"
MIN_INSYNC_REPLICAS="${MIN_INSYNC_REPLICAS:-2}"
RETENTION_MS="${RETENTION_MS:-604800000}"   # 7 days: the longest outage survived without loss

if [ -x /opt/kafka/bin/kafka-topics.sh ]; then
  KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh
else
  KAFKA_TOPICS="${KAFKA_TOPICS:-kafka-topics.sh}"
fi

create() {
  local topic="$1" partitions="$2"
  echo "create-topics: ${topic} (${partitions} partitions, replication ${REPLICATION_FACTOR})"
  "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVER" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$REPLICATION_FACTOR" \
    --config "min.insync.replicas=${MIN_INSYNC_REPLICAS}" \
    --config "retention.ms=${RETENTION_MS}"
}

create "$ISSUES_TOPIC" "$ISSUES_PARTITIONS"
# Dead letters are rare and replayed by hand: a few partitions are plenty.
create "${ISSUES_TOPIC}.dlq" 3
"$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP_SERVER" --describe --topic "$ISSUES_TOPIC"

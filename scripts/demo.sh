#!/usr/bin/env bash
# The main job: installs what it needs, starts the whole local stack (ingest API on
# :6001, consumer, embedded Kafka, redis-server, Firestore emulator), runs the demo
# service that logs real exceptions, prints the deduplicated issues read back from
# Firestore and the alerts a notifier delivers to a local receiver (one per new issue),
# and keeps the stack up until Ctrl-C. Extra arguments go to `afissue dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec python3 -m afissue dev --demo "$@"

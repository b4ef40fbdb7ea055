#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs what it needs, then ruff, mypy
# --strict and pytest (real redis-server, Firestore emulator and Kafka mock cluster,
# started by the fixtures). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
echo "== ruff"
python3 -m ruff check .
echo "== mypy --strict"
python3 -m mypy
echo "== pytest"
python3 -m pytest "$@"

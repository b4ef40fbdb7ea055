#!/usr/bin/env bash
# Installs what afissue needs on a fresh Debian machine of this kind: Debian's
# redis-server and chromium (for the browser tests), then the package and its
# server and development extras from PyPI. Idempotent: quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# Headless browser tests drive Debian's chromium (browser downloads fail here).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "install: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

for tool in java gcloud; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install: '$tool' is missing: the Firestore emulator needs Java 17 and the Google Cloud CLI" >&2
    exit 1
  fi
done

python3 -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
  | grep -v -E "^WARNING: (Location|Running pip as)" || true
python3 -c "import afissue, afissue_logging, issue_store, ingest_service, consumer" \
  || { echo "install: the afissue packages did not import" >&2; exit 1; }

#!/usr/bin/env bash
# Checks the shipped monitoring files with promtool (Debian package `prometheus`):
#   - ops/prometheus/alerts.yml parses (promtool check rules),
#   - its unit tests pass (promtool test rules ops/prometheus/alerts.test.yml),
#   - the Grafana dashboard is well-formed, shows every guide metric, and every query parses.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
  echo "ops/check.sh: promtool not found (apt-get install --no-install-recommends prometheus)" >&2
  exit 1
fi
promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts.test.yml
queries="$(mktemp --suffix=.rules.yml)"
trap 'rm -f "$queries"' EXIT
node ops/grafana/check-dashboard.mjs ops/grafana/federation-dashboard.json "$queries"
promtool check rules "$queries"
echo "ops/check.sh: monitoring files OK"

#!/usr/bin/env bash
# Starts the Dagster UI (web server + daemon: schedules, sensors, automation, run queue) on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Dagster's telemetry off in every instance we start, an instance created before this line included
grep -q '^telemetry:' "$DAGSTER_HOME/dagster.yaml" || printf '\ntelemetry:\n  enabled: false\n' >> "$DAGSTER_HOME/dagster.yaml"
exec .venv/bin/dagster dev -w workspace.yaml -h "${ONEVISION_UI_HOST:-127.0.0.1}" -p "${ONEVISION_UI_PORT:-3000}"

#!/usr/bin/env bash
# Starts the Dagster UI (web server + daemon: schedules, sensors, automation, run queue) on 127.0.0.1
# (ONEVISION_UI_HOST, ONEVISION_UI_PORT: default 3000). Ctrl-C or SIGTERM stops everything within seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$REPO/.dagster_home}"
mkdir -p "$DAGSTER_HOME"
DAGSTER_HOME="$(cd "$DAGSTER_HOME" && pwd)"
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Dagster's telemetry off in every instance we start, an instance created before this line included
grep -q '^telemetry:' "$DAGSTER_HOME/dagster.yaml" || printf '\ntelemetry:\n  enabled: false\n' >> "$DAGSTER_HOME/dagster.yaml"
# no "Join the Dagster community" pop-up asking operators for an email (Dagster's `nux` setting)
grep -q '^nux:' "$DAGSTER_HOME/dagster.yaml" || printf '\nnux:\n  enabled: false\n' >> "$DAGSTER_HOME/dagster.yaml"
# Dagster is started from DAGSTER_HOME (a dagster.yaml in the current folder other than DAGSTER_HOME's makes it
# warn at every start): the project's folders are therefore given as absolute paths.
export ONEVISION_LANDING="${ONEVISION_LANDING:-$REPO/data/landing}"
export ONEVISION_WAREHOUSE="${ONEVISION_WAREHOUSE:-$REPO/data/onevision.duckdb}"
export ONEVISION_REPORTS="${ONEVISION_REPORTS:-$REPO/data/rapports}"
cd "$DAGSTER_HOME"
# `dagster dev` is marked superseded by `dg dev` (a tool this project does not install): no warning at start
export PYTHONWARNINGS="${PYTHONWARNINGS:+$PYTHONWARNINGS,}ignore:Function \`dev_command\` is superseded"
# dagster dev (web server, daemon, code server and the runs they launch) in a process group of its own
setsid "$REPO/.venv/bin/dagster" dev -w "$REPO/workspace.yaml" -h "${ONEVISION_UI_HOST:-127.0.0.1}" \
  -p "${ONEVISION_UI_PORT:-3000}" &
GROUP=$!
stop() {
  trap - TERM INT
  echo "Arrêt de l'interface Dagster..." >&2
  kill -INT "$GROUP" 2>/dev/null || true  # dagster dev asks its web server and daemon to stop
  for _ in $(seq 30); do kill -0 "$GROUP" 2>/dev/null || break; sleep 0.1; done
  kill -TERM -- "-$GROUP" 2>/dev/null || true  # what is left of the group (code server, run workers)
  for _ in $(seq 10); do kill -0 -- "-$GROUP" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$GROUP" 2>/dev/null || true
  wait "$GROUP" 2>/dev/null || true
  exit 0
}
trap stop TERM INT
wait "$GROUP"

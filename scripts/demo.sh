#!/usr/bin/env bash
# The main job on the embedded default: demo landing zone -> every asset -> data/onevision.duckdb + data/rapports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME" data
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Dagster's telemetry off in every instance we start, an instance created before this line included
grep -q '^telemetry:' "$DAGSTER_HOME/dagster.yaml" || printf '\ntelemetry:\n  enabled: false\n' >> "$DAGSTER_HOME/dagster.yaml"
DATE="${ONEVISION_DEMO_DATE:-$(date +%F)}"
rm -rf data/landing
# four weekly snapshots; 33 and 69 are not pilots, so the experiment has departments to compare with
# shellcheck disable=SC2086
.venv/bin/onevision generate --out data/landing --departement ${ONEVISION_DEMO_DEPARTEMENTS:-17 91 95 33 69} \
  --entreprises "${ONEVISION_DEMO_ENTREPRISES:-5000}" --date "$DATE" --seed 42 \
  --instantanes "${ONEVISION_DEMO_INSTANTANES:-4}"
.venv/bin/onevision run --landing data/landing --warehouse data/onevision.duckdb --rapports data/rapports
.venv/bin/onevision export positions --national --out data/exports/positions_nationales.csv
.venv/bin/onevision export rejets --out data/exports/rejets.csv
.venv/bin/onevision export non_positionnees --out data/exports/non_positionnees.csv
cat <<MSG

Terminé.
  Entrepôt DuckDB     : data/onevision.duckdb
  Tableaux de bord    : data/rapports/index.html   (ou : .venv/bin/onevision rapports  -> http://127.0.0.1:8765/)
  Exports CSV         : data/exports/
  Interface Dagster   : bash scripts/ui.sh  -> http://127.0.0.1:3000/  (guide : docs/operations.md)
MSG

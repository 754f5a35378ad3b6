#!/usr/bin/env bash
# The main job on the embedded default: demo landing zone -> every asset -> data/onevision.duckdb + data/rapports.
# Every run starts afresh (landing zone, warehouse, dashboards, exports): two demos' snapshots never mix.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
mkdir -p "$DAGSTER_HOME" data
[ -f "$DAGSTER_HOME/dagster.yaml" ] || cp dagster.yaml "$DAGSTER_HOME/dagster.yaml"
# Dagster's telemetry off in every instance we start, an instance created before this line included
grep -q '^telemetry:' "$DAGSTER_HOME/dagster.yaml" || printf '\ntelemetry:\n  enabled: false\n' >> "$DAGSTER_HOME/dagster.yaml"
DATE="${ONEVISION_DEMO_DATE:-$(date +%F)}"
INSTANTANES="${ONEVISION_DEMO_INSTANTANES:-8}"
# the experiment: 12 departments, the 3 pilots among them (the inference compares every choice of 3 of 12);
# it starts on the 4th weekly snapshot; after it, the pilots make each flagged offset with 0.3 more probability
DEPARTEMENTS="${ONEVISION_DEMO_DEPARTEMENTS:-17 91 95 33 69 13 59 31 44 67 35 06}"
export ONEVISION_PILOTES="${ONEVISION_PILOTES:-17,91,95}"
DEBUT="${ONEVISION_DEMO_DEBUT_PILOTE:-$(date -d "$DATE - $((7 * (INSTANTANES - 4))) days" +%F)}"
export ONEVISION_DEBUT_PILOTE="$DEBUT"
EFFET="${ONEVISION_DEMO_EFFET:-0.3}"

# a fresh demo: the previous landing zone, warehouse, dashboards and exports are deleted, and the extraction
# dates and departments the Dagster instance knew are forgotten (a rerun on another day would otherwise mix two
# demos' snapshots)
# (and the demo application's publication and its SQLite store of agents' follow-ups, which name the old lines;
# an application database of its own, ONEVISION_APP_DATABASE_URL, is left alone)
SQLITE=", data/onevision-app.sqlite (suites données de la démonstration précédente)"
KEPT=""
if [ -n "${ONEVISION_APP_DATABASE_URL:-}" ]; then
  SQLITE=""
  KEPT=" La base de l'application (ONEVISION_APP_DATABASE_URL) est gardée."
else
  rm -f data/onevision-app.sqlite
fi
echo "Démonstration neuve : suppression de data/landing, data/onevision.duckdb, data/rapports, data/exports," \
  "data/publication$SQLITE et des dates d'extraction et départements connus de l'instance Dagster" \
  "($DAGSTER_HOME).$KEPT"
rm -rf data/landing data/rapports data/exports data/publication
rm -f data/onevision.duckdb data/onevision.duckdb.wal
.venv/bin/python - <<'PY'
import dagster as dg

from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, DEPARTEMENTS

with dg.DagsterInstance.get() as instance:
    for name in (DATES_EXTRACTION, DEPARTEMENTS):
        for key in instance.get_dynamic_partitions(name):
            instance.delete_dynamic_partition(name, key)
PY

# shellcheck disable=SC2086
.venv/bin/onevision generate --out data/landing --departement $DEPARTEMENTS \
  --entreprises "${ONEVISION_DEMO_ENTREPRISES:-2000}" --date "$DATE" --seed 42 --instantanes "$INSTANTANES" \
  --pilotes "$ONEVISION_PILOTES" --debut-pilote "$DEBUT" --effet "$EFFET"
.venv/bin/onevision run --landing data/landing --warehouse data/onevision.duckdb --rapports data/rapports
.venv/bin/onevision export positions --national --out data/exports/positions_nationales.csv
.venv/bin/onevision export rejets --out data/exports/rejets.csv
.venv/bin/onevision export non_positionnees --out data/exports/non_positionnees.csv
.venv/bin/onevision export compensations --out data/exports/compensations.csv
.venv/bin/onevision export declarations --out data/exports/declarations.csv
cat <<MSG

Terminé (démonstration neuve du $DATE : $INSTANTANES extractions hebdomadaires, pilotes $ONEVISION_PILOTES,
début de l'expérimentation le $DEBUT, effet simulé +$EFFET ; ONEVISION_DEBUT_PILOTE=$DEBUT pour la suite).
  Entrepôt DuckDB     : data/onevision.duckdb
  Tableaux de bord    : servis par l'application, avec ses droits et son audit :
                        .venv/bin/onevision app --dev -> http://127.0.0.1:8766/rapports/tableau_de_bord_17.html
                        (--dev : poste de développeur, identité par en-têtes ; docs/app.md)
  Exports CSV         : data/exports/
  Interface Dagster   : bash scripts/ui.sh  -> http://127.0.0.1:3000/  (guide : docs/operations.md)
MSG

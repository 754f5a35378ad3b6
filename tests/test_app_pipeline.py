"""The real pipeline on the shared samples, then the application on what it published.

Register, department 17, its two snapshots (history) and the national views are materialized through
Dagster, stage by stage as `onevision run` does (the national run ends with `publication/app`); the
application then serves a company page from the published copy, with the figures of
`expected/positions_17.csv` and the lines of the sample files, and the refunds at risk of `expected/impact.csv`.
"""

from __future__ import annotations

import csv
import html
import re
from decimal import Decimal
from pathlib import Path

import dagster as dg
import requests

from onevision_dagster.app.publication import current_file
from onevision_dagster.assets.publication import PUBLICATION_APP
from onevision_dagster.definitions import all_assets
from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, snapshot_key
from onevision_dagster.orchestration.runner import _asset_groups
from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

from . import app_fixtures as fx
from .conftest import EXPECTED

AGENT_17 = {"X-Remote-User": "alice", "X-Remote-Groups": "onevision-departement-17"}
AGENT_91 = {"X-Remote-User": "bob", "X-Remote-Groups": "onevision-departement-91"}


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page))).replace("\u00a0", " ")


def _euros(amount: str) -> str:
    """`6650.00` → `6 650,00 €` (the page's format)."""
    whole, cents = amount.split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return f"{' '.join(groups)},{cents} €"


def test_company_page_from_the_published_pipeline_output(sample_landing: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    resources = {"landing": LandingZone(path=str(sample_landing)), "warehouse": Warehouse(path=str(warehouse)),
                 "reports": ReportsFolder(path=str(tmp_path / "rapports")),
                 "settings": Settings(departements="17", freshness_days=7, static_images=False)}
    register, partitioned, history, national = _asset_groups(all_assets)  # the stages of `onevision run`
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(DATES_EXTRACTION, ["2026-11-20", "2026-11-27"])
    for selection, partition in ((register, None), (partitioned, "17"), (history, snapshot_key("2026-11-27", "17")),
                                 (history, snapshot_key("2026-11-20", "17")), (national, None)):
        result = dg.materialize(all_assets, selection=dg.AssetSelection.assets(*selection), partition_key=partition,
                                resources=resources, instance=instance)
        assert result.success
    published = {m.asset_key for m in result.get_asset_materialization_events()}
    assert PUBLICATION_APP in published
    assert current_file(tmp_path / "publication") is not None

    with open(EXPECTED / "positions_17.csv", encoding="utf-8") as fh:
        expected = {row["siren"]: row for row in csv.DictReader(fh)}
    settings = fx.app_settings(tmp_path, tmp_path / "publication")
    with fx.running_app(settings) as base:
        found = requests.get(f"{base}/recherche", params={"q": "Ostreiculture marennes"}, headers=AGENT_17)
        assert found.status_code == 200 and "/entreprises/800000010" in found.text
        page = requests.get(f"{base}/entreprises/800000010", headers=AGENT_17)
        assert page.status_code == 200
        text = _text(page.text)
        oysters = expected["800000010"]
        for column in ("total_dettes", "total_creances", "passif_declare", "dettes_impots_pro"):
            assert _euros(oysters[column]) in text, column
        assert oysters["montant_compensable"] == "0.00"
        assert "créance déclarée au passif d'une procédure que le registre ne montre pas" in text
        assert "impots_pro_17_20261127.csv" in text and "excedents_17_20261127.csv" in text
        shipping = _text(requests.get(f"{base}/entreprises/301122339", headers=AGENT_17).text)
        assert f"Compensation possible : {_euros(expected['301122339']['montant_compensable'])}" in shipping
        assert requests.get(f"{base}/entreprises/800000010", headers=AGENT_91).status_code == 403
        worklist = _text(requests.get(f"{base}/departements/17/listes/compensations", headers=AGENT_17).text)
        offsettable = [s for s, row in expected.items() if row["montant_compensable"] != "0.00"]
        assert f"{len(offsettable)} élément" in worklist
        for siren in offsettable:
            assert siren in worklist
        # the history is published too: refunds at risk of the period 20/11 → 27/11, as expected/impact.csv
        with open(EXPECTED / "impact.csv", encoding="utf-8") as fh:
            impact = next(csv.DictReader(fh))
        refunds = requests.get(f"{base}/departements/17/listes/remboursements/export.csv", headers=AGENT_17)
        rows = list(csv.DictReader(refunds.content.decode("utf-8-sig").splitlines(), delimiter=";"))
        total = sum(Decimal(r["a_risque"].replace(",", ".")) for r in rows)
        assert total == Decimal(impact["rembourse_a_risque"]) and total > 0
        assert all(r["date_debut"] == "20/11/2026" and r["date_fin"] == "27/11/2026" for r in rows)
        page = _text(requests.get(f"{base}/entreprises/800000010", headers=AGENT_17).text)
        assert "Historique" in page and "20/11/2026" in page

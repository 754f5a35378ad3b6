"""The sample extracts give exactly the expected rejects; every other row is kept."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from onevision_dagster import warehouse
from onevision_dagster.contract.sources import ALL_SOURCES, SOURCES_BY_NAME
from onevision_dagster.ingest.load import ingest_landing, read_source_file

from .conftest import EXPECTED, SAMPLE_LANDING


def _expected_rejects() -> set[tuple[str, str, int, str]]:
    with open(EXPECTED / "rejets.csv", newline="", encoding="utf-8") as f:
        return {(r["source"], r["fichier"], int(r["ligne"]), r["colonne"]) for r in csv.DictReader(f)}


def _sample_file(source: str) -> Path:
    return next((SAMPLE_LANDING / source).glob("*.csv"))


def test_samples_reject_exactly_the_expected_rows(sample_landing: Path) -> None:
    got = set()
    for spec in ALL_SOURCES:
        path = _sample_file(spec.name)
        result = read_source_file(spec, path)
        for row in result.rejects.itertuples():
            got.add((spec.name, path.name, int(row.ligne), row.colonne or ""))
    assert got == _expected_rejects()


@pytest.mark.parametrize("spec", ALL_SOURCES, ids=lambda s: s.name)
def test_every_other_row_is_kept(spec) -> None:
    path = _sample_file(spec.name)
    result = read_source_file(spec, path)
    physical = [n for n, line in enumerate(path.read_bytes().split(b"\n")[1:], start=2) if line.strip()]
    rejected = set(result.rejects["ligne"])
    assert sorted(result.kept["ligne"].tolist()) == [n for n in physical if n not in rejected]
    assert result.rows_read == len(result.kept) + len(result.rejects) == len(physical)


def test_messages_name_the_value_and_the_expected_format() -> None:
    rejects = read_source_file(SOURCES_BY_NAME["amendes"], _sample_file("amendes")).rejects.set_index("ligne")
    assert rejects.loc[8, "message"] == (
        "DATE_MAJORATION : '31/02/2026' n'est pas une date valide (format attendu JJ/MM/AAAA)"
    )
    assert "'trois cents'" in rejects.loc[9, "message"] and "1250,40" in rejects.loc[9, "message"]
    assert rejects.loc[10, "motif"] == "INCOHERENCE" and "135,00 €" in rejects.loc[10, "message"]
    assert rejects.loc[11, "motif"] == "DOUBLON" and "ligne 2" in rejects.loc[11, "message"]
    assert rejects.loc[13, "motif"] == "CODE_INCONNU" and "'RECOUVREE'" in rejects.loc[13, "message"]
    assert rejects.loc[17, "motif"] == "NB_CELLULES" and rejects.loc[17, "contenu"].startswith("1700000000016;")


def test_cp1252_punctuation_and_amounts_are_decoded_exactly() -> None:
    kept = read_source_file(SOURCES_BY_NAME["amendes"], _sample_file("amendes")).kept.set_index("ligne")
    assert kept.loc[4, "adresse"] == "12 quai Duperré (face à l’aquarium)"
    assert kept.loc[12, "raison_sociale"] == "Écuries de l'Île-de-Ré"
    assert kept.loc[3, "montant_paye"] == 4500  # integer cents
    assert kept.loc[3, "siren"] == "812345676" and kept.loc[3, "siren_source"] == "812 345 676"
    assert kept.loc[6, "siren"] is None or str(kept.loc[6, "siren"]) == "<NA>"  # invalid SIREN: matched by name


def test_each_source_format_is_parsed(sample_landing: Path) -> None:
    spl = read_source_file(SOURCES_BY_NAME["spl"], _sample_file("spl")).kept.set_index("ligne")
    assert spl.loc[2, "code_collectivite"] == "17300"  # the BOM is not part of the first header name
    assert spl.loc[3, "montant_titre"] == 64050 and str(spl.loc[3, "date_emission"].date()) == "2026-02-02"
    assert spl.loc[6, "siren"] == "356000000"  # La Poste SIRET, valid by the La Poste rule
    imp = read_source_file(SOURCES_BY_NAME["impots_pro"], _sample_file("impots_pro")).kept.set_index("ligne")
    assert imp.loc[2, "mt_penalites"] == 41230 and str(imp.loc[2, "date_exigibilite"].date()) == "2025-12-15"
    rnf = read_source_file(SOURCES_BY_NAME["rnf"], _sample_file("rnf")).kept.set_index("ligne")
    assert rnf.loc[2, "ordonnateur"] == "PREFECTURE DE LA CHARENTE-MARITIME, SERVICE DES TITRES"
    assert rnf.loc[2, "siren"] == "812345676" and rnf.loc[3, "siren"] == "800000010"
    assert rnf.loc[3, "montant_recouvre"] == 100000
    reg = read_source_file(SOURCES_BY_NAME["entreprises"], _sample_file("entreprises")).kept.set_index("ligne")
    assert reg.loc[4, "denomination"] == "ÉCURIES DE L'ÎLE DE RÉ"
    assert str(reg.loc[4, "date_jugement"].date()) == "2026-06-12"


def test_landing_zone_loads_into_the_warehouse(sample_landing: Path, warehouse_path: Path) -> None:
    with warehouse.connect(warehouse_path) as con:
        reports = ingest_landing(con, sample_landing)
        assert {r.source for r in reports} == {s.name for s in ALL_SOURCES}
        counts = dict(con.execute("SELECT source, count(*) FROM quality.rejets GROUP BY 1").fetchall())
        assert counts == {"entreprises": 1, "amendes": 6, "credits_tva": 1, "impots_pro": 2, "rnf": 2, "spl": 2}
        total = con.execute("SELECT sum(reste_a_recouvrer) FROM raw.spl").fetchone()[0]
        assert str(total) == "7840.50"  # DECIMAL end to end
        assert con.execute("SELECT typeof(mt_droits) FROM raw.impots_pro LIMIT 1").fetchone()[0] == "DECIMAL(18,2)"

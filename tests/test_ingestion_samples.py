"""The sample extracts give exactly the expected rejects; every other row is kept."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from onevision_dagster import warehouse
from onevision_dagster.contract.sources import ALL_SOURCES, SOURCES_BY_NAME
from onevision_dagster.ingest.load import ingest_landing, read_source_file

from .conftest import EXPECTED, SAMPLE_LANDING


def _expected_rejects() -> set[tuple[str, str, int, str]]:
    with open(EXPECTED / "rejets.csv", newline="", encoding="utf-8") as f:
        return {(r["source"], r["fichier"], int(r["ligne"]), r["colonne"]) for r in csv.DictReader(f)}


LATEST, FIRST = "20261127", "20261120"


def _files_of(source: str, date: str) -> list[Path]:
    """Every extract of the source at a date (department 17, 95 and the register)."""
    return sorted((SAMPLE_LANDING / source).glob(f"*_{date}.csv"))


def _sample_file(source: str) -> Path:
    """Department 17's latest extract of the source (2026-11-27) (the register's for `entreprises`)."""
    return next(p for p in _files_of(source, LATEST) if source == "entreprises" or "_17_" in p.name)


def test_samples_reject_exactly_the_expected_rows(sample_landing: Path) -> None:
    """The expected rejects are those of every file of the latest snapshots (17, 95 and the register)."""
    got = set()
    for spec in ALL_SOURCES:
        for path in _files_of(spec.name, LATEST):
            result = read_source_file(spec, path)
            for row in result.rejects.itertuples():
                got.add((spec.name, path.name, int(row.ligne), row.colonne or ""))
    assert got == _expected_rejects()


@pytest.mark.parametrize("spec", ALL_SOURCES, ids=lambda s: s.name)
def test_every_other_row_is_kept(spec) -> None:
    for path in _files_of(spec.name, LATEST) + _files_of(spec.name, FIRST):
        result = read_source_file(spec, path)
        physical = [n for n, line in enumerate(path.read_bytes().split(b"\n")[1:], start=2) if line.strip()]
        rejected = set(result.rejects["ligne"])
        assert sorted(result.kept["ligne"].tolist()) == [n for n in physical if n not in rejected]
        assert result.rows_read == len(result.kept) + len(result.rejects) == len(physical)


def _first_file(source: str) -> Path:
    """Department 17's first extract (2026-11-20), for the cases only it holds."""
    return next(p for p in _files_of(source, FIRST) if source == "entreprises" or "_17_" in p.name)


def test_messages_name_the_value_and_the_expected_format() -> None:
    first = read_source_file(SOURCES_BY_NAME["amendes"], _first_file("amendes")).rejects.set_index("ligne")
    assert first.loc[8, "message"] == (
        "DATE_MAJORATION : '31/02/2026' n'est pas une date valide (format attendu JJ/MM/AAAA)"
    )
    rejects = read_source_file(SOURCES_BY_NAME["amendes"], _sample_file("amendes")).rejects.set_index("ligne")
    assert "'trois cents'" in rejects.loc[9, "message"] and "1250,40" in rejects.loc[9, "message"]
    assert rejects.loc[10, "motif"] == "INCOHERENCE" and "135,00 €" in rejects.loc[10, "message"]
    assert rejects.loc[11, "motif"] == "DOUBLON" and "ligne 2" in rejects.loc[11, "message"]
    assert rejects.loc[13, "motif"] == "CODE_INCONNU" and "'RECOUVREE'" in rejects.loc[13, "message"]
    assert rejects.loc[16, "motif"] == "NB_CELLULES" and rejects.loc[16, "contenu"].startswith("1700000000016;")


def test_future_debt_dates_are_rejected_with_both_dates_named() -> None:
    """Section 4: a fine or a title cannot be in recovery before it exists (`FUTURE_DATE`)."""
    rejects = read_source_file(SOURCES_BY_NAME["amendes"], _sample_file("amendes")).rejects.set_index("ligne")
    assert rejects.loc[18, "motif"] == "FUTURE_DATE" and rejects.loc[18, "colonne"] == "DATE_MAJORATION"
    assert "'15/12/2026'" in rejects.loc[18, "message"] and "27/11/2026" in rejects.loc[18, "message"]
    assert rejects.loc[18, "cle"] == "1700000000018"
    spl = read_source_file(SOURCES_BY_NAME["spl"], _sample_file("spl")).rejects.set_index("ligne")
    assert spl.loc[11, "motif"] == "FUTURE_DATE" and "'01/12/2026'" in spl.loc[11, "message"]
    assert spl.loc[11, "cle"] == "17300/2026/410"
    rnf = read_source_file(SOURCES_BY_NAME["rnf"], _sample_file("rnf")).rejects.set_index("ligne")
    assert rnf.loc[8, "motif"] == "FUTURE_DATE" and "'2026-12-05'" in rnf.loc[8, "message"]
    # a tax whose due date is after the file's date is simply not yet due: kept
    imp = read_source_file(SOURCES_BY_NAME["impots_pro"], _sample_file("impots_pro")).kept.set_index("ligne")
    assert str(imp.loc[6, "date_exigibilite"].date()) == "2026-12-15"


def test_rejected_rows_keep_their_key() -> None:
    """A rejected row stays known by its key (section 9: a line rejected at t1 gives no movement)."""
    rejects = read_source_file(SOURCES_BY_NAME["amendes"], _sample_file("amendes")).rejects.set_index("ligne")
    assert rejects.loc[6, "cle"] == "1700000000005"  # unreadable amount
    assert rejects.loc[16, "cle"] == "1700000000016"  # too few cells: the key is still the first cell
    register = read_source_file(SOURCES_BY_NAME["entreprises"], _sample_file("entreprises")).rejects
    assert set(register["cle"]) == {"790112239", "735173510", "533666772"}


def test_register_publication_rules_of_version_3() -> None:
    """Section 4: a BODACC publication before its judgment is rejected on `date_publication_bodacc`."""
    register = read_source_file(SOURCES_BY_NAME["entreprises"], _sample_file("entreprises"))
    bad = register.rejects.set_index("cle").loc["533666772"]
    assert bad["colonne"] == "date_publication_bodacc" and bad["motif"] == "INCOHERENCE"
    kept = register.kept.set_index("siren")
    assert str(kept.loc["845123454", "date_publication_bodacc"].date()) == "2026-11-17"
    assert kept.loc["711888990", "date_publication_bodacc"] is None or str(
        kept.loc["711888990", "date_publication_bodacc"]) in ("NaT", "<NA>")
    credits = read_source_file(SOURCES_BY_NAME["credits_tva"], _sample_file("credits_tva")).rejects
    refunded = credits[credits["colonne"] == "MONTANT_ACCORDE"]
    assert any("obligatoire quand STATUT vaut 'REMBOURSEE'" in m for m in refunded["message"])


def test_cp1252_punctuation_and_amounts_are_decoded_exactly() -> None:
    kept = read_source_file(SOURCES_BY_NAME["amendes"], _first_file("amendes")).kept.set_index("ligne")
    assert kept.loc[4, "adresse"] == "12 quai Duperré (face à l’aquarium)"
    assert kept.loc[12, "raison_sociale"] == "Écuries de l'Île-de-Ré"
    assert kept.loc[3, "montant_paye"] == 4500  # integer cents
    assert kept.loc[3, "siren"] == "812345676" and kept.loc[3, "siren_source"] == "812 345 676"
    assert kept.loc[6, "siren"] is None or str(kept.loc[6, "siren"]) == "<NA>"  # invalid SIREN: matched by name


def test_each_source_format_is_parsed(sample_landing: Path) -> None:
    spl = read_source_file(SOURCES_BY_NAME["spl"], _first_file("spl")).kept.set_index("ligne")
    assert spl.loc[2, "code_collectivite"] == "17300"  # the BOM is not part of the first header name
    assert spl.loc[3, "montant_titre"] == 64050 and str(spl.loc[3, "date_emission"].date()) == "2026-02-02"
    assert spl.loc[6, "siren"] == "356000000"  # La Poste SIRET, valid by the La Poste rule
    imp = read_source_file(SOURCES_BY_NAME["impots_pro"], _first_file("impots_pro")).kept.set_index("ligne")
    assert imp.loc[2, "mt_penalites"] == 41230 and str(imp.loc[2, "date_exigibilite"].date()) == "2025-12-15"
    rnf = read_source_file(SOURCES_BY_NAME["rnf"], _first_file("rnf")).kept.set_index("ligne")
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
        # every file is kept: the two snapshots of each source
        assert all(len(r.loaded) == 2 for r in reports)
        dates = con.execute("SELECT DISTINCT date_extraction FROM raw.spl ORDER BY 1").fetchall()
        assert [d[0].isoformat() for d in dates] == ["2026-11-20", "2026-11-27"]
        counts = dict(con.execute("SELECT source, count(*) FROM quality.rejets "
                                  "WHERE date_extraction = DATE '2026-11-27' GROUP BY 1").fetchall())
        expected: dict[str, int] = {}
        for source, *_ in _expected_rejects():
            expected[source] = expected.get(source, 0) + 1
        assert counts == expected
        total = con.execute("SELECT sum(reste_a_recouvrer) FROM raw.spl "
                            "WHERE date_extraction = DATE '2026-11-27'").fetchone()[0]
        # DECIMAL end to end; by hand, the kept titles of the 2026-11-27 file of 17 (lines 7, 8 and 11 rejected;
        # 95's is header-only): 700 + 640,50 + 1800 + 980 + 0 (La Poste, paid) + 0 (line 9) + 210 + 900 + 1500
        assert str(total) == "6730.50"
        assert total == sum(Decimal(x) for x in ("700", "640.50", "1800", "980", "0", "0", "210", "900", "1500"))
        assert con.execute("SELECT typeof(mt_droits) FROM raw.impots_pro LIMIT 1").fetchone()[0] == "DECIMAL(18,2)"

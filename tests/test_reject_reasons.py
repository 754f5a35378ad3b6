"""Each reject reason of section 4, one row each, with the first fault winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from onevision_dagster.contract.sources import SOURCES_BY_NAME
from onevision_dagster.ingest.load import read_source_file

IMPOTS = SOURCES_BY_NAME["impots_pro"]
CREDITS = SOURCES_BY_NAME["credits_tva"]
REGISTER = SOURCES_BY_NAME["entreprises"]
IMP_HEADER = "SIREN;REF_ARTICLE;CODE_IMPOT;PERIODE;DATE_EXIGIBILITE;MT_DROITS_CTS;MT_PENALITES_CTS;MT_PAYE_CTS;" \
             "PHASE;SURSIS"


def _rejects(tmp_path: Path, spec, header: str, rows: list[str]):
    path = tmp_path / f"{spec.name}_17_20261120.csv"
    enc = "cp1252" if spec.encoding == "cp1252" else "utf-8"
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode(enc))
    result = read_source_file(spec, path)
    assert result.rows_read == len(result.kept) + len(result.rejects)
    return result


@pytest.mark.parametrize(
    ("row", "motif", "colonne"),
    [
        ("443210984;R1;CFE;2025;20251215;100;0;0;SATD", "NB_CELLULES", None),
        ("443210984;R1;CFE;2025;20251215;100;0;0;SATD;N;X", "NB_CELLULES", None),
        (";R1;CFE;2025;20251215;100;0;0;SATD;N", "VALEUR_MANQUANTE", "SIREN"),
        ("443210984;R1;CFE;2025;;100;0;0;SATD;N", "VALEUR_MANQUANTE", "DATE_EXIGIBILITE"),
        ("443210985;R1;CFE;2025;20251215;100;0;0;SATD;N", "IDENTIFIANT_INVALIDE", "SIREN"),
        ("443210984;R1;CFE;2025;2025-12-15;100;0;0;SATD;N", "DATE_INVALIDE", "DATE_EXIGIBILITE"),
        ("443210984;R1;CFE;2025;20251215;100,5;0;0;SATD;N", "MONTANT_INVALIDE", "MT_DROITS_CTS"),
        ("443210984;R1;CFE;2025;20251215;100;-5;0;SATD;N", "MONTANT_NEGATIF", "MT_PENALITES_CTS"),
        ("443210984;R1;CFE;2025;20251215;100;0;0;SATD;P", "CODE_INCONNU", "SURSIS"),
        ("443210984;R1;CFE;2025-1;20251215;100;0;0;SATD;N", "FORMAT_INVALIDE", "PERIODE"),
        ("443210984;R1;CFE;2025;20251215;100;10;111;SATD;N", "INCOHERENCE", "MT_PAYE_CTS"),
        # first fault in column order wins: the bad date comes before the bad code
        ("443210984;R1;XYZ;2025;20251315;100;0;0;SATD;N", "CODE_INCONNU", "CODE_IMPOT"),
        ("443210984;R1;CFE;2025;20251315;100;0;0;ZZZ;N", "DATE_INVALIDE", "DATE_EXIGIBILITE"),
    ],
)
def test_one_reason_per_row(tmp_path: Path, row: str, motif: str, colonne: str | None) -> None:
    result = _rejects(tmp_path, IMPOTS, IMP_HEADER, [row])
    assert len(result.kept) == 0
    got = result.rejects.iloc[0]
    assert (got["motif"], got["colonne"]) == (motif, colonne)
    assert got["contenu"] == row


def test_spaces_are_not_significant_and_siren_spaces_are_removed(tmp_path: Path) -> None:
    result = _rejects(tmp_path, IMPOTS, IMP_HEADER, ["  443 210 984 ; R1 ;CFE;2025;20251215; 100 ;0;0;SATD;N"])
    assert len(result.rejects) == 0
    row = result.kept.iloc[0]
    assert (row["siren"], row["ref_article"], row["mt_droits"]) == ("443210984", "R1", 100)


def test_duplicates_are_compared_among_clean_rows_only(tmp_path: Path) -> None:
    rows = [
        "443210984;R1;CFE;2025;20251315;100;0;0;SATD;N",  # bad date: does not hold the key
        "443210984;R1;CFE;2025;20251215;100;0;0;SATD;N",  # keeps the key
        "443210984;R1;CFE;2025;20251215;200;0;0;SATD;N",  # duplicate
    ]
    result = _rejects(tmp_path, IMPOTS, IMP_HEADER, rows)
    assert result.kept["ligne"].tolist() == [3]
    assert result.rejects[["ligne", "motif"]].values.tolist() == [[2, "DATE_INVALIDE"], [4, "DOUBLON"]]
    assert "déjà présente ligne 3" in result.rejects.iloc[1]["message"]


@pytest.mark.parametrize(
    ("accorde", "statut", "ok"),
    [("100,00", "ACCORDEE", True), ("", "ACCORDEE", False), ("100,00", "REMBOURSEE", True),
     ("", "REMBOURSEE", False), ("100,00", "IMPUTEE", True), ("", "IMPUTEE", False),  # version 3: required
     ("100,00", "DEPOSEE", False), ("", "EN_INSTRUCTION", True), ("", "REJETEE", True),
     ("200,01", "ACCORDEE", False)],
)
def test_granted_amount_rules(tmp_path: Path, accorde: str, statut: str, ok: bool) -> None:
    header = "SIREN;NUM_DEMANDE;DATE_DEPOT;PERIODE;MONTANT_DEMANDE;MONTANT_ACCORDE;STATUT"
    result = _rejects(tmp_path, CREDITS, header, [f"443210984;D1;15/07/2026;202606;200,00;{accorde};{statut}"])
    assert (len(result.kept) == 1) is ok
    if not ok:
        assert tuple(result.rejects.iloc[0][["motif", "colonne"]]) == ("INCOHERENCE", "MONTANT_ACCORDE")


@pytest.mark.parametrize(
    ("value", "ok"),
    [("1250,40", True), ("1250,4", True), ("1250", True), ("+12,00", True), ("1 250,40", False),
     ("1.250,40", False), ("1250,401", False), ("1250.40", False), (",40", False)],
)
def test_strict_amount_format(tmp_path: Path, value: str, ok: bool) -> None:
    header = "SIREN;NUM_DEMANDE;DATE_DEPOT;PERIODE;MONTANT_DEMANDE;MONTANT_ACCORDE;STATUT"
    result = _rejects(tmp_path, CREDITS, header, [f"443210984;D1;15/07/2026;202606;{value};;DEPOSEE"])
    assert (len(result.kept) == 1) is ok


@pytest.mark.parametrize(("value", "ok"), [("01/03/2026", True), ("1/3/2026", False), ("29/02/2025", False),
                                          ("29/02/2024", True), ("2026-03-01", False)])
def test_strict_date_format(tmp_path: Path, value: str, ok: bool) -> None:
    header = "SIREN;NUM_DEMANDE;DATE_DEPOT;PERIODE;MONTANT_DEMANDE;MONTANT_ACCORDE;STATUT"
    result = _rejects(tmp_path, CREDITS, header, [f"443210984;D1;{value};202606;1,00;;DEPOSEE"])
    assert (len(result.kept) == 1) is ok


def test_register_judgment_date_iff_procedure(tmp_path: Path) -> None:
    header = "siren;denomination;sigle;categorie_juridique;adresse;code_postal;commune;departement;" \
             "date_creation;etat_administratif;procedure_collective;date_jugement;date_publication_bodacc"
    rows = ["443210984;A;;5710;;17000;;17;;A;REDRESSEMENT;;",
            "812345676;B;;5499;;17000;;17;;A;;2026-01-01;",
            "790112239;C;;5499;;17000;;17;;A;LIQUIDATION;2026-01-01;",
            "520987611;D;;54;;17000;;17;;A;;;"]
    path = tmp_path / "entreprises_20261120.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = read_source_file(REGISTER, path)
    assert result.kept["siren"].tolist() == ["790112239"]
    assert result.rejects[["ligne", "motif", "colonne"]].values.tolist() == [
        [2, "INCOHERENCE", "date_jugement"], [3, "INCOHERENCE", "date_jugement"],
        [5, "FORMAT_INVALIDE", "categorie_juridique"]]


def test_register_publication_only_with_a_procedure_and_not_before_its_judgment(tmp_path: Path) -> None:
    """Version 3 (section 4): both faults are reported on `date_publication_bodacc`, after the judgment rule."""
    header = "siren;denomination;sigle;categorie_juridique;adresse;code_postal;commune;departement;" \
             "date_creation;etat_administratif;procedure_collective;date_jugement;date_publication_bodacc"
    rows = ["443210984;A;;5710;;17000;;17;;A;;;2026-01-15",  # published without a procedure
            "812345676;B;;5499;;17000;;17;;A;SAUVEGARDE;2026-01-10;2026-01-09",  # published before its judgment
            "790112239;C;;5499;;17000;;17;;A;LIQUIDATION;2026-01-01;2026-01-01",  # same day: kept
            "520987611;D;;5499;;17000;;17;;A;REDRESSEMENT;;2026-01-01",  # no judgment: the judgment rule first
            "845123454;E;;5499;;17000;;17;;A;SAUVEGARDE;2026-11-03;"]  # not known yet: kept
    path = tmp_path / "entreprises_20261120.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = read_source_file(REGISTER, path)
    assert result.kept["siren"].tolist() == ["790112239", "845123454"]
    assert result.rejects[["ligne", "motif", "colonne"]].values.tolist() == [
        [2, "INCOHERENCE", "date_publication_bodacc"], [3, "INCOHERENCE", "date_publication_bodacc"],
        [5, "INCOHERENCE", "date_jugement"]]
    assert "antérieure à date_jugement" in result.rejects.iloc[1]["message"]

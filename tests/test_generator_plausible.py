"""Generated data an agent would find plausible (issue 8, contract version 2), read back with the decoder.

A landing zone of two departments × 2 000 companies × 4 weekly snapshots is decoded with the project's own
`read_source_file`; every check is a vectorised pass over the decoded rows of all files.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from onevision_dagster.contract.sources import CREDITS_TVA, SOURCES_BY_NAME
from onevision_dagster.demo import shares
from onevision_dagster.demo.generator import generate_landing
from onevision_dagster.demo.summary import GenerationSummary
from onevision_dagster.ingest.load import read_source_file
from onevision_dagster.ingest.validation import ValidatedFile

AS_OF = date(2026, 11, 20)
DEPTS = ("17", "33")
N = 2000
# the decoder of a branch without contract version 2 refuses IMPUTEE and keeps debts dated after their file
V2 = "IMPUTEE" in CREDITS_TVA.column("STATUT").codes


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[GenerationSummary, dict[Path, ValidatedFile]]:
    out = tmp_path_factory.mktemp("plausible")
    summary = generate_landing(out, DEPTS, N, AS_OF, seed=11, bad_row_rate=0.01, instantanes=4)
    decoded = {r.path: read_source_file(SOURCES_BY_NAME[r.source], r.path) for r in summary.records}
    return summary, decoded


def rows(zone: tuple[GenerationSummary, dict[Path, ValidatedFile]], source: str, latest: bool = False,
         good_only: bool = True) -> pd.DataFrame:
    """Kept rows of every file of `source` (or of the latest date), with the file's `dept` and `date`;
    `good_only` drops the rows the generator made invalid on purpose (a pre-v2 decoder keeps some)."""
    summary, decoded = zone
    parts = []
    for r in summary.records:
        if r.source != source or (latest and r.date != summary.as_of):
            continue
        kept = decoded[r.path].kept
        if good_only:
            kept = kept[~kept["ligne"].isin(r.bad_lines)]
        parts.append(kept.assign(dept=r.departement, date=pd.Timestamp(r.date)))
    return pd.concat(parts, ignore_index=True)


def register(zone: tuple[GenerationSummary, dict[Path, ValidatedFile]]) -> pd.DataFrame:
    """Every company of the latest register (registers only grow): siren -> categorie_juridique."""
    return rows(zone, "entreprises", latest=True)[["siren", "categorie_juridique"]]


def within(observed: float, expected: float, n: int, slack: float = 0.0) -> bool:
    """`observed` share is `expected` within 4 standard deviations of a binomial over n draws (+ slack)."""
    return abs(observed - expected) <= 4 * math.sqrt(expected * (1 - expected) / n) + slack


def test_every_deliberately_invalid_row_is_rejected_and_every_other_row_kept(zone) -> None:
    summary, decoded = zone
    kinds = set()
    assert len(summary.records) == 4 * (1 + 7 * len(DEPTS))
    for r in summary.records:
        v = decoded[r.path]
        assert v.rows_read == r.rows, r.path.name
        expected = set(r.bad_lines.tolist())
        if not V2:
            future = {int(line) for line, kind in zip(r.bad_lines, r.bad_kinds, strict=True) if kind == "future"}
            refused = v.rejects[(v.rejects["colonne"] == "STATUT") & v.rejects["contenu"].str.endswith(";IMPUTEE")]
            expected = (expected - future) | set(refused["ligne"].tolist())
        assert set(v.rejects["ligne"].tolist()) == expected, r.path.name
        assert len(v.kept) + len(v.rejects) == r.rows
        kinds.update(r.bad_kinds)
    assert "future" in kinds


def test_no_fine_surcharged_nor_title_issued_after_its_file(zone) -> None:
    for source, column in (("amendes", "date_majoration"), ("spl", "date_emission"), ("rnf", "date_emission")):
        kept = rows(zone, source)
        assert len(kept) > 1000
        assert not (kept[column] > kept["date"]).any(), source
    # the intentionally future ones are in the files, as bad rows
    summary, _ = zone
    assert sum(r.bad_kinds.count("future") for r in summary.records if r.source == "amendes") >= 4


def test_taxes_fit_the_legal_category(zone) -> None:
    taxes = rows(zone, "impots_pro").merge(register(zone), on="siren", how="inner")
    first = taxes["categorie_juridique"].str[0]
    network_or_retail = taxes["code_impot"].isin(["IFER", "TASCOM"])
    assert network_or_retail.sum() > 20
    assert (first[network_or_retail] == "5").all()  # never an association, a foreign State or a public body
    assert not ((taxes["categorie_juridique"] == "3220") & (taxes["code_impot"] == "CFE")).any()  # no premises
    asso = taxes[first == "9"]["code_impot"]
    assert len(asso) > 50
    assert asso.isin(["CFE", "TVA"]).mean() < 0.15 and (asso == "TS").mean() > 0.6
    assert taxes[first == "3"]["categorie_juridique"].isin(["3120", "3220", "3110", "3210"]).all()


def test_credits_fit_the_legal_category(zone) -> None:
    reg = register(zone)
    receivables = rows(zone, "creances_is").merge(reg, on="siren", how="inner")
    cat = receivables["categorie_juridique"]
    no_is = cat.str[0].isin(["1", "2"]) | (cat.str[0].eq("6") & cat.ne("6540")) | cat.isin(["3110", "3210"])
    assert len(receivables) > 200 and not no_is.any()
    vat = rows(zone, "credits_tva").merge(reg, on="siren", how="inner")
    assert vat["categorie_juridique"].str[0].eq("9").mean() < 0.05


def test_no_liquidated_company_shown_as_active(zone) -> None:
    reg = rows(zone, "entreprises")
    liquidated = reg[reg["procedure_collective"] == "LIQUIDATION"]
    assert len(liquidated) > 100
    assert (liquidated["etat_administratif"] == "C").all()
    assert set(reg["etat_administratif"]) == {"A", "C"}


def test_claims_filed_in_a_procedure_mostly_where_the_register_shows_one(zone) -> None:
    taxes = rows(zone, "impots_pro")
    filed = taxes[taxes["phase"] == "PASSIF_PROCEDURE"]
    assert (filed["mt_droits"] + filed["mt_penalites"] - filed["mt_paye"] > 0).all()  # filed for what is owed
    reg = rows(zone, "entreprises")[["siren", "date", "procedure_collective", "date_jugement"]]
    seen = filed.merge(reg, on=["siren", "date"], how="left")
    shown = seen["procedure_collective"].notna() & (seen["date_jugement"] <= seen["date"])
    assert len(seen) > 50
    assert shown.mean() > 0.6  # mostly companies whose register shows the judgment
    assert (seen["procedure_collective"].isna() & seen["siren"].isin(reg["siren"])).any()  # register lagging


def test_each_version_2_case_appears_in_every_department(zone) -> None:
    summary, decoded = zone
    for d in DEPTS:
        def latest(source: str, d: str = d) -> pd.DataFrame:
            frame = rows(zone, source, latest=True)
            return frame[frame["dept"] == d]

        day = pd.Timestamp(AS_OF)
        fines = latest("amendes")
        off = fines[fines["statut"] == "ADMISE_NON_VALEUR"]
        assert (off["montant_majore"] > off["montant_paye"]).any()
        assert ((day - off["date_majoration"]).dt.days >= 365).all()  # written off after a year of pursuit
        receivables = latest("creances_is")
        later = receivables[(receivables["statut"] == "REMBOURSABLE") & (receivables["date_remboursable"] > day)]
        years_ahead = (later["date_remboursable"] - day).dt.days / 365
        assert ((later["type_creance"] == "CIR") & (years_ahead > 1) & (years_ahead < 3.2)).any()
        assert (receivables["statut"] == "IMPUTEE").any()
        taxes = latest("impots_pro")
        owed = taxes["mt_droits"] + taxes["mt_penalites"] - taxes["mt_paye"] > 0
        assert (owed & (taxes["date_exigibilite"] > day)).mean() > 0.03  # not yet due: dettes_a_echoir
        assert (taxes["phase"] == "PASSIF_PROCEDURE").any()
        assert (latest("excedents")["statut"] == "IMPUTE").any()
        record = next(r for r in summary.records if r.source == "credits_tva" and r.departement == d
                      and r.date == AS_OF)
        v = decoded[record.path]
        applied = (v.kept["statut"] == "IMPUTEE").sum() if V2 else v.rejects["contenu"].str.endswith(";IMPUTEE").sum()
        assert applied > 0
        # foreign companies registered in France (3120) or not (3220), in scope, with lines here
        reg = register(zone)
        foreign = set(reg[reg["categorie_juridique"].isin(["3120", "3220"])]["siren"])
        cats = reg.set_index("siren")["categorie_juridique"]
        with_lines = set()
        for source in ("amendes", "spl", "impots_pro", "rnf", "credits_tva", "excedents", "creances_is"):
            with_lines |= set(latest(source)["siren"].dropna()) & foreign
        assert {cats[s] for s in with_lines} == {"3120", "3220"}, d
    assert {"3110", "3120", "3220"} <= set(register(zone)["categorie_juridique"])


def test_first_snapshot_follows_the_documented_shares(zone) -> None:
    summary, _ = zone
    first = pd.Timestamp(summary.dates[0])
    fines = rows(zone, "amendes")
    fines = fines[fines["date"] == first]
    for statut, share in shares.FINE_STATUTS.items():
        assert within((fines["statut"] == statut).mean(), share, len(fines)), statut
    taxes = rows(zone, "impots_pro")
    taxes = taxes[taxes["date"] == first]
    assert within((taxes["date_exigibilite"] > first).mean(), shares.TAX_NOT_YET_DUE_SHARE, len(taxes))
    assert within((taxes["sursis"] == "O").mean(), shares.TAX_SURSIS_SHARE, len(taxes))
    vat = rows(zone, "credits_tva", good_only=False) if V2 else None
    if vat is not None:
        vat = vat[vat["date"] == first]
        for statut, share in shares.VAT_STATUTS.items():
            assert within((vat["statut"] == statut).mean(), share, len(vat)), statut
    reg = rows(zone, "entreprises")
    reg = reg[(reg["date"] == first) & reg["departement"].isin(DEPTS)
              & (reg["categorie_juridique"].str[0].isin(list("5689")))]
    n = len(reg)
    ceased = (reg["etat_administratif"] == "C") & reg["procedure_collective"].isna()
    # ceased without a procedure: the drawn share, less the few whose procedure the register does not show yet
    assert within(ceased.mean(), shares.CEASED_SHARE * (1 - shares.PROCEDURE_SHARE), n, slack=0.005)
    # procedures shown: the drawn share, less those the register has not caught up with yet
    assert within(reg["procedure_collective"].notna().mean(), shares.PROCEDURE_SHARE, n, slack=0.005)

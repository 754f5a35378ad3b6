"""Generated data an agent would find plausible (issue 8, contract version 2), read back with the decoder.

A landing zone of two departments × 2 000 companies × 4 weekly snapshots is decoded with the project's own
`read_source_file`; every check is a vectorised pass over the decoded rows of all files.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dateutil.easter import easter
from dateutil.relativedelta import relativedelta

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


# ----- contract version 3 (issue 16, item 7) -----------------------------------------------------------------

def _holidays(year: int) -> set[date]:
    """French public holidays (art. 642 CPC as SOURCES.md section 6 lists them)."""
    e = easter(year)
    return {date(year, 1, 1), e + timedelta(days=1), date(year, 5, 1), date(year, 5, 8), e + timedelta(days=39),
            e + timedelta(days=50), date(year, 7, 14), date(year, 8, 15), date(year, 11, 1), date(year, 11, 11),
            date(year, 12, 25)}


def _deadline(published: date, months: int) -> date:
    """Art. 641 (same day number or the month's last day) then art. 642 (next working day)."""
    d = published + relativedelta(months=months)
    while d.weekday() >= 5 or d in _holidays(d.year):
        d += timedelta(days=1)
    return d


def _state(published: pd.Timestamp, as_of: date) -> str:
    """The `etat` of SOURCES.md section 6 of a pre-judgment claim, creditor and court in metropolitan France."""
    if pd.isna(published):
        return "BODACC_INCONNU"
    if as_of <= _deadline(published.date(), 2):
        return "A_DECLARER"
    return "RELEVE_POSSIBLE" if as_of <= _deadline(published.date(), 6) else "FORCLOS"


def _procedures(zone) -> pd.DataFrame:
    """Companies whose latest register shows a procedure opened by the latest date, with their claims' state."""
    reg = rows(zone, "entreprises", latest=True)
    open_ = reg[reg["procedure_collective"].notna() & (reg["date_jugement"] <= pd.Timestamp(AS_OF))].copy()
    open_["etat"] = [_state(p, AS_OF) for p in open_["date_publication_bodacc"]]
    return open_[["siren", "departement", "date_jugement", "date_publication_bodacc", "etat"]]


def test_bodacc_publications_put_procedures_in_each_state(zone) -> None:
    everyone = rows(zone, "entreprises")
    published = everyone[everyone["date_publication_bodacc"].notna()]
    assert published["procedure_collective"].notna().all()  # only with a procedure
    assert (published["date_publication_bodacc"] >= published["date_jugement"]).all()  # never before the judgment
    assert (published["date_publication_bodacc"] <= published["date"]).all()  # published by the file's date
    procs = _procedures(zone)
    for d in DEPTS:
        assert set(procs[procs["departement"] == d]["etat"]) == set(shares.BODACC_STATES), d
    observed = procs["etat"].value_counts(normalize=True)
    for state, share in shares.BODACC_STATES.items():  # the documented proportions (docs/demo.md)
        assert within(observed[state], share, len(procs)), (state, observed.to_dict())


def _open_debts(zone, source: str) -> pd.DataFrame:
    """Open lines of the latest snapshot (remaining > 0) with their debtor's SIREN."""
    f = rows(zone, source, latest=True)
    if source == "impots_pro":
        return f[f["mt_droits"] + f["mt_penalites"] - f["mt_paye"] > 0]
    if source == "amendes":
        return f[(f["statut"] == "EN_RECOUVREMENT") & (f["montant_majore"] > f["montant_paye"])]
    if source == "spl":
        return f[f["reste_a_recouvrer"] > 0].assign(siren=f["siret_debiteur"].str[:9])
    f = f[f["statut"].isin(["PRIS_EN_CHARGE", "EN_RECOUVREMENT"]) & (f["montant"] > f["montant_recouvre"])]
    ident = f["identifiant_debiteur"]
    return f.assign(siren=ident.where(~ident.str.startswith("FR"), ident.str[4:]).str[:9])


def test_claims_arising_before_and_after_a_judgment(zone) -> None:
    procs = _procedures(zone)[["siren", "date_jugement", "etat"]]
    day = pd.Timestamp(AS_OF)
    for d in DEPTS:
        def about(source: str, d: str = d) -> pd.DataFrame:
            f = _open_debts(zone, source)
            return f[f["dept"] == d].merge(procs, on="siren")

        taxes = about("impots_pro")
        # a CFE of the judgment's year, due after it: it arose on 1 January, before the judgment — to declare
        cfe = taxes[(taxes["code_impot"] == "CFE") & (taxes["periode"] == taxes["date_jugement"].dt.year.astype(str))
                     & (taxes["date_exigibilite"] > taxes["date_jugement"]) & (taxes["phase"] != "PASSIF_PROCEDURE")]
        assert len(cfe) >= 5, d
        assert (cfe["date_exigibilite"] > day).any() and (cfe["date_exigibilite"] <= day).any()  # due or not yet
        fines = about("amendes")
        late = fines[(fines["date_majoration"] > fines["date_jugement"])
                     & (fines["date_infraction"] < fines["date_jugement"])]
        assert len(late) >= 3 and late["siren"].notna().all(), d
        titles = pd.concat([about("spl"), about("rnf")])
        assert (titles["date_emission"] > titles["date_jugement"]).sum() >= 5, d  # arose after: to qualify
        # claims arising before the judgment, to declare, in each state of the publication
        before = pd.concat([taxes[taxes["phase"] != "PASSIF_PROCEDURE"][["siren", "etat"]],
                            fines[fines["date_infraction"] < fines["date_jugement"]][["siren", "etat"]],
                            titles[titles["date_emission"] < titles["date_jugement"]][["siren", "etat"]]])
        assert set(before["etat"]) == set(shares.BODACC_STATES), d


def test_credits_in_one_department_against_taxes_due_in_another(zone) -> None:
    day = pd.Timestamp(AS_OF)
    taxes = rows(zone, "impots_pro", latest=True)
    due = taxes[(taxes["mt_droits"] + taxes["mt_penalites"] - taxes["mt_paye"] > 0) & (taxes["date_exigibilite"] <= day)
                & (taxes["sursis"] == "N") & (taxes["phase"] != "PASSIF_PROCEDURE")]
    vat, exc = rows(zone, "credits_tva", latest=True), rows(zone, "excedents", latest=True)
    credits = pd.concat([vat[vat["statut"] == "ACCORDEE"][["siren", "dept"]],
                         exc[exc["statut"] == "A_RESTITUER"][["siren", "dept"]]])
    blocked = set(_procedures(zone)["siren"]) | set(taxes[taxes["phase"] == "PASSIF_PROCEDURE"]["siren"])
    pairs = credits.merge(due[["siren", "dept"]], on="siren", suffixes=("_credit", "_dette"))
    pairs = pairs[(pairs["dept_credit"] != pairs["dept_dette"]) & ~pairs["siren"].isin(blocked)]
    per_direction = pairs.drop_duplicates(["siren", "dept_credit"]).groupby(["dept_credit", "dept_dette"]).size()
    # what the national `compensations` output shows: a credit here, pursuable taxes there, both ways
    assert per_direction.get(("17", "33"), 0) >= 4 and per_direction.get(("33", "17"), 0) >= 4, per_direction


def test_refunded_and_applied_claims_carry_their_amount(zone) -> None:
    vat = rows(zone, "credits_tva")
    settled = vat[vat["statut"].isin(["ACCORDEE", "REMBOURSEE", "IMPUTEE"])]
    assert {"REMBOURSEE", "IMPUTEE"} <= set(settled["statut"])
    assert settled["montant_accorde"].notna().all()
    assert (settled["montant_accorde"] <= settled["montant_demande"]).all()
    assert vat[~vat["statut"].isin(["ACCORDEE", "REMBOURSEE", "IMPUTEE"])]["montant_accorde"].isna().all()
    # the deliberately bad rows break the version-3 rules too: a refund without its amount, a register row
    # published before its judgment or without a procedure
    summary, decoded = zone
    rejects = pd.concat([decoded[r.path].rejects for r in summary.records])
    amount = rejects[rejects["colonne"] == "MONTANT_ACCORDE"]["contenu"]
    assert amount.str.contains(r";(?:REMBOURSEE|IMPUTEE)$").any()
    assert (rejects["colonne"] == "date_publication_bodacc").sum() >= 2

"""Demo data with a past (issue 10): weekly snapshots whose differences are the movements of section 9.

Two departments (17, a pilot, and 33) × 3 000 companies × 4 weekly snapshots, decoded with the project's
own `read_source_file`; each check compares consecutive snapshots of the decoded rows, vectorised.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from onevision_dagster.cli import main
from onevision_dagster.contract.sources import CREDITS_TVA, PARTITIONED_SOURCES, SOURCES_BY_NAME
from onevision_dagster.demo.generator import generate_landing
from onevision_dagster.demo.summary import GenerationSummary
from onevision_dagster.ingest.load import read_source_file
from onevision_dagster.ingest.validation import ValidatedFile

AS_OF = date(2026, 11, 20)
DEPTS = ("17", "33")
N = 3000
V2 = "IMPUTEE" in CREDITS_TVA.column("STATUT").codes  # see test_generator_plausible
KEY = {"amendes": "num_amende", "spl": "cle", "impots_pro": "ref_article", "rnf": "numero_titre",
       "credits_tva": "num_demande", "excedents": "ref_excedent", "creances_is": "ref_creance"}
Zone = tuple[GenerationSummary, dict[Path, ValidatedFile]]


@pytest.fixture(scope="module")
def zone(tmp_path_factory: pytest.TempPathFactory) -> Zone:
    out = tmp_path_factory.mktemp("history")
    summary = generate_landing(out, DEPTS, N, AS_OF, seed=5, bad_row_rate=0.01, instantanes=4, pilotes=("17",))
    decoded = {r.path: read_source_file(SOURCES_BY_NAME[r.source], r.path) for r in summary.records}
    return summary, decoded


def _vat_refused_as_unknown(v: ValidatedFile) -> pd.DataFrame:
    """IMPUTEE claims a pre-v2 decoder refuses, read back from the rejected raw line (cp1252, ';')."""
    raw = v.rejects[(v.rejects["colonne"] == "STATUT") & v.rejects["contenu"].str.endswith(";IMPUTEE")]
    cells = raw["contenu"].str.split(";", expand=True)
    if cells.empty:
        return pd.DataFrame(columns=["siren", "num_demande", "montant_demande", "montant_accorde", "statut", "ligne"])
    return pd.DataFrame({"siren": cells[0], "num_demande": cells[1], "statut": cells[6], "ligne": raw["ligne"],
                         "montant_demande": cells[4].str.replace(",", "").astype("int64"),
                         "montant_accorde": cells[5].str.replace(",", "").astype("int64")})


def frames(zone: Zone, source: str, dept: str) -> list[pd.DataFrame]:
    """Kept rows of the department's files of `source`, oldest first, the deliberately invalid rows left out."""
    summary, decoded = zone
    out = []
    for dt in summary.dates:
        r = next(x for x in summary.records if x.source == source and x.departement == dept and x.date == dt)
        v = decoded[r.path]
        kept = v.kept
        if source == "credits_tva" and not V2:
            kept = pd.concat([kept, _vat_refused_as_unknown(v)], ignore_index=True)
        kept = kept[~kept["ligne"].isin(r.bad_lines)].copy()
        if source == "spl":
            kept["cle"] = kept["code_collectivite"] + "/" + kept["exercice"] + "/" + kept["num_titre"]
        out.append(kept.set_index(KEY[source], drop=False))
    return out


def registers(zone: Zone) -> list[pd.DataFrame]:
    summary, decoded = zone
    regs = sorted((r for r in summary.records if r.source == "entreprises"), key=lambda r: r.date)
    out = []
    for r in regs:
        kept = decoded[r.path].kept
        out.append(kept[~kept["ligne"].isin(r.bad_lines)].set_index("siren", drop=False))
    return out


def pairs(seq: list) -> list[tuple]:
    return list(zip(seq[:-1], seq[1:], strict=True))


def test_weekly_snapshots_each_with_a_register_and_seven_files(zone: Zone) -> None:
    summary, _ = zone
    assert summary.dates == tuple(AS_OF - timedelta(days=7 * i) for i in (3, 2, 1, 0))
    for dt in summary.dates:
        names = {r.path.name for r in summary.records if r.date == dt}
        stamp = f"{dt:%Y%m%d}"
        assert names == {f"entreprises_{stamp}.csv"} | {f"{s.name}_{d}_{stamp}.csv" for s in PARTITIONED_SOURCES
                                                           for d in DEPTS}


def test_keys_keep_their_identity_and_never_come_back(zone: Zone) -> None:
    fixed = {"amendes": ["date_majoration", "montant_majore", "raison_sociale"],
             "spl": ["date_emission", "siret_debiteur"], "impots_pro": ["siren", "code_impot", "date_exigibilite"],
             "rnf": ["date_emission", "identifiant_debiteur"], "credits_tva": ["siren", "montant_demande"],
             "excedents": ["siren", "montant"], "creances_is": ["siren", "montant", "date_remboursable"]}
    for source, cols in fixed.items():
        for d in DEPTS:
            snaps = frames(zone, source, d)
            seen = set(snaps[0].index)
            for before, after in pairs(snaps):
                assert after.index.is_unique and before.index.is_unique
                common = before.index.intersection(after.index)
                assert len(common) > 0.8 * len(before), (source, d)
                pd.testing.assert_frame_equal(before.loc[common, cols], after.loc[common, cols], check_names=False)
                new = after.index.difference(before.index)
                assert len(new) > 0, (source, d)
                assert not set(new) & seen, f"{source} {d}: a key that left came back"
                assert len(before.index.difference(after.index)) > 0, (source, d)  # lines leave the extract
                seen |= set(new)


def _paid(source: str, f: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(D, P) of section 9 per line, in cents."""
    if source == "amendes":
        return f["montant_majore"], f["montant_majore"].where(f["statut"] == "PAYEE", f["montant_paye"])
    if source == "spl":
        return f["montant_titre"], f["montant_titre"] - f["reste_a_recouvrer"]
    if source == "impots_pro":
        return f["mt_droits"] + f["mt_penalites"], f["mt_paye"]
    return f["montant"], f["montant"].where(f["statut"] == "SOLDE", f["montant_recouvre"])


def test_debts_move_as_section_9_describes(zone: Zone) -> None:
    seen: dict[str, int] = {}

    def count(kind: str, n: int) -> None:
        seen[kind] = seen.get(kind, 0) + int(n)

    for source in ("amendes", "spl", "impots_pro", "rnf"):
        for d in DEPTS:
            for before, after in pairs(frames(zone, source, d)):
                common = before.index.intersection(after.index)
                b, a = before.loc[common], after.loc[common]
                d0, p0 = _paid(source, b)
                d1, p1 = _paid(source, a)
                assert (p1 >= p0).all(), source  # payments only add up
                if source == "impots_pro":
                    assert (a["mt_droits"] <= b["mt_droits"]).all() and (a["mt_penalites"] >= b["mt_penalites"]).all()
                    count("HAUSSE (penalties)", (a["mt_penalites"] > b["mt_penalites"]).sum())
                    count("ANNULATION (relief)", (a["mt_droits"] < b["mt_droits"]).sum())
                else:
                    assert (d1 <= d0).all(), source
                if source == "spl":
                    count("ANNULATION (reduction)", (d1 < d0).sum())
                count(f"PAIEMENT {source}", (p1 > p0).sum())
                count("PAIEMENT partial", ((p1 > p0) & (p1 < d1)).sum())
                count("SORTIE", len(before.index.difference(after.index)))
                count("NOUVELLE", len(after.index.difference(before.index)))
                if source == "amendes":
                    moves = set(zip(b["statut"], a["statut"], strict=True))
                    allowed = {("EN_RECOUVREMENT", s) for s in ("EN_RECOUVREMENT", "PAYEE", "ANNULEE",
                                                                 "ADMISE_NON_VALEUR")}
                    allowed |= {("ADMISE_NON_VALEUR", "ADMISE_NON_VALEUR"), ("ADMISE_NON_VALEUR", "PAYEE"),
                                ("PAYEE", "PAYEE"), ("ANNULEE", "ANNULEE")}
                    assert moves <= allowed, moves - allowed
                    count("NON_VALEUR", ((b["statut"] == "EN_RECOUVREMENT")
                                         & (a["statut"] == "ADMISE_NON_VALEUR")).sum())
                    count("ANNULATION (fine)", ((b["statut"] == "EN_RECOUVREMENT") & (a["statut"] == "ANNULEE")).sum())
                if source == "rnf":
                    closed = b["statut"].isin(["SOLDE", "ANNULE"])
                    assert (a["statut"][closed] == b["statut"][closed]).all()
                    count("ANNULATION (title)", (~closed & (a["statut"] == "ANNULE")).sum())
    for kind in ("HAUSSE (penalties)", "ANNULATION (relief)", "ANNULATION (reduction)", "PAIEMENT amendes",
                 "PAIEMENT spl", "PAIEMENT impots_pro", "PAIEMENT rnf", "PAIEMENT partial", "SORTIE", "NOUVELLE",
                 "NON_VALEUR", "ANNULATION (fine)", "ANNULATION (title)"):
        assert seen.get(kind, 0) > 0, kind


CERTAIN = {"credits_tva": ("ACCORDEE", "montant_accorde", "IMPUTEE", "REMBOURSEE"),
           "excedents": ("A_RESTITUER", "montant", "IMPUTE", "RESTITUE"),
           "creances_is": ("REMBOURSABLE", "montant", "IMPUTEE", "REMBOURSEE")}


def _settled(zone: Zone, d: str) -> list[pd.DataFrame]:
    """Per consecutive pair: credits certain and due at t0 and settled at t1 (siren, amount, applied?)."""
    out = [[] for _ in range(3)]
    for source, (certain, amount, applied, refunded) in CERTAIN.items():
        snaps = frames(zone, source, d)
        for i, (before, after) in enumerate(pairs(snaps)):
            cert = before[before["statut"] == certain]
            if source == "creances_is":
                day = pd.Timestamp(zone[0].dates[i])
                cert = cert[cert["date_remboursable"].isna() | (cert["date_remboursable"] <= day)]
            status = after["statut"].reindex(cert.index)
            done = status.isin([applied, refunded])
            out[i].append(pd.DataFrame({"siren": cert["siren"][done], "C": cert[amount][done].astype("int64"),
                                        "applied": (status[done] == applied)}))
    return [pd.concat(parts, ignore_index=True) for parts in out]


def _offsettable(before: pd.DataFrame, after: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Tax lines a credit could pay at t0 (due, not stayed, not filed in a procedure) still in the t1 file."""
    owed = before["mt_droits"] + before["mt_penalites"] - before["mt_paye"]
    ok = (owed > 0) & (before["date_exigibilite"] <= day) & (before["sursis"] == "N")
    ok &= (before["phase"] != "PASSIF_PROCEDURE") & before.index.isin(after.index)
    lines = before[ok]
    return pd.DataFrame({"siren": lines["siren"], "owed": owed[ok],
                         "paid_more": after["mt_paye"].reindex(lines.index) - lines["mt_paye"]})


def test_credits_applied_to_debts_pay_the_companys_due_taxes(zone: Zone) -> None:
    summary, _ = zone
    regs = registers(zone)
    applied_total = 0
    for d in DEPTS:
        taxes = frames(zone, "impots_pro", d)
        for i, settled in enumerate(_settled(zone, d)):
            day = pd.Timestamp(summary.dates[i])
            lines = _offsettable(taxes[i], taxes[i + 1], day)
            per_company = lines.groupby("siren")[["owed", "paid_more"]].sum()
            applied = settled[settled["applied"]].groupby("siren")["C"].sum()
            applied_total += len(applied)
            owed = per_company["owed"].reindex(applied.index).fillna(0)
            paid_more = per_company["paid_more"].reindex(applied.index).fillna(0)
            assert (owed > 0).all(), "a credit applied for a company that owed no due tax"
            assert (paid_more >= np.minimum(applied, owed)).all(), "the offset did not pay the taxes"
            reg = regs[i]
            judged = reg[reg["procedure_collective"].notna() & (reg["date_jugement"] <= day)]["siren"]
            assert not set(applied.index) & set(judged), "offset despite an open collective procedure"
    assert applied_total > 5


def test_pilot_departments_offset_more_of_what_the_tool_flags(zone: Zone) -> None:
    summary, _ = zone
    rate = {}
    for d in DEPTS:
        taxes = frames(zone, "impots_pro", d)
        settled = []
        for i, s in enumerate(_settled(zone, d)):
            owing = _offsettable(taxes[i], taxes[i + 1], pd.Timestamp(summary.dates[i])).groupby("siren")["owed"].sum()
            settled.append(s[s["siren"].isin(owing.index[owing > 0])])
        s = pd.concat(settled)
        assert len(s) > 15, d
        rate[d] = s.loc[s["applied"], "C"].sum() / s["C"].sum()
    assert rate["17"] > 0.6 and rate["33"] < 0.45 and rate["17"] > 2 * rate["33"], rate


def test_credits_progress_and_never_go_back(zone: Zone) -> None:
    moves: set[tuple[str, str, str]] = set()
    terminal = {"REJETEE", "REMBOURSEE", "IMPUTEE", "RESTITUE", "IMPUTE"}
    for source in CERTAIN:
        for d in DEPTS:
            for before, after in pairs(frames(zone, source, d)):
                common = before.index.intersection(after.index)
                b, a = before.loc[common, "statut"], after.loc[common, "statut"]
                assert (a[b.isin(terminal)] == b[b.isin(terminal)]).all(), source
                moves |= {(source, x, y) for x, y in zip(b, a, strict=True) if x != y}
    for move in [("credits_tva", "DEPOSEE", "EN_INSTRUCTION"), ("credits_tva", "EN_INSTRUCTION", "ACCORDEE"),
                 ("credits_tva", "ACCORDEE", "REMBOURSEE"), ("credits_tva", "ACCORDEE", "IMPUTEE"),
                 ("excedents", "A_RESTITUER", "RESTITUE"), ("excedents", "A_RESTITUER", "IMPUTE"),
                 ("creances_is", "EN_COURS", "REMBOURSABLE"), ("creances_is", "REMBOURSABLE", "REMBOURSEE"),
                 ("creances_is", "REMBOURSABLE", "IMPUTEE")]:
        assert move in moves, move


def test_register_grows_and_opens_procedures(zone: Zone) -> None:
    summary, _ = zone
    regs = registers(zone)
    opened, new = 0, 0
    for i, (before, after) in enumerate(pairs(regs)):
        assert set(before.index) <= set(after.index)  # nobody leaves the register
        arrived = after.loc[after.index.difference(before.index)]
        new += len(arrived)
        assert (arrived["date_creation"] > pd.Timestamp(summary.dates[i])).all()
        common = before.index.intersection(after.index)
        b, a = before.loc[common], after.loc[common]
        now = b["procedure_collective"].isna() & a["procedure_collective"].notna()
        opened += int(now.sum())
        liquidated = now & (a["procedure_collective"] == "LIQUIDATION")
        assert (a.loc[liquidated, "etat_administratif"] == "C").all()
    assert new > 0 and opened > 0


def test_generate_command_writes_weekly_snapshots(tmp_path: Path) -> None:
    code = main(["generate", "--out", str(tmp_path), "--departement", "17", "91", "--entreprises", "60",
                 "--date", "2026-11-20", "--instantanes", "3", "--seed", "2", "--pilotes", "91"])
    assert code == 0
    stamps = {p.stem.rsplit("_", 1)[1] for p in (tmp_path / "amendes").glob("*.csv")}
    assert stamps == {"20261106", "20261113", "20261120"}
    assert len(list((tmp_path / "entreprises").glob("*.csv"))) == 3
    again = tmp_path / "again"
    generate_landing(again, ["17", "91"], 60, AS_OF, seed=2, instantanes=3, pilotes=("91",))
    for p in (tmp_path / "impots_pro").glob("*.csv"):  # same arguments, same bytes
        assert (again / "impots_pro" / p.name).read_bytes() == p.read_bytes()


# ----- the experiment (issue 19, item 6): --debut-pilote and --effet ---------------------------------------------

EXPERIMENT_DATES = tuple(AS_OF - timedelta(days=7 * i) for i in range(5, -1, -1))  # six weekly snapshots
START = EXPERIMENT_DATES[2]  # the weeks ending on the 4th, 5th and 6th snapshots are after the start


@pytest.fixture(scope="module")
def experiments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same zone drawn with `--effet 0` and `--effet 0.3` (17 a pilot, 33 not)."""
    out = {}
    for effect in ("0", "0.3"):
        path = tmp_path_factory.mktemp(f"effet{effect}")
        assert main(["generate", "--out", str(path), "--departement", "17", "33", "--entreprises", "4000",
                     "--date", AS_OF.isoformat(), "--instantanes", "6", "--seed", "9", "--pilotes", "17",
                     "--debut-pilote", START.isoformat(), "--effet", effect]) == 0
        out[effect] = path
    return out


def _kept(root: Path, source: str, dept: str | None, day: date) -> pd.DataFrame:
    """Kept rows of one file (every deliberately invalid row is rejected: the other tests check it)."""
    spec = SOURCES_BY_NAME[source]
    name = f"{source}_{day:%Y%m%d}.csv" if dept is None else f"{source}_{dept}_{day:%Y%m%d}.csv"
    return read_source_file(spec, root / source / name).kept


def _flagged_share(root: Path, dept: str, t0: date, t1: date) -> tuple[int, int]:
    """(flagged credits at t0, of which applied at t1): certain, due credits still in the t1 files, of companies
    owing due, open, non-suspended taxes at t0 (still in the t1 file) and in no procedure the files show."""
    day = pd.Timestamp(t0)
    taxes, taxes1 = _kept(root, "impots_pro", dept, t0), _kept(root, "impots_pro", dept, t1)
    owed = taxes["mt_droits"] + taxes["mt_penalites"] - taxes["mt_paye"] > 0
    owing = taxes[owed & (taxes["date_exigibilite"] <= day) & (taxes["sursis"] == "N")
                  & (taxes["phase"] != "PASSIF_PROCEDURE") & taxes["ref_article"].isin(taxes1["ref_article"])]
    reg = _kept(root, "entreprises", None, t0)
    blocked = set(reg[reg["procedure_collective"].notna() & (reg["date_jugement"] <= day)]["siren"])
    blocked |= set(taxes[taxes["phase"] == "PASSIF_PROCEDURE"]["siren"])
    flagged, applied = 0, 0
    for source, certain, applied_status in (("credits_tva", "ACCORDEE", "IMPUTEE"),
                                            ("excedents", "A_RESTITUER", "IMPUTE"),
                                            ("creances_is", "REMBOURSABLE", "IMPUTEE")):
        before = _kept(root, source, dept, t0)
        after = _kept(root, source, dept, t1).set_index(KEY[source])["statut"]
        c = before[before["statut"] == certain]
        if source == "creances_is":
            c = c[c["date_remboursable"].isna() | (c["date_remboursable"] <= day)]
        c = c[c["siren"].isin(set(owing["siren"]) - blocked) & c[KEY[source]].isin(after.index)]
        flagged += len(c)
        applied += int((after.reindex(c[KEY[source]]) == applied_status).sum())
    return flagged, applied


def _shares(root: Path) -> dict[tuple[str, bool], float]:
    """Share of the flagged credits applied the next week, per department and before / after the start."""
    counts: dict[tuple[str, bool], list[int]] = {}
    for dept in ("17", "33"):
        for t0, t1 in pairs(list(EXPERIMENT_DATES)):
            n, k = _flagged_share(root, dept, t0, t1)
            c = counts.setdefault((dept, t1 > START), [0, 0])
            c[0], c[1] = c[0] + n, c[1] + k
    assert all(n > 100 for n, _ in counts.values()), counts
    return {key: k / n for key, (n, k) in counts.items()}


def test_pilots_apply_the_flagged_credits_with_the_effect_after_the_start(experiments: dict[str, Path]) -> None:
    none, effect = _shares(experiments["0"]), _shares(experiments["0.3"])
    # weekly base: 5 % of the flagged credits applied in every department (docs/demo.md)
    for shares_ in (none, effect):
        for key in (("17", False), ("33", False), ("33", True)):
            assert 0.01 < shares_[key] < 0.12, (key, shares_)
    assert 0.01 < none[("17", True)] < 0.12, none
    # after the start the pilot applies 0.3 more of them
    assert 0.18 < effect[("17", True)] - none[("17", True)] < 0.42, (effect, none)


def test_the_weeks_before_the_start_and_the_other_departments_are_drawn_alike(experiments: dict[str, Path]) -> None:
    a, b = experiments["0"], experiments["0.3"]
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.csv"))
    differ = {p for p in files if (a / p).read_bytes() != (b / p).read_bytes()}
    assert differ, "the effect changed nothing"
    for p in differ:  # only the pilot's extracts after the start
        dept, stamp = p.stem.rsplit("_", 2)[-2:]
        assert dept == "17" and date.fromisoformat(f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:]}") > START, p
    assert any(p.parts[0] == "credits_tva" for p in differ)


def test_generate_refuses_an_effect_that_is_not_a_probability(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("1.2", "-0.1", "beaucoup"):
        with pytest.raises(SystemExit):
            main(["generate", "--out", str(tmp_path), "--departement", "17", "--entreprises", "20", "--effet", bad])
        assert "--effet" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
    assert main(["generate", "--out", str(tmp_path), "--departement", "17", "--entreprises", "20", "--effet", "0,25",
                 "--debut-pilote", "2026-11-13", "--date", "2026-11-20", "--instantanes", "2"]) == 0
    assert "effet +0,25 après le 13/11/2026" in capsys.readouterr().out

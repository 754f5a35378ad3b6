"""Outcomes checked against the data (issue 19 point 5).

An agent records "fait" on an item of the offsets worklist (`compensations`). The outcome is

- "confirmé" when one of the department's next `WEEKS` snapshots after the day it was recorded shows, for that
  SIREN, an `IMPUTATION` movement (a credit applied) or a `PAIEMENT` of professional taxes (the debt paid) in the
  pair ending at that snapshot;
- "non constaté" when `WEEKS` later snapshots exist and none shows it;
- "en attente" otherwise (fewer later snapshots so far).

Plain pandas over three small frames (the outcomes, the snapshot dates, the movements that count as evidence):
merges, no loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

WEEKS = 4
CONFIRME, NON_CONSTATE, EN_ATTENTE = "confirme", "non_constate", "en_attente"
STATUTS = {CONFIRME: "confirmé", NON_CONSTATE: "non constaté", EN_ATTENTE: "en attente"}
EVIDENCE_SQL = """SELECT DISTINCT departement, date_fin, siren FROM history.mouvements
    WHERE (type = 'IMPUTATION' OR (type = 'PAIEMENT' AND source = 'impots_pro'))
      AND list_contains($sirens::VARCHAR[], siren)"""
"""The movements that show an offset made (or the offsettable debt paid), for the SIRENs asked."""
CHECK_COLUMNS = ("departement", "siren", "jour", "statut", "constate_le", "instantanes_apres")
COUNT_COLUMNS = ("departement", "faits", CONFIRME, NON_CONSTATE, EN_ATTENTE)


def classify_outcomes(faits: pd.DataFrame, snapshots: pd.DataFrame, evidence: pd.DataFrame,
                      weeks: int = WEEKS) -> pd.DataFrame:
    """`faits`: departement, siren, jour (the day recorded); `snapshots`: departement, date_situation;
    `evidence`: departement, date_fin, siren. Returns CHECK_COLUMNS, one row per outcome."""
    if faits.empty:
        return pd.DataFrame(columns=list(CHECK_COLUMNS))
    items = faits[["departement", "siren", "jour"]].reset_index(drop=True)
    items = items.assign(item=range(len(items)), jour=pd.to_datetime(items["jour"]))
    snaps = snapshots.assign(date_situation=pd.to_datetime(snapshots["date_situation"]))
    later = items.merge(snaps, on="departement")
    later = later[later["date_situation"] > later["jour"]].sort_values(["item", "date_situation"])
    later = later[later.groupby("item").cumcount() < weeks]
    seen = evidence.assign(date_situation=pd.to_datetime(evidence["date_fin"]))[
        ["departement", "siren", "date_situation"]].drop_duplicates()
    hits = later.merge(seen, on=["departement", "siren", "date_situation"])
    first_hit = hits.groupby("item")["date_situation"].min()
    count = later.groupby("item").size()
    out = items.assign(constate_le=items["item"].map(first_hit),
                       instantanes_apres=items["item"].map(count).fillna(0).astype(int))
    out["statut"] = EN_ATTENTE
    out.loc[out["instantanes_apres"] >= weeks, "statut"] = NON_CONSTATE
    out.loc[out["constate_le"].notna(), "statut"] = CONFIRME
    out["jour"] = out["jour"].dt.date
    out["constate_le"] = [None if pd.isna(d) else d.date() for d in out["constate_le"]]
    return out[list(CHECK_COLUMNS)]


def count_by_department(checked: pd.DataFrame, departements: Sequence[str] | None = None) -> pd.DataFrame:
    """Per department: outcomes "fait" on offsets, confirmed, not seen, pending (COUNT_COLUMNS)."""
    if checked.empty:
        return pd.DataFrame(columns=list(COUNT_COLUMNS))
    counts = pd.crosstab(checked["departement"], checked["statut"]).reindex(
        columns=[CONFIRME, NON_CONSTATE, EN_ATTENTE], fill_value=0)
    if departements is not None:
        counts = counts.reindex(sorted(departements), fill_value=0)
    counts.insert(0, "faits", counts.sum(axis=1))
    return counts.rename_axis(None, axis=1).reset_index(names="departement")[list(COUNT_COLUMNS)]

"""Pandera models of the history tables, as read back from DuckDB (amounts as float64 of DECIMAL(18,2))."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from onevision_dagster.consolidate.schemas import (
    CREDIT_SOURCES,
    DEBT_SOURCES,
    DEPT_RE,
    SIREN_RE,
    TOL,
    Positions,
    _Model,
    _whole_cents,
)
from onevision_dagster.consolidate.tables import CREDIT_NATURES, DEBT_NATURES
from onevision_dagster.history.tables import IMPACT_MONEY_COLUMNS, MOVEMENT_TYPES, OTHERS, PILOT

DEBT_MOVEMENTS = ["SORTIE", "ANNULATION", "NON_VALEUR", "PAIEMENT", "HAUSSE", "NOUVELLE"]
CREDIT_MOVEMENTS = ["SORTIE", "IMPUTATION", "REMBOURSEMENT", "NOUVELLE_CREANCE"]


class PositionsHistorique(Positions):
    class Config:
        unique = ["departement", "date_situation", "siren"]


class LignesHistorique(_Model):
    """Built-in checks only: validated in DuckDB by the generated SQL twins, never read back."""

    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    date_situation: Series[pa.DateTime]
    sens: Series[str] = pa.Field(isin=["D", "C"])
    source: Series[str] = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    cle: Series[str]
    siren: Series[str] = pa.Field(str_matches=SIREN_RE, nullable=True)
    nature: Series[str] = pa.Field(isin=sorted(set(DEBT_NATURES) | set(CREDIT_NATURES)))
    statut: Series[str] = pa.Field(nullable=True)
    montant: Series[float] = pa.Field(ge=0)
    montant_du: Series[float] = pa.Field(ge=0, nullable=True)
    montant_paye: Series[float] = pa.Field(ge=0, nullable=True)
    suivie: Series[bool]
    positionnable: Series[bool]

    class Config:
        unique = ["departement", "date_situation", "sens", "source", "cle"]


class Mouvements(_Model):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    date_debut: Series[pa.DateTime]
    date_fin: Series[pa.DateTime]
    siren: Series[str] = pa.Field(str_matches=SIREN_RE)
    source: Series[str] = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    cle: Series[str]
    type: Series[str] = pa.Field(isin=list(MOVEMENT_TYPES))
    montant: Series[float] = pa.Field(gt=0)

    class Config:
        # a line moves once per type (a payment and a relief of one tax are two rows)
        unique = ["departement", "date_fin", "source", "cle", "type"]

    @pa.check("montant", name="au_centime")
    @classmethod
    def _cents(cls, s: pd.Series) -> pd.Series:
        return _whole_cents(s)

    @pa.dataframe_check(name="paire_ordonnee")
    @classmethod
    def _ordered(cls, df: pd.DataFrame) -> pd.Series:
        return df["date_debut"] < df["date_fin"]

    @pa.dataframe_check(name="type_selon_la_source")
    @classmethod
    def _type_fits_source(cls, df: pd.DataFrame) -> pd.Series:
        debt = df["source"].isin(DEBT_SOURCES)
        return (debt & df["type"].isin(DEBT_MOVEMENTS)) | (~debt & df["type"].isin(CREDIT_MOVEMENTS))


class _ImpactSums(_Model):
    """The impact's money columns (section 9), shared by the department rows and the weekly comparison."""

    recouvre: Series[float] = pa.Field(ge=0)
    annule: Series[float] = pa.Field(ge=0)
    non_valeur: Series[float] = pa.Field(ge=0)
    sorties: Series[float] = pa.Field(ge=0)
    nouvelles_dettes: Series[float] = pa.Field(ge=0)
    compense: Series[float] = pa.Field(ge=0)
    compense_signale: Series[float] = pa.Field(ge=0)
    rembourse: Series[float] = pa.Field(ge=0)
    rembourse_a_risque: Series[float] = pa.Field(ge=0)
    compensable_debut: Series[float] = pa.Field(ge=0)

    @pa.check(*IMPACT_MONEY_COLUMNS, name="au_centime")
    @classmethod
    def _cents(cls, s: pd.Series) -> pd.Series:
        return _whole_cents(s)


class Impact(_ImpactSums):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    date_debut: Series[pa.DateTime]
    date_fin: Series[pa.DateTime]

    class Config:
        unique = ["departement", "date_fin"]

    @pa.dataframe_check(name="signale_borne")
    @classmethod
    def _bounded(cls, df: pd.DataFrame) -> pd.Series:
        """Flagged offsets and refunds at risk are parts of the offsets and refunds, and of what was flagged."""
        f = df.astype({c: float for c in IMPACT_MONEY_COLUMNS})
        return ((f["compense_signale"] <= f["compense"] + TOL)
                & (f["compense_signale"] <= f["compensable_debut"] + TOL)
                & (f["rembourse_a_risque"] <= f["rembourse"] + TOL)
                & (f["rembourse_a_risque"] <= f["compensable_debut"] + TOL)
                & (df["date_debut"] < df["date_fin"]))


class ImpactNational(_ImpactSums):
    semaine: Series[str] = pa.Field(str_matches=r"^\d{4}-W\d{2}$")
    groupe: Series[str] = pa.Field(isin=[PILOT, OTHERS])
    nb_departements: Series[pd.Int64Dtype] = pa.Field(ge=1)
    taux_compensation: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    stock_dettes: Series[float] = pa.Field(ge=0)
    stock_creances: Series[float] = pa.Field(ge=0)
    stock_compensable: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["semaine", "groupe"]


HISTORY_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "history.positions_historique": PositionsHistorique,
    "history.lignes": LignesHistorique,
    "history.mouvements": Mouvements,
    "history.impact": Impact,
    "history.impact_national": ImpactNational,
}

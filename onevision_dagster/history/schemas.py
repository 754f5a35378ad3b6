"""Pandera models of the history tables, checked in DuckDB through Pandera's Ibis backend, as the current ones.

Same conventions as `consolidate.schemas`: the stored types (money `DECIMAL(18,2)`, compared exactly), every row
condition closed with `_sure`, each custom check method named as its check. A history table is validated per
department and snapshot date (`table_validation.validate_table(..., date_situation, model)`).
"""

from __future__ import annotations

import datetime
from typing import Annotated

import ibis.expr.types as ir
import pandera.ibis as pa
from pandera.api.ibis.types import IbisData
from pandera.engines import ibis_engine

from onevision_dagster.consolidate.schemas import (
    CREDIT_SOURCES,
    DEBT_SOURCES,
    DEPT_RE,
    SIREN_RE,
    Int,
    Money,
    Positions,
    _Model,
    _sure,
)
from onevision_dagster.consolidate.tables import CREDIT_NATURES, DEBT_NATURES
from onevision_dagster.history.tables import MOVEMENT_TYPES, OTHERS, PILOT

DEBT_MOVEMENTS = ["SORTIE", "ANNULATION", "NON_VALEUR", "PAIEMENT", "HAUSSE", "NOUVELLE"]
CREDIT_MOVEMENTS = ["SORTIE", "IMPUTATION", "REMBOURSEMENT", "NOUVELLE_CREANCE"]
Rate = Annotated[ibis_engine.Decimal, 7, 4]


class PositionsHistorique(Positions):
    class Config:
        unique = ["departement", "date_situation", "siren"]


class LignesHistorique(_Model):
    departement: str = pa.Field(str_matches=DEPT_RE)
    date_situation: datetime.date
    sens: str = pa.Field(isin=["D", "C"])
    source: str = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    cle: str
    siren: str = pa.Field(str_matches=SIREN_RE, nullable=True)
    nature: str = pa.Field(isin=sorted(set(DEBT_NATURES) | set(CREDIT_NATURES)))
    statut: str = pa.Field(nullable=True)
    montant: Money = pa.Field(ge=0)
    montant_du: Money = pa.Field(ge=0, nullable=True)
    montant_paye: Money = pa.Field(ge=0, nullable=True)
    suivie: bool
    positionnable: bool

    class Config:
        unique = ["departement", "date_situation", "sens", "source", "cle"]


class Mouvements(_Model):
    departement: str = pa.Field(str_matches=DEPT_RE)
    date_debut: datetime.date
    date_fin: datetime.date
    siren: str = pa.Field(str_matches=SIREN_RE)
    source: str = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    cle: str
    type: str = pa.Field(isin=list(MOVEMENT_TYPES))
    montant: Money = pa.Field(gt=0)

    class Config:
        # a line moves once per type (a payment and a relief of one tax are two rows)
        unique = ["departement", "date_fin", "source", "cle", "type"]

    @pa.dataframe_check
    @classmethod
    def paire_ordonnee(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.date_debut < t.date_fin)

    @pa.dataframe_check
    @classmethod
    def type_selon_la_source(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        debt = t.source.isin(DEBT_SOURCES)
        kind = t["type"]
        return _sure((debt & kind.isin(DEBT_MOVEMENTS)) | (~debt & kind.isin(CREDIT_MOVEMENTS)))


class _ImpactSums(_Model):
    """The impact's money columns (section 9), shared by the department rows and the weekly comparison."""

    recouvre: Money = pa.Field(ge=0)
    annule: Money = pa.Field(ge=0)
    non_valeur: Money = pa.Field(ge=0)
    sorties: Money = pa.Field(ge=0)
    nouvelles_dettes: Money = pa.Field(ge=0)
    compense: Money = pa.Field(ge=0)
    compense_signale: Money = pa.Field(ge=0)
    rembourse: Money = pa.Field(ge=0)
    rembourse_a_risque: Money = pa.Field(ge=0)
    compensable_debut: Money = pa.Field(ge=0)


class Impact(_ImpactSums):
    departement: str = pa.Field(str_matches=DEPT_RE)
    date_debut: datetime.date
    date_fin: datetime.date

    class Config:
        unique = ["departement", "date_fin"]

    @pa.dataframe_check
    @classmethod
    def signale_borne(cls, data: IbisData) -> ir.BooleanColumn:
        """Flagged offsets and refunds at risk are parts of the offsets and refunds, and of what was flagged."""
        t = data.table
        return _sure((t.compense_signale <= t.compense) & (t.compense_signale <= t.compensable_debut)
                     & (t.rembourse_a_risque <= t.rembourse) & (t.rembourse_a_risque <= t.compensable_debut)
                     & (t.date_debut < t.date_fin))


class ImpactNational(_ImpactSums):
    semaine: str = pa.Field(str_matches=r"^\d{4}-W\d{2}$")
    groupe: str = pa.Field(isin=[PILOT, OTHERS])
    nb_departements: Int = pa.Field(ge=1)
    taux_compensation: Rate = pa.Field(ge=0, le=1, nullable=True)
    stock_dettes: Money = pa.Field(ge=0)
    stock_creances: Money = pa.Field(ge=0)
    stock_compensable: Money = pa.Field(ge=0)

    class Config:
        unique = ["semaine", "groupe"]


HISTORY_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "history.positions_historique": PositionsHistorique,
    "history.lignes": LignesHistorique,
    "history.mouvements": Mouvements,
    "history.impact": Impact,
    "history.impact_national": ImpactNational,
}

"""Pandera models of the core and marts tables, as pandas frames read back from DuckDB.

The assets validate what they *wrote* (``SELECT * ... .df()``), so a cast or a
default applied by the warehouse is caught too. DuckDB hands ``DECIMAL(18,2)``
to pandas as ``float64``: amounts are checked to be whole cents rather than
typed as ``Decimal``; integers arrive as ``int32`` or ``Int32`` (with nulls) and
are coerced to the nullable ``Int64``. Column sets are strict: a column added
or renamed in the SQL without updating docs/warehouse.md and this file fails.

Beyond types, the models carry the arithmetic of SOURCES.md section 6 (totals,
balance, offsetting bounds, number of debtor sources) so a regression in the
SQL is stopped before an agent sees it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from onevision_dagster.consolidate.tables import (
    CREDIT_COLUMNS,
    CREDIT_NATURES,
    DEBT_COLUMNS,
    DEBT_NATURES,
    POSITION_MONEY_COLUMNS,
)
from onevision_dagster.contract.sources import DEPARTEMENT_PATTERN

SIREN_RE = r"^\d{9}$"
DEPT_RE = rf"^{DEPARTEMENT_PATTERN}$"
DEPTS_RE = rf"^{DEPARTEMENT_PATTERN}(,{DEPARTEMENT_PATTERN})*$"
DEBT_SOURCES = ["amendes", "spl", "impots_pro", "rnf"]
CREDIT_SOURCES = ["credits_tva", "excedents", "creances_is"]
PROCEDURES = ["SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"]
STAGES = ["AMIABLE", "RELANCE", "MISE_EN_DEMEURE", "CONTESTATION", "SAISIE", "SATD", "PASSIF_PROCEDURE"]
TOL = 0.005  # half a cent: float64 read-back of DECIMAL(18,2)


def _whole_cents(s: pd.Series) -> pd.Series:
    cents = s.astype(float) * 100
    return ((cents - cents.round()).abs() < 1e-6) | s.isna()


def _eq(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a.astype(float) - b.astype(float)).abs() < TOL


class _Model(pa.DataFrameModel):
    class Config:
        coerce = True
        strict = True


# --------------------------------------------------------------------------- core


class RattachementAmendes(_Model):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    num_amende: Series[str]
    fichier: Series[str] = pa.Field(nullable=True)
    ligne: Series[pd.Int64Dtype] = pa.Field(ge=2, nullable=True)
    raison_sociale: Series[str] = pa.Field(nullable=True)
    code_postal: Series[str] = pa.Field(nullable=True)
    siren_source: Series[str] = pa.Field(nullable=True)
    nom_normalise: Series[str] = pa.Field(nullable=True)
    methode: Series[str] = pa.Field(
        isin=["SIREN", "SIREN_SANS_ESPACES", "NOM_CODE_POSTAL", "SIGLE_CODE_POSTAL"], nullable=True
    )
    siren: Series[str] = pa.Field(str_matches=SIREN_RE, nullable=True)
    motif: Series[str] = pa.Field(isin=["AMBIGUE", "AUCUN_CANDIDAT"], nullable=True)
    nb_candidats: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)

    class Config:
        unique = ["departement", "num_amende"]

    @pa.dataframe_check(name="attachee_xor_motif")
    @classmethod
    def _attached_xor_reason(cls, df: pd.DataFrame) -> pd.Series:
        attached = df["siren"].notna()
        return (attached == df["methode"].notna()) & (attached == df["motif"].isna())

    @pa.dataframe_check(name="candidats_coherents")
    @classmethod
    def _candidates(cls, df: pd.DataFrame) -> pd.Series:
        n = df["nb_candidats"]
        by_name = df["methode"].isin(["NOM_CODE_POSTAL", "SIGLE_CODE_POSTAL"])
        return (
            (~by_name | (n == 1)).fillna(False)
            & ((df["motif"] != "AMBIGUE") | (n > 1)).fillna(False)
            & ((df["motif"] != "AUCUN_CANDIDAT") | (n == 0)).fillna(False)
        )


class _Lignes(_Model):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    siren: Series[str] = pa.Field(str_matches=SIREN_RE, nullable=True)
    source: Series[str]
    reference: Series[str]
    date_ligne: Series[pa.DateTime] = pa.Field(nullable=True)
    montant: Series[float] = pa.Field(ge=0)
    statut: Series[str] = pa.Field(nullable=True)
    etape: Series[str] = pa.Field(isin=STAGES, nullable=True)
    ouverte: Series[bool]
    nature: Series[str]
    compensable: Series[bool]
    sursis: Series[bool]
    conteste: Series[bool]
    passif: Series[bool]
    montant_du: Series[float] = pa.Field(ge=0, nullable=True)
    montant_paye: Series[float] = pa.Field(ge=0, nullable=True)
    fichier: Series[str] = pa.Field(nullable=True)
    ligne: Series[pd.Int64Dtype] = pa.Field(ge=2, nullable=True)
    date_extraction: Series[pa.DateTime] = pa.Field(nullable=True)

    @pa.check("montant", "montant_du", "montant_paye", name="au_centime")
    @classmethod
    def _cents(cls, s: pd.Series) -> pd.Series:
        return _whole_cents(s)

    @pa.dataframe_check(name="montant_si_nature")
    @classmethod
    def _amount_iff_nature(cls, df: pd.DataFrame) -> pd.Series:
        """A line adds an amount exactly when it adds to a position column."""
        return (df["nature"] != "AUCUNE") == (df["montant"] > 0)


class LignesDettes(_Lignes):
    source: Series[str] = pa.Field(isin=DEBT_SOURCES)
    reference: Series[str]
    nature: Series[str] = pa.Field(isin=list(DEBT_NATURES))

    class Config:
        unique = ["departement", "source", "reference"]

    @pa.dataframe_check(name="ouverte_si_exigible_ou_a_echoir")
    @classmethod
    def _open(cls, df: pd.DataFrame) -> pd.Series:
        return df["ouverte"] == df["nature"].isin(["EXIGIBLE", "A_ECHOIR"])

    @pa.dataframe_check(name="compensable_impots_pro_exigible")
    @classmethod
    def _offsettable(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["compensable"] | ((df["nature"] == "EXIGIBLE") & (df["source"] == "impots_pro") & ~df["sursis"])

    @pa.dataframe_check(name="a_echoir_impots_pro")
    @classmethod
    def _not_yet_due(cls, df: pd.DataFrame) -> pd.Series:
        return (df["nature"] != "A_ECHOIR") | (df["source"] == "impots_pro")

    @pa.dataframe_check(name="non_valeur_amendes")
    @classmethod
    def _written_off(cls, df: pd.DataFrame) -> pd.Series:
        return (df["nature"] != "NON_VALEUR") | (df["source"] == "amendes")

    @pa.dataframe_check(name="passif_impots_pro_ouvert")
    @classmethod
    def _declared(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["passif"] | (df["ouverte"] & (df["source"] == "impots_pro"))

    @pa.dataframe_check(name="reste_du_moins_paye")
    @classmethod
    def _remaining(cls, df: pd.DataFrame) -> pd.Series:
        """What a debt adds is what is left to pay (section 9: reste = D − P)."""
        remaining = df["montant_du"].astype(float) - df["montant_paye"].astype(float)
        return (df["nature"] == "AUCUNE") | _eq(df["montant"], remaining)

    @pa.dataframe_check(name="rattachement_seulement_amendes")
    @classmethod
    def _null_siren_only_fines(cls, df: pd.DataFrame) -> pd.Series:
        return df["siren"].notna() | (df["source"] == "amendes")


class LignesCreances(_Lignes):
    siren: Series[str] = pa.Field(str_matches=SIREN_RE)
    source: Series[str] = pa.Field(isin=CREDIT_SOURCES)
    nature: Series[str] = pa.Field(isin=list(CREDIT_NATURES))

    class Config:
        unique = ["departement", "source", "reference"]

    @pa.dataframe_check(name="ouverte_si_montant")
    @classmethod
    def _open(cls, df: pd.DataFrame) -> pd.Series:
        return df["ouverte"] == (df["nature"] != "AUCUNE")

    @pa.dataframe_check(name="compensable_si_certaine")
    @classmethod
    def _certain(cls, df: pd.DataFrame) -> pd.Series:
        return df["compensable"] == (df["nature"] == "CERTAINE")

    @pa.dataframe_check(name="a_echoir_creances_is")
    @classmethod
    def _refundable_later(cls, df: pd.DataFrame) -> pd.Series:
        return (df["nature"] != "A_ECHOIR") | (df["source"] == "creances_is")

    @pa.dataframe_check(name="sans_sursis_ni_passif")
    @classmethod
    def _no_debt_flags(cls, df: pd.DataFrame) -> pd.Series:
        return ~df["sursis"] & ~df["conteste"] & ~df["passif"]


class NonPositionnees(_Model):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)
    source: Series[str] = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    fichier: Series[str] = pa.Field(nullable=True)
    ligne: Series[pd.Int64Dtype] = pa.Field(ge=2, nullable=True)
    reference: Series[str] = pa.Field(nullable=True)
    motif: Series[str] = pa.Field(isin=["NON_RATTACHEE", "HORS_PERIMETRE", "REGISTRE_REJETE", "SIREN_INCONNU"])
    siren: Series[str] = pa.Field(str_matches=SIREN_RE, nullable=True)

    class Config:
        unique = ["departement", "source", "fichier", "ligne"]

    @pa.dataframe_check(name="siren_vide_si_non_rattachee")
    @classmethod
    def _siren(cls, df: pd.DataFrame) -> pd.Series:
        return (df["motif"] == "NON_RATTACHEE") == df["siren"].isna()


# --------------------------------------------------------------------------- marts

_POSITION_MONEY = list(POSITION_MONEY_COLUMNS)
_DEBTS = list(DEBT_COLUMNS)
_CREDITS = list(CREDIT_COLUMNS)


class _PositionBase(_Model):
    siren: Series[str] = pa.Field(str_matches=SIREN_RE)
    denomination: Series[str] = pa.Field(nullable=True)
    date_situation: Series[pa.DateTime]
    dettes_amendes: Series[float] = pa.Field(ge=0)
    dettes_spl: Series[float] = pa.Field(ge=0)
    dettes_impots_pro: Series[float] = pa.Field(ge=0)
    dettes_rnf: Series[float] = pa.Field(ge=0)
    total_dettes: Series[float] = pa.Field(ge=0)
    dettes_a_echoir: Series[float] = pa.Field(ge=0)
    dettes_non_valeur: Series[float] = pa.Field(ge=0)
    creances_tva: Series[float] = pa.Field(ge=0)
    creances_excedents: Series[float] = pa.Field(ge=0)
    creances_is: Series[float] = pa.Field(ge=0)
    total_creances: Series[float] = pa.Field(ge=0)
    creances_a_echoir: Series[float] = pa.Field(ge=0)
    creances_potentielles: Series[float] = pa.Field(ge=0)
    solde: Series[float]
    dettes_compensables: Series[float] = pa.Field(ge=0)
    montant_compensable: Series[float] = pa.Field(ge=0)
    passif_declare: Series[float] = pa.Field(ge=0)
    nb_sources_dettes: Series[pd.Int64Dtype] = pa.Field(ge=0, le=4)
    anciennete_jours: Series[pd.Int64Dtype] = pa.Field(ge=0, nullable=True)
    procedure_collective: Series[str] = pa.Field(isin=PROCEDURES, nullable=True)

    @pa.check(*_POSITION_MONEY, name="au_centime")
    @classmethod
    def _cents(cls, s: pd.Series) -> pd.Series:
        return _whole_cents(s)

    @pa.dataframe_check(name="totaux")
    @classmethod
    def _totals(cls, df: pd.DataFrame) -> pd.Series:
        debts = df[_DEBTS].astype(float).sum(axis=1)
        credits = df[_CREDITS].astype(float).sum(axis=1)
        return (
            _eq(df["total_dettes"], debts)
            & _eq(df["total_creances"], credits)
            & _eq(df["solde"], df["total_creances"].astype(float) - df["total_dettes"].astype(float))
        )

    @pa.dataframe_check(name="compensation")
    @classmethod
    def _offsetting(cls, df: pd.DataFrame) -> pd.Series:
        """Bounded by both sides, 0 when a claim is declared in a procedure (section 8)."""
        bound = np.minimum(df["total_creances"].astype(float), df["dettes_compensables"].astype(float))
        mc = df["montant_compensable"].astype(float)
        return (
            (_eq(mc, bound) | (mc == 0))
            & ((df["passif_declare"].astype(float) == 0) | (mc == 0))
            & (df["dettes_compensables"].astype(float) <= df["dettes_impots_pro"].astype(float) + TOL)
        )

    @pa.dataframe_check(name="passif_dans_les_impots")
    @classmethod
    def _declared(cls, df: pd.DataFrame) -> pd.Series:
        """Declared claims are open taxes, already counted as due or not yet due."""
        taxes = df["dettes_impots_pro"].astype(float) + df["dettes_a_echoir"].astype(float)
        return df["passif_declare"].astype(float) <= taxes + TOL

    @pa.dataframe_check(name="nb_sources_dettes")
    @classmethod
    def _nb_sources(cls, df: pd.DataFrame) -> pd.Series:
        return df["nb_sources_dettes"].astype(int) == (df[_DEBTS].astype(float) > 0).sum(axis=1)

    @pa.dataframe_check(name="anciennete_si_dette")
    @classmethod
    def _age(cls, df: pd.DataFrame) -> pd.Series:
        return df["anciennete_jours"].notna() == (df["total_dettes"].astype(float) > 0)

    @pa.dataframe_check(name="position_non_vide")
    @classmethod
    def _not_empty(cls, df: pd.DataFrame) -> pd.Series:
        amounts = df[["total_dettes", "dettes_a_echoir", "dettes_non_valeur", "total_creances",
                      "creances_a_echoir", "creances_potentielles"]].astype(float)
        return (amounts > 0).any(axis=1)


class Positions(_PositionBase):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)

    class Config:
        unique = ["siren", "departement"]


class PositionsNationales(_PositionBase):
    departements: Series[str] = pa.Field(str_matches=DEPTS_RE)

    class Config:
        unique = ["siren"]

    @pa.check("departements", name="departements_tries")
    @classmethod
    def _sorted(cls, s: pd.Series) -> pd.Series:
        return s.map(lambda v: (codes := v.split(",")) == sorted(set(codes)))


def _ranks_ok(df: pd.DataFrame) -> bool:
    """Ranks are 1..n and follow the score (non-increasing)."""
    if df.empty:
        return True
    ordered = df.sort_values("rang")
    contiguous = list(ordered["rang"].astype(int)) == list(range(1, len(df) + 1))
    return contiguous and bool(ordered["score"].astype(float).is_monotonic_decreasing)


class _PanelBase(_Model):
    rang: Series[pd.Int64Dtype] = pa.Field(ge=1)
    siren: Series[str] = pa.Field(str_matches=SIREN_RE)
    denomination: Series[str] = pa.Field(nullable=True)
    nb_sources_dettes: Series[pd.Int64Dtype] = pa.Field(ge=2, le=4)
    total_dettes: Series[float] = pa.Field(gt=0)
    dettes_amendes: Series[float] = pa.Field(ge=0)
    dettes_spl: Series[float] = pa.Field(ge=0)
    dettes_impots_pro: Series[float] = pa.Field(ge=0)
    dettes_rnf: Series[float] = pa.Field(ge=0)
    anciennete_jours: Series[pd.Int64Dtype] = pa.Field(ge=0)
    etape_la_plus_avancee: Series[str] = pa.Field(isin=STAGES, nullable=True)
    score: Series[float] = pa.Field(ge=0, le=100)

    @pa.dataframe_check(name="total_dettes")
    @classmethod
    def _total(cls, df: pd.DataFrame) -> pd.Series:
        return _eq(df["total_dettes"], df[_DEBTS].astype(float).sum(axis=1))


class PanelDebiteursCommuns(_PanelBase):
    departement: Series[str] = pa.Field(str_matches=DEPT_RE)

    class Config:
        unique = ["siren", "departement"]

    @pa.dataframe_check(name="rangs_contigus_par_score")
    @classmethod
    def _ranks(cls, df: pd.DataFrame) -> bool:
        # ranks restart in every department
        return all(_ranks_ok(g) for _, g in df.groupby("departement"))


class PanelDebiteursCommunsNational(_PanelBase):
    departements: Series[str] = pa.Field(str_matches=DEPTS_RE)

    class Config:
        unique = ["siren"]

    @pa.dataframe_check(name="rangs_contigus_par_score")
    @classmethod
    def _ranks(cls, df: pd.DataFrame) -> bool:
        return _ranks_ok(df)


TABLE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "core.rattachement_amendes": RattachementAmendes,
    "core.lignes_dettes": LignesDettes,
    "core.lignes_creances": LignesCreances,
    "core.non_positionnees": NonPositionnees,
    "marts.positions": Positions,
    "marts.positions_nationales": PositionsNationales,
    "marts.panel_debiteurs_communs": PanelDebiteursCommuns,
    "marts.panel_debiteurs_communs_national": PanelDebiteursCommunsNational,
}

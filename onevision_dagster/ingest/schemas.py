"""Pandera models of the kept rows of each source (amounts in integer cents).

They restate what validation guarantees — codes, non-negative amounts, valid
identifier shapes, unique keys — so a regression in the vectorised checks is
caught before anything reaches the warehouse.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.engines import pandas_engine
from pandera.typing import Series

from onevision_dagster.contract.sources import (
    AMENDES,
    CREANCES_IS,
    CREDITS_TVA,
    ENTREPRISES,
    EXCEDENTS,
    IMPOTS_PRO,
    RNF,
    SPL,
    FilledOnlyWhen,
    SourceSpec,
)
from onevision_dagster.errors import FileRejected

SIREN_RE = r"^\d{9}$"
Text = Series[Annotated[pd.StringDtype, "pyarrow", pd.NA]]
# years up to 9999, not only to 2262: millisecond timestamps
Date = Series[Annotated[pandas_engine.DateTime, {}, "ms", None, False, {}]]
Cents = Series[pd.Int64Dtype]


def _codes(spec: SourceSpec, column: str) -> list[str]:
    return list(spec.column(column).codes)


def _positive(**kw):
    return pa.Field(ge=0, **kw)


class _Row(pa.DataFrameModel):
    siren: Text = pa.Field(str_matches=SIREN_RE, nullable=False)
    ligne: Series[pa.Int32] = pa.Field(ge=2)

    class Config:
        strict = True
        coerce = False


class EntreprisesModel(_Row):
    denomination: Text
    sigle: Text = pa.Field(nullable=True)
    categorie_juridique: Text = pa.Field(str_matches=r"^\d{4}$")
    adresse: Text = pa.Field(nullable=True)
    code_postal: Text
    commune: Text = pa.Field(nullable=True)
    departement: Text
    date_creation: Date = pa.Field(nullable=True)
    etat_administratif: Text = pa.Field(isin=_codes(ENTREPRISES, "etat_administratif"))
    procedure_collective: Text = pa.Field(isin=_codes(ENTREPRISES, "procedure_collective"), nullable=True)
    date_jugement: Date = pa.Field(nullable=True)
    date_publication_bodacc: Date = pa.Field(nullable=True)

    @pa.dataframe_check
    def judgment_iff_procedure(cls, df: pd.DataFrame) -> Series[bool]:
        return df["procedure_collective"].isna() == df["date_jugement"].isna()

    @pa.dataframe_check
    def publication_after_judgment(cls, df: pd.DataFrame) -> Series[bool]:
        """A BODACC publication only with a procedure, never before its judgment (version 3)."""
        published = df["date_publication_bodacc"].notna()
        return ~published | (df["procedure_collective"].notna()
                             & (df["date_publication_bodacc"] >= df["date_jugement"]).fillna(False))

    @pa.dataframe_check
    def siren_unique(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df["siren"].duplicated(keep=False)


class AmendesModel(_Row):
    siren: Text = pa.Field(str_matches=SIREN_RE, nullable=True)
    num_amende: Text = pa.Field(unique=True)
    date_infraction: Date = pa.Field(nullable=True)
    date_majoration: Date
    raison_sociale: Text = pa.Field(nullable=True)
    siren_source: Text = pa.Field(nullable=True)
    adresse: Text = pa.Field(nullable=True)
    code_postal: Text = pa.Field(nullable=True)
    commune: Text = pa.Field(nullable=True)
    montant_majore: Cents = _positive()
    montant_paye: Cents = _positive()
    statut: Text = pa.Field(isin=_codes(AMENDES, "STATUT"))

    @pa.dataframe_check
    def paid_not_above_due(cls, df: pd.DataFrame) -> Series[bool]:
        return df["montant_paye"] <= df["montant_majore"]


class SplModel(_Row):
    code_collectivite: Text
    libelle_collectivite: Text = pa.Field(nullable=True)
    exercice: Text
    num_titre: Text
    date_emission: Date
    siret_debiteur: Text = pa.Field(str_matches=r"^\d{14}$")
    nom_debiteur: Text = pa.Field(nullable=True)
    nature_produit: Text = pa.Field(nullable=True)
    montant_titre: Cents = _positive()
    reste_a_recouvrer: Cents = _positive()
    etape: Text = pa.Field(isin=_codes(SPL, "etape"))

    @pa.dataframe_check
    def remaining_not_above_title(cls, df: pd.DataFrame) -> Series[bool]:
        return df["reste_a_recouvrer"] <= df["montant_titre"]

    @pa.dataframe_check
    def key_unique(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(["code_collectivite", "exercice", "num_titre"], keep=False)


class ImpotsProModel(_Row):
    ref_article: Text = pa.Field(unique=True)
    code_impot: Text = pa.Field(isin=_codes(IMPOTS_PRO, "CODE_IMPOT"))
    periode: Text = pa.Field(nullable=True, str_matches=r"^\d{4}(\d{2})?$")
    date_exigibilite: Date
    mt_droits: Cents = _positive()
    mt_penalites: Cents = _positive()
    mt_paye: Cents = _positive()
    phase: Text = pa.Field(isin=_codes(IMPOTS_PRO, "PHASE"))
    sursis: Text = pa.Field(isin=["O", "N"])

    @pa.dataframe_check
    def paid_not_above_due(cls, df: pd.DataFrame) -> Series[bool]:
        return df["mt_paye"] <= df["mt_droits"] + df["mt_penalites"]


class RnfModel(_Row):
    numero_titre: Text = pa.Field(unique=True)
    ordonnateur: Text = pa.Field(nullable=True)
    nature_recette: Text = pa.Field(nullable=True)
    identifiant_debiteur: Text = pa.Field(str_matches=r"^(\d{9}|\d{14}|FR\d{11})$")
    date_emission: Date
    montant: Cents = _positive()
    montant_recouvre: Cents = _positive()
    statut: Text = pa.Field(isin=_codes(RNF, "statut"))

    @pa.dataframe_check
    def recovered_not_above_amount(cls, df: pd.DataFrame) -> Series[bool]:
        return df["montant_recouvre"] <= df["montant"]


class CreditsTvaModel(_Row):
    num_demande: Text = pa.Field(unique=True)
    date_depot: Date = pa.Field(nullable=True)
    periode: Text = pa.Field(nullable=True)
    montant_demande: Cents = _positive()
    montant_accorde: Cents = pa.Field(ge=0, nullable=True)
    statut: Text = pa.Field(isin=_codes(CREDITS_TVA, "STATUT"))

    @pa.dataframe_check
    def granted_consistent(cls, df: pd.DataFrame) -> Series[bool]:
        granted = df["montant_accorde"]
        ok_amount = granted.isna() | (granted <= df["montant_demande"])
        rule = next(r for r in CREDITS_TVA.rules if isinstance(r, FilledOnlyWhen))  # the contract's statement
        required = df["statut"].isin(rule.required)
        allowed = df["statut"].isin(rule.allowed)
        return (ok_amount & ~(required & granted.isna()) & ~(granted.notna() & ~allowed)).astype(bool)


class ExcedentsModel(_Row):
    ref_excedent: Text = pa.Field(unique=True)
    impot: Text = pa.Field(isin=_codes(EXCEDENTS, "IMPOT"))
    exercice: Text = pa.Field(nullable=True)
    montant: Cents = _positive()
    date_constat: Date = pa.Field(nullable=True)
    statut: Text = pa.Field(isin=_codes(EXCEDENTS, "STATUT"))


class CreancesIsModel(_Row):
    ref_creance: Text = pa.Field(unique=True)
    type_creance: Text = pa.Field(isin=_codes(CREANCES_IS, "TYPE_CREANCE"))
    exercice: Text = pa.Field(nullable=True)
    montant: Cents = _positive()
    date_remboursable: Date = pa.Field(nullable=True)
    statut: Text = pa.Field(isin=_codes(CREANCES_IS, "STATUT"))


SOURCE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    ENTREPRISES.name: EntreprisesModel,
    AMENDES.name: AmendesModel,
    SPL.name: SplModel,
    IMPOTS_PRO.name: ImpotsProModel,
    RNF.name: RnfModel,
    CREDITS_TVA.name: CreditsTvaModel,
    EXCEDENTS.name: ExcedentsModel,
    CREANCES_IS.name: CreancesIsModel,
}


class KeptRowsInvalid(FileRejected):
    """The kept rows broke a rule the validation should have enforced: the file is refused like an unreadable one
    (nothing of it is loaded), reported without the rows' contents (the run's log must hold identifiers only);
    Pandera's own report is in `errors`."""

    def __init__(self, source: str, fichier: str | None, errors: pandera.errors.SchemaErrors, kept: pd.DataFrame):
        self.errors = errors
        cases = errors.failure_cases
        checks = sorted({str(c) for c in cases["check"].dropna()})
        rows = [int(i) for i in cases["index"].dropna().unique()][:10] if "index" in cases else []
        lines = [str(kept.iloc[r]["ligne"]) for r in rows if 0 <= r < len(kept) and "ligne" in kept]
        super().__init__(fichier or source, f"contrôle des lignes gardées échoué ({', '.join(checks)})"
                         + (f", lignes {', '.join(lines)}" if lines else ""))


def validate_kept(source: str, kept: pd.DataFrame, fichier: str | None = None) -> pd.DataFrame:
    """Raises `KeptRowsInvalid` (checks and line numbers only) when a model rejects the kept rows."""
    try:
        return SOURCE_MODELS[source].validate(kept, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        raise KeptRowsInvalid(source, fichier, errors, kept) from None

"""The eight extracts, each described once (SOURCES.md sections 1–3).

Every layer — decoding, validation, Pandera schemas, warehouse DDL, the demo
generator — reads these descriptions, so adding a source means adding one
`SourceSpec` here rather than editing five modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"
    DATE = "date"
    AMOUNT = "amount"  # euros with two decimals at most, stored as DECIMAL(18,2)
    CENTS = "cents"  # integer cents in the file, stored as euros DECIMAL(18,2)
    CODE = "code"  # closed list of values
    SIREN = "siren"
    SIRET = "siret"
    DEBTOR_ID = "debtor_id"  # SIREN, SIRET or intra-EU VAT number
    PATTERN = "pattern"  # free format checked by a regular expression


@dataclass(frozen=True)
class Column:
    name: str  # as in the file header
    kind: Kind = Kind.TEXT
    mandatory: bool = False
    codes: tuple[str, ...] = ()
    pattern: str = ""  # for Kind.PATTERN: full-match regex
    pattern_label: str = ""  # expected format shown to agents
    stored_as: str = ""  # warehouse column name (default: lower-case name)

    @property
    def db_name(self) -> str:
        return self.stored_as or self.name.lower()


@dataclass(frozen=True)
class NotAbove:
    """Rule between cells: `column` must not exceed the sum of `limits`."""

    column: str
    limits: tuple[str, ...]
    message: str  # French, e.g. "montant payé supérieur au montant dû"


@dataclass(frozen=True)
class FilledOnlyWhen:
    """Rule between cells: `column` is required for `required` codes and allowed only for `allowed` ones."""

    column: str
    code_column: str
    required: tuple[str, ...]
    allowed: tuple[str, ...]


@dataclass(frozen=True)
class NotBefore:
    """Rule between cells: the date `column`, when filled, must not be before the date `reference`."""

    column: str
    reference: str
    message: str  # French, e.g. "publication au BODACC antérieure au jugement"


@dataclass(frozen=True)
class NotAfterExtraction:
    """Rule between a cell and the file: a debt cannot be in recovery before it exists (`FUTURE_DATE`)."""

    column: str


Rule = NotAbove | FilledOnlyWhen | NotBefore | NotAfterExtraction


@dataclass(frozen=True)
class SourceSpec:
    name: str
    label: str  # French label for agents
    role: str  # "registre", "dette" or "creance"
    encoding: str  # "utf-8", "utf-8-sig" or "cp1252"
    separator: str
    decimal: str  # "," or "." (amount columns)
    date_format: str  # "DD/MM/YYYY", "YYYY-MM-DD" or "YYYYMMDD"
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partitioned: bool = True
    # identifier column that gives the SIREN (None: the register itself)
    debtor_column: str | None = None
    debt_date_column: str | None = None
    rules: tuple[Rule, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"


def _c(name: str, kind: Kind = Kind.TEXT, mandatory: bool = False, **kw) -> Column:
    return Column(name=name, kind=kind, mandatory=mandatory, **kw)


DEPARTEMENT_PATTERN = r"(0[1-9]|1[0-9]|2[1-9]|[3-8][0-9]|9[0-5]|2A|2B|97[1-4]|976)"

ENTREPRISES = SourceSpec(
    name="entreprises",
    label="Registre des entreprises",
    role="registre",
    encoding="utf-8",
    separator=";",
    decimal=",",
    date_format="YYYY-MM-DD",
    partitioned=False,
    key=("siren",),
    rules=(
        FilledOnlyWhen(
            "date_jugement",
            "procedure_collective",
            required=("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"),
            allowed=("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"),
        ),
        # version 3: published only for an opened procedure, never before its judgment (section 4)
        FilledOnlyWhen(
            "date_publication_bodacc",
            "procedure_collective",
            required=(),
            allowed=("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"),
        ),
        NotBefore("date_publication_bodacc", "date_jugement", "publication au BODACC antérieure au jugement"),
    ),
    columns=(
        _c("siren", Kind.SIREN, True),
        _c("denomination", Kind.TEXT, True),
        _c("sigle"),
        _c("categorie_juridique", Kind.PATTERN, True, pattern=r"\d{4}", pattern_label="4 chiffres"),
        _c("adresse"),
        _c("code_postal", Kind.TEXT, True),
        _c("commune"),
        _c(
            "departement",
            Kind.PATTERN,
            True,
            pattern=DEPARTEMENT_PATTERN,
            pattern_label="code département INSEE (01…95, 2A, 2B, 971…976)",
        ),
        _c("date_creation", Kind.DATE),
        _c("etat_administratif", Kind.CODE, True, codes=("A", "C")),
        _c("procedure_collective", Kind.CODE, False, codes=("SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION")),
        _c("date_jugement", Kind.DATE),
        _c("date_publication_bodacc", Kind.DATE),
    ),
)

AMENDES = SourceSpec(
    name="amendes",
    label="Amendes",
    role="dette",
    encoding="cp1252",
    separator=";",
    decimal=",",
    date_format="DD/MM/YYYY",
    key=("NUM_AMENDE",),
    rules=(
        NotAbove("MONTANT_PAYE", ("MONTANT_MAJORE",), "montant payé supérieur au montant majoré"),
        NotAfterExtraction("DATE_MAJORATION"),
    ),
    debtor_column="SIREN",
    debt_date_column="DATE_MAJORATION",
    columns=(
        _c("NUM_AMENDE", Kind.TEXT, True),
        _c("DATE_INFRACTION", Kind.DATE),
        _c("DATE_MAJORATION", Kind.DATE, True),
        _c("RAISON_SOCIALE"),
        # never rejected for its SIREN: matched by name instead (section 5)
        _c("SIREN", Kind.TEXT, False, stored_as="siren_source"),
        _c("ADRESSE"),
        _c("CODE_POSTAL"),
        _c("COMMUNE"),
        _c("MONTANT_MAJORE", Kind.AMOUNT, True),
        _c("MONTANT_PAYE", Kind.AMOUNT, True),
        _c("STATUT", Kind.CODE, True, codes=("EN_RECOUVREMENT", "PAYEE", "ANNULEE", "ADMISE_NON_VALEUR")),
    ),
)

SPL = SourceSpec(
    name="spl",
    label="Produits locaux (Hélios)",
    role="dette",
    encoding="utf-8-sig",
    separator=";",
    decimal=",",
    date_format="DD/MM/YYYY",
    key=("code_collectivite", "exercice", "num_titre"),
    rules=(
        NotAbove("reste_a_recouvrer", ("montant_titre",), "reste à recouvrer supérieur au montant du titre"),
        NotAfterExtraction("date_emission"),
    ),
    debtor_column="siret_debiteur",
    debt_date_column="date_emission",
    columns=(
        _c("code_collectivite", Kind.TEXT, True),
        _c("libelle_collectivite"),
        _c("exercice", Kind.TEXT, True),
        _c("num_titre", Kind.TEXT, True),
        _c("date_emission", Kind.DATE, True),
        _c("siret_debiteur", Kind.SIRET, True),
        _c("nom_debiteur"),
        _c("nature_produit"),
        _c("montant_titre", Kind.AMOUNT, True),
        _c("reste_a_recouvrer", Kind.AMOUNT, True),
        _c("etape", Kind.CODE, True, codes=("AMIABLE", "RELANCE", "MISE_EN_DEMEURE", "CONTESTATION", "SAISIE")),
    ),
)

IMPOTS_PRO = SourceSpec(
    name="impots_pro",
    label="Impôts professionnels",
    role="dette",
    encoding="cp1252",
    separator=";",
    decimal=",",
    date_format="YYYYMMDD",
    key=("REF_ARTICLE",),
    rules=(
        NotAbove(
            "MT_PAYE_CTS", ("MT_DROITS_CTS", "MT_PENALITES_CTS"), "montant payé supérieur aux droits et pénalités"
        ),
    ),
    debtor_column="SIREN",
    debt_date_column="DATE_EXIGIBILITE",
    columns=(
        _c("SIREN", Kind.SIREN, True),
        _c("REF_ARTICLE", Kind.TEXT, True),
        _c("CODE_IMPOT", Kind.CODE, True, codes=("CFE", "TVA", "IS", "CVAE", "TS", "IFER", "TASCOM")),
        _c("PERIODE", Kind.PATTERN, False, pattern=r"\d{4}(0[1-9]|1[0-2])?", pattern_label="AAAA ou AAAAMM"),
        _c("DATE_EXIGIBILITE", Kind.DATE, True),
        _c("MT_DROITS_CTS", Kind.CENTS, True, stored_as="mt_droits"),
        _c("MT_PENALITES_CTS", Kind.CENTS, True, stored_as="mt_penalites"),
        _c("MT_PAYE_CTS", Kind.CENTS, True, stored_as="mt_paye"),
        _c("PHASE", Kind.CODE, True, codes=("AMIABLE", "MISE_EN_DEMEURE", "SATD", "PASSIF_PROCEDURE")),
        _c("SURSIS", Kind.CODE, True, codes=("O", "N")),
    ),
)

RNF = SourceSpec(
    name="rnf",
    label="Recettes non fiscales",
    role="dette",
    encoding="utf-8",
    separator=",",
    decimal=".",
    date_format="YYYY-MM-DD",
    key=("numero_titre",),
    rules=(
        NotAbove("montant_recouvre", ("montant",), "montant recouvré supérieur au montant du titre"),
        NotAfterExtraction("date_emission"),
    ),
    debtor_column="identifiant_debiteur",
    debt_date_column="date_emission",
    columns=(
        _c("numero_titre", Kind.TEXT, True),
        _c("ordonnateur"),
        _c("nature_recette"),
        _c("identifiant_debiteur", Kind.DEBTOR_ID, True),
        _c("date_emission", Kind.DATE, True),
        _c("montant", Kind.AMOUNT, True),
        _c("montant_recouvre", Kind.AMOUNT, True),
        _c("statut", Kind.CODE, True, codes=("PRIS_EN_CHARGE", "EN_RECOUVREMENT", "SOLDE", "ANNULE")),
    ),
)

CREDITS_TVA = SourceSpec(
    name="credits_tva",
    label="Crédits de TVA",
    role="creance",
    encoding="cp1252",
    separator=";",
    decimal=",",
    date_format="DD/MM/YYYY",
    key=("NUM_DEMANDE",),
    rules=(
        FilledOnlyWhen("MONTANT_ACCORDE", "STATUT", required=("ACCORDEE", "REMBOURSEE", "IMPUTEE"),
                       allowed=("ACCORDEE", "REMBOURSEE", "IMPUTEE")),
        NotAbove("MONTANT_ACCORDE", ("MONTANT_DEMANDE",), "montant accordé supérieur au montant demandé"),
    ),
    debtor_column="SIREN",
    columns=(
        _c("SIREN", Kind.SIREN, True),
        _c("NUM_DEMANDE", Kind.TEXT, True),
        _c("DATE_DEPOT", Kind.DATE),
        _c("PERIODE"),
        _c("MONTANT_DEMANDE", Kind.AMOUNT, True),
        _c("MONTANT_ACCORDE", Kind.AMOUNT, False),
        _c("STATUT", Kind.CODE, True,
           codes=("DEPOSEE", "EN_INSTRUCTION", "ACCORDEE", "REJETEE", "REMBOURSEE", "IMPUTEE")),
    ),
)

EXCEDENTS = SourceSpec(
    name="excedents",
    label="Excédents à restituer",
    role="creance",
    encoding="cp1252",
    separator=";",
    decimal=",",
    date_format="DD/MM/YYYY",
    key=("REF_EXCEDENT",),
    debtor_column="SIREN",
    columns=(
        _c("SIREN", Kind.SIREN, True),
        _c("REF_EXCEDENT", Kind.TEXT, True),
        _c("IMPOT", Kind.CODE, True, codes=("CVAE", "IS", "CFE", "TS", "TVA")),
        _c("EXERCICE"),
        _c("MONTANT", Kind.AMOUNT, True),
        _c("DATE_CONSTAT", Kind.DATE),
        _c("STATUT", Kind.CODE, True, codes=("A_RESTITUER", "RESTITUE", "IMPUTE")),
    ),
)

CREANCES_IS = SourceSpec(
    name="creances_is",
    label="Créances d'impôt sur les sociétés",
    role="creance",
    encoding="cp1252",
    separator=";",
    decimal=",",
    date_format="DD/MM/YYYY",
    key=("REF_CREANCE",),
    debtor_column="SIREN",
    columns=(
        _c("SIREN", Kind.SIREN, True),
        _c("REF_CREANCE", Kind.TEXT, True),
        _c("TYPE_CREANCE", Kind.CODE, True, codes=("CIR", "CII", "CARRY_BACK", "EXCEDENT_ACOMPTES", "AUTRE")),
        _c("EXERCICE"),
        _c("MONTANT", Kind.AMOUNT, True),
        _c("DATE_REMBOURSABLE", Kind.DATE),
        _c("STATUT", Kind.CODE, True, codes=("EN_COURS", "REMBOURSABLE", "REMBOURSEE", "IMPUTEE")),
    ),
)

REGISTER = ENTREPRISES
DEBT_SOURCES: tuple[SourceSpec, ...] = (AMENDES, SPL, IMPOTS_PRO, RNF)
CREDIT_SOURCES: tuple[SourceSpec, ...] = (CREDITS_TVA, EXCEDENTS, CREANCES_IS)
PARTITIONED_SOURCES: tuple[SourceSpec, ...] = DEBT_SOURCES + CREDIT_SOURCES
ALL_SOURCES: tuple[SourceSpec, ...] = (REGISTER,) + PARTITIONED_SOURCES
SOURCES_BY_NAME: dict[str, SourceSpec] = {s.name: s for s in ALL_SOURCES}

# Scope (section 3): private-law legal persons (first digit 5, 6, 8, 9) and the foreign companies
# registered or not at the RCS (3120, 3220), which owe the same taxes.
IN_SCOPE_FIRST_DIGITS: tuple[str, ...] = ("5", "6", "8", "9")
IN_SCOPE_CATEGORIES: tuple[str, ...] = ("3120", "3220")


def in_scope_sql(alias: str) -> str:
    """SQL boolean: the register row `alias` is in scope (section 3)."""
    digits = ", ".join(f"'{d}'" for d in IN_SCOPE_FIRST_DIGITS)
    categories = ", ".join(f"'{c}'" for c in IN_SCOPE_CATEGORIES)
    return (f"(substr({alias}.categorie_juridique, 1, 1) IN ({digits}) "
            f"OR {alias}.categorie_juridique IN ({categories}))")


DATE_LABELS = {"DD/MM/YYYY": "JJ/MM/AAAA", "YYYY-MM-DD": "AAAA-MM-JJ", "YYYYMMDD": "AAAAMMJJ"}

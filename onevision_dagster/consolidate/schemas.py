"""Pandera models of the core and marts tables, checked in DuckDB through Pandera's Ibis backend.

The one statement of what a derived table must satisfy: `table_validation` compiles these models
into one scan of the stored rows, and when the scan flags anything Pandera itself (`pandera.ibis`)
validates the rows and raises its own `SchemaErrors`. The models describe the table as stored:
money is `DECIMAL(18,2)` (the dtype check is exact, so whole cents need no check of their own and
sums are compared exactly), integers `INTEGER`, dates `DATE`; the Ibis backend checks types, it
does not coerce. Column sets are strict: a column added or renamed in the SQL without updating
docs/warehouse.md and this file fails.

Beyond types, the models carry the arithmetic of SOURCES.md section 6 (totals, suspended and pursuable debts,
offsetting bounds, number of debtor sources) so a regression in the SQL is stopped before an
agent sees it.

Custom checks are Ibis expressions on the table, each method named as its check: Pandera forgets
a `name=` in every subclass after the first that builds its schema (it pops it) and falls back to
the method's name, so an inherited check keeps its name only this way. A row-level check returns
a boolean column, which Pandera reduces with `all()` (SQL `bool_and`, which skips NULL): every row
condition is therefore closed with `_sure` (NULL is a failure). The ranking rule needs a window,
which DuckDB refuses inside an aggregate: it returns one boolean for the table.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import ibis
import ibis.expr.types as ir
import pandera.ibis as pa
from pandera.api.ibis.types import IbisData
from pandera.engines import ibis_engine

from onevision_dagster.consolidate import tables
from onevision_dagster.contract.sources import DEPARTEMENT_PATTERN

SIREN_RE = r"^\d{9}$"
DEPT_RE = rf"^{DEPARTEMENT_PATTERN}$"
DEPTS_RE = rf"^{DEPARTEMENT_PATTERN}(,{DEPARTEMENT_PATTERN})*$"
DEBT_SOURCES = list(tables.DEBT_SOURCES)
CREDIT_SOURCES = list(tables.CREDIT_SOURCES)
PROCEDURES = ["SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"]
STAGES = ["AMIABLE", "RELANCE", "MISE_EN_DEMEURE", "CONTESTATION", "SAISIE", "SATD", "PASSIF_PROCEDURE"]
_DEBTS = list(tables.DEBT_COLUMNS)
_CREDITS = list(tables.CREDIT_COLUMNS)
# a position exists when the company owes or is owed something, due or not (section 6)
_HELD = ["total_dettes", "dettes_a_echoir", "dettes_non_valeur", "total_creances", "creances_a_echoir",
         "creances_potentielles"]

Money = Annotated[ibis_engine.Decimal, 18, 2]
Score = Annotated[ibis_engine.Decimal, 5, 2]
Int = ibis_engine.Int32


def _sure(condition: ir.BooleanValue) -> ir.BooleanValue:
    """A row passes only when its condition is true (NULL is a failure, as `fillna(False)` in pandas)."""
    return condition.fill_null(False)


def _sum(t: ir.Table, cols: list[str]) -> ir.NumericValue:
    total = t[cols[0]]
    for c in cols[1:]:
        total = total + t[c]
    return total


class _Model(pa.DataFrameModel):
    class Config:
        strict = True


# --------------------------------------------------------------------------- core


class RattachementAmendes(_Model):
    departement: str = pa.Field(str_matches=DEPT_RE)
    num_amende: str
    fichier: str = pa.Field(nullable=True)
    ligne: Int = pa.Field(ge=2, nullable=True)
    raison_sociale: str = pa.Field(nullable=True)
    code_postal: str = pa.Field(nullable=True)
    siren_source: str = pa.Field(nullable=True)
    nom_normalise: str = pa.Field(nullable=True)
    methode: str = pa.Field(
        isin=["SIREN", "SIREN_SANS_ESPACES", "NOM_CODE_POSTAL", "SIGLE_CODE_POSTAL"], nullable=True
    )
    siren: str = pa.Field(str_matches=SIREN_RE, nullable=True)
    motif: str = pa.Field(isin=["AMBIGUE", "AUCUN_CANDIDAT", "PERSONNE_PHYSIQUE"], nullable=True)
    nb_candidats: Int = pa.Field(ge=0, nullable=True)

    class Config:
        unique = ["departement", "num_amende"]

    @pa.dataframe_check
    @classmethod
    def attachee_xor_motif(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        attached = t.siren.notnull()
        return (attached == t.methode.notnull()) & (attached == t.motif.isnull())

    @pa.dataframe_check
    @classmethod
    def candidats_coherents(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        n = t.nb_candidats
        by_name = _sure(t.methode.isin(["NOM_CODE_POSTAL", "SIGLE_CODE_POSTAL"]))
        return (
            (~by_name | _sure(n == 1))
            & (t.motif.isnull() | (t.motif != "AMBIGUE") | _sure(n > 1))
            & (t.motif.isnull() | (t.motif != "AUCUN_CANDIDAT") | _sure(n == 0))
        )


class _Lignes(_Model):
    departement: str = pa.Field(str_matches=DEPT_RE)
    siren: str = pa.Field(str_matches=SIREN_RE, nullable=True)
    source: str
    reference: str
    date_ligne: datetime.date = pa.Field(nullable=True)
    montant: Money = pa.Field(ge=0)
    statut: str = pa.Field(nullable=True)
    etape: str = pa.Field(isin=STAGES, nullable=True)
    ouverte: bool
    nature: str
    compensable: bool
    sursis: bool
    conteste: bool
    passif: bool
    suspendue: bool
    motif_suspension: str = pa.Field(isin=list(tables.SUSPENSION_REASONS), nullable=True)
    date_origine: datetime.date = pa.Field(nullable=True)
    anterieure_jugement: bool = pa.Field(nullable=True)
    montant_du: Money = pa.Field(ge=0, nullable=True)
    montant_paye: Money = pa.Field(ge=0, nullable=True)
    fichier: str = pa.Field(nullable=True)
    ligne: Int = pa.Field(ge=2, nullable=True)
    date_extraction: datetime.date = pa.Field(nullable=True)

    @pa.dataframe_check
    @classmethod
    def montant_si_nature(cls, data: IbisData) -> ir.BooleanColumn:
        """A line adds an amount exactly when it adds to a position column."""
        t = data.table
        return _sure((t.nature != "AUCUNE") == (t.montant > 0))


class LignesDettes(_Lignes):
    source: str = pa.Field(isin=DEBT_SOURCES)
    nature: str = pa.Field(isin=list(tables.DEBT_NATURES))

    class Config:
        unique = ["departement", "source", "reference"]

    @pa.dataframe_check
    @classmethod
    def ouverte_si_exigible_ou_a_echoir(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.ouverte == t.nature.isin(["ECHUE", "A_ECHOIR"]))

    @pa.dataframe_check
    @classmethod
    def compensable_impots_pro_poursuivable(cls, data: IbisData) -> ir.BooleanColumn:
        """L. 257 B: exactly the past-due taxes whose recovery is not suspended (section 8)."""
        t = data.table
        return _sure(t.compensable == ((t.nature == "ECHUE") & (t.source == "impots_pro") & ~t.suspendue))

    @pa.dataframe_check
    @classmethod
    def suspendue_si_motif(cls, data: IbisData) -> ir.BooleanColumn:
        """A suspended line is past due and says why; a sursis, a contest or a filed claim always suspends."""
        t = data.table
        return _sure((t.suspendue == t.motif_suspension.notnull())
                     & (~t.suspendue | (t.nature == "ECHUE"))
                     & ((t.nature != "ECHUE") | ~(t.sursis | t.conteste | t.passif) | t.suspendue))

    @pa.dataframe_check
    @classmethod
    def a_echoir_impots_pro(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure((t.nature != "A_ECHOIR") | (t.source == "impots_pro"))

    @pa.dataframe_check
    @classmethod
    def non_valeur_amendes(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure((t.nature != "NON_VALEUR") | (t.source == "amendes"))

    @pa.dataframe_check
    @classmethod
    def passif_impots_pro_ouvert(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(~t.passif | (t.ouverte & (t.source == "impots_pro")))

    @pa.dataframe_check
    @classmethod
    def reste_du_moins_paye(cls, data: IbisData) -> ir.BooleanColumn:
        """What a debt adds is what is left to pay (section 9: reste = D − P), to the cent."""
        t = data.table
        return _sure((t.nature == "AUCUNE") | (t.montant == t.montant_du - t.montant_paye))

    @pa.dataframe_check
    @classmethod
    def rattachement_seulement_amendes(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.siren.notnull() | (t.source == "amendes"))


class LignesCreances(_Lignes):
    siren: str = pa.Field(str_matches=SIREN_RE)
    source: str = pa.Field(isin=CREDIT_SOURCES)
    nature: str = pa.Field(isin=list(tables.CREDIT_NATURES))

    class Config:
        unique = ["departement", "source", "reference"]

    @pa.dataframe_check
    @classmethod
    def ouverte_si_montant(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.ouverte == (t.nature != "AUCUNE"))

    @pa.dataframe_check
    @classmethod
    def compensable_si_certaine(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.compensable == _sure(t.nature == "CERTAINE"))

    @pa.dataframe_check
    @classmethod
    def a_echoir_creances_is(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure((t.nature != "A_ECHOIR") | (t.source == "creances_is"))

    @pa.dataframe_check
    @classmethod
    def sans_sursis_ni_passif(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(~t.sursis & ~t.conteste & ~t.passif & ~t.suspendue)


class NonPositionnees(_Model):
    departement: str = pa.Field(str_matches=DEPT_RE)
    source: str = pa.Field(isin=DEBT_SOURCES + CREDIT_SOURCES)
    fichier: str = pa.Field(nullable=True)
    ligne: Int = pa.Field(ge=2, nullable=True)
    reference: str = pa.Field(nullable=True)
    motif: str = pa.Field(isin=["NON_RATTACHEE", "HORS_PERIMETRE", "REGISTRE_REJETE", "SIREN_INCONNU"])
    siren: str = pa.Field(str_matches=SIREN_RE, nullable=True)

    class Config:
        unique = ["departement", "source", "fichier", "ligne"]

    @pa.dataframe_check
    @classmethod
    def siren_vide_si_non_rattachee(cls, data: IbisData) -> ir.BooleanColumn:
        """No SIREN for an unattached fine, nor for a natural person's line (listed by its place only, v3)."""
        t = data.table
        natural_person = _sure(t.motif == "HORS_PERIMETRE") & t.reference.isnull()
        return (_sure(t.motif == "NON_RATTACHEE") | natural_person) == t.siren.isnull()


# --------------------------------------------------------------------------- marts


class _PositionBase(_Model):
    siren: str = pa.Field(str_matches=SIREN_RE)
    denomination: str = pa.Field(nullable=True)
    date_situation: datetime.date
    dettes_amendes: Money = pa.Field(ge=0)
    dettes_spl: Money = pa.Field(ge=0)
    dettes_impots_pro: Money = pa.Field(ge=0)
    dettes_rnf: Money = pa.Field(ge=0)
    total_dettes: Money = pa.Field(ge=0)
    dettes_suspendues: Money = pa.Field(ge=0)
    dettes_poursuivables: Money = pa.Field(ge=0)
    dettes_a_echoir: Money = pa.Field(ge=0)
    dettes_non_valeur: Money = pa.Field(ge=0)
    creances_tva: Money = pa.Field(ge=0)
    creances_excedents: Money = pa.Field(ge=0)
    creances_is: Money = pa.Field(ge=0)
    total_creances: Money = pa.Field(ge=0)
    creances_a_echoir: Money = pa.Field(ge=0)
    creances_potentielles: Money = pa.Field(ge=0)
    dettes_compensables: Money = pa.Field(ge=0)
    montant_compensable: Money = pa.Field(ge=0)
    passif_declare: Money = pa.Field(ge=0)
    nb_sources_dettes: Int = pa.Field(ge=0, le=4)
    anciennete_jours: Int = pa.Field(ge=0, nullable=True)
    procedure_collective: str = pa.Field(isin=PROCEDURES, nullable=True)

    @pa.dataframe_check
    @classmethod
    def totaux(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(
            (t.total_dettes == _sum(t, _DEBTS))
            & (t.total_creances == _sum(t, _CREDITS))
            & (t.dettes_poursuivables == t.total_dettes - t.dettes_suspendues)
        )

    @pa.dataframe_check
    @classmethod
    def compensation(cls, data: IbisData) -> ir.BooleanColumn:
        """Bounded by both sides, 0 when a claim is declared in a procedure (section 8); only pursuable taxes are
        offsettable (v3), so none when a claim is filed."""
        t = data.table
        bound = ibis.least(t.total_creances, t.dettes_compensables)
        mc = t.montant_compensable
        filed = t.passif_declare > 0
        return _sure(((mc == bound) | (mc == 0)) & (~filed | ((mc == 0) & (t.dettes_compensables == 0)))
                     & (t.dettes_compensables <= t.dettes_impots_pro)
                     & (t.dettes_compensables <= t.dettes_poursuivables))

    @pa.dataframe_check
    @classmethod
    def passif_dans_les_impots(cls, data: IbisData) -> ir.BooleanColumn:
        """Declared claims are open taxes, already counted as due or not yet due."""
        t = data.table
        return _sure(t.passif_declare <= t.dettes_impots_pro + t.dettes_a_echoir)

    @pa.dataframe_check
    @classmethod
    def nb_sources_selon_montants(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        count = (t[_DEBTS[0]] > 0).cast("int32")
        for c in _DEBTS[1:]:
            count = count + (t[c] > 0).cast("int32")
        return _sure(t.nb_sources_dettes == count)

    @pa.dataframe_check
    @classmethod
    def anciennete_si_dette(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure(t.anciennete_jours.notnull() == (t.total_dettes > 0))

    @pa.dataframe_check
    @classmethod
    def position_non_vide(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        held = t[_HELD[0]] > 0
        for c in _HELD[1:]:
            held = held | (t[c] > 0)
        return _sure(held)


class Positions(_PositionBase):
    departement: str = pa.Field(str_matches=DEPT_RE)

    class Config:
        unique = ["siren", "departement"]


class PositionsNationales(_PositionBase):
    departements: str = pa.Field(str_matches=DEPTS_RE)

    class Config:
        unique = ["siren"]

    @pa.check("departements")
    @classmethod
    def departements_tries(cls, data: IbisData) -> ir.BooleanColumn:
        codes = data.table[data.key]
        return _sure(codes.split(",").unique().sort().join(",") == codes)


def _ranks_ok(t: ir.Table, group_by: list[str]) -> ir.BooleanScalar:
    """Ranks are 1..n and follow the score (non-increasing): one boolean for the table."""
    window = ibis.window(group_by=group_by, order_by="rang")
    ranked = t.mutate(_rn=ibis.row_number().over(window) + 1, _previous=t.score.lag().over(window))
    ok = (ranked.rang == ranked._rn) & ranked.score.notnull() & (
        ranked._previous.isnull() | (ranked.score <= ranked._previous))
    return ranked.select(ok=_sure(ok)).ok.all().fill_null(True)


class _PanelBase(_Model):
    rang: Int = pa.Field(ge=1)
    siren: str = pa.Field(str_matches=SIREN_RE)
    denomination: str = pa.Field(nullable=True)
    nb_sources_dettes: Int = pa.Field(ge=2, le=4)
    total_dettes: Money = pa.Field(gt=0)
    dettes_poursuivables: Money = pa.Field(gt=0)
    dettes_amendes: Money = pa.Field(ge=0)
    dettes_spl: Money = pa.Field(ge=0)
    dettes_impots_pro: Money = pa.Field(ge=0)
    dettes_rnf: Money = pa.Field(ge=0)
    anciennete_jours: Int = pa.Field(ge=0)
    etape_la_plus_avancee: str = pa.Field(isin=STAGES, nullable=True)
    score: Score = pa.Field(ge=0, le=100)

    @pa.dataframe_check
    @classmethod
    def somme_des_dettes(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure((t.total_dettes == _sum(t, _DEBTS)) & (t.dettes_poursuivables <= t.total_dettes))


class PanelDebiteursCommuns(_PanelBase):
    departement: str = pa.Field(str_matches=DEPT_RE)

    class Config:
        unique = ["siren", "departement"]

    @pa.dataframe_check
    @classmethod
    def rangs_contigus_par_score(cls, data: IbisData) -> ir.BooleanScalar:
        return _ranks_ok(data.table, ["departement"])  # ranks restart in every department


class PanelDebiteursCommunsNational(_PanelBase):
    departements: str = pa.Field(str_matches=DEPTS_RE)

    class Config:
        unique = ["siren"]

    @pa.dataframe_check
    @classmethod
    def rangs_contigus_par_score(cls, data: IbisData) -> ir.BooleanScalar:
        return _ranks_ok(data.table, [])


class Compensations(_Model):
    """What a department's certain due credits can pay of the company's taxes in every department (v3)."""

    siren: str = pa.Field(str_matches=SIREN_RE)
    denomination: str = pa.Field(nullable=True)
    departement: str = pa.Field(str_matches=DEPT_RE)
    date_situation: datetime.date
    creances_departement: Money = pa.Field(gt=0)
    dettes_compensables_departement: Money = pa.Field(ge=0)
    dettes_compensables_autres: Money = pa.Field(ge=0)
    montant_compensable: Money = pa.Field(gt=0)
    departements_dettes: str = pa.Field(str_matches=DEPTS_RE)

    class Config:
        unique = ["siren", "departement"]

    @pa.dataframe_check
    @classmethod
    def borne_par_les_deux_cotes(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        bound = ibis.least(t.creances_departement, t.dettes_compensables_departement + t.dettes_compensables_autres)
        return _sure(t.montant_compensable == bound)

    @pa.dataframe_check
    @classmethod
    def departement_dans_la_liste_si_dette(cls, data: IbisData) -> ir.BooleanColumn:
        """The department's own code is listed exactly when it holds offsettable taxes itself."""
        t = data.table
        listed = t.departements_dettes.split(",").contains(t.departement)
        return _sure(listed == (t.dettes_compensables_departement > 0))


class Declarations(_Model):
    """The claims to declare in a collective procedure, with their deadlines (v3, art. L. 622-24 C. com.)."""

    siren: str = pa.Field(str_matches=SIREN_RE)
    denomination: str = pa.Field(nullable=True)
    departement: str = pa.Field(str_matches=DEPT_RE)
    date_situation: datetime.date
    procedure_collective: str = pa.Field(isin=PROCEDURES)
    date_jugement: datetime.date
    date_publication_bodacc: datetime.date = pa.Field(nullable=True)
    source: str = pa.Field(isin=DEBT_SOURCES)
    fichier: str = pa.Field(nullable=True)
    ligne: Int = pa.Field(ge=2, nullable=True)
    cle: str
    montant: Money = pa.Field(gt=0)
    date_limite_declaration: datetime.date = pa.Field(nullable=True)
    date_limite_releve: datetime.date = pa.Field(nullable=True)
    etat: str = pa.Field(isin=list(tables.DECLARATION_STATES))
    nature: str = pa.Field(isin=["ECHUE", "A_ECHOIR", "NON_VALEUR"])
    date_ligne: datetime.date = pa.Field(nullable=True)
    date_origine: datetime.date = pa.Field(nullable=True)
    service_declarant: str = pa.Field(isin=sorted(set(tables.DECLARING_SERVICES.values())))

    class Config:
        unique = ["departement", "source", "cle"]

    @pa.dataframe_check
    @classmethod
    def delais_selon_etat(cls, data: IbisData) -> ir.BooleanColumn:
        """Deadlines exist exactly for a pre-judgment claim with a known publication; the state follows them."""
        t = data.table
        dated = t.date_limite_declaration.notnull() & t.date_limite_releve.notnull()
        undated = t.date_limite_declaration.isnull() & t.date_limite_releve.isnull()
        ds = t.date_situation
        return _sure(
            ((t.etat == "A_DECLARER") & dated & (ds <= t.date_limite_declaration))
            | ((t.etat == "RELEVE_POSSIBLE") & dated & (ds > t.date_limite_declaration)
               & (ds <= t.date_limite_releve))
            | ((t.etat == "FORCLOS") & dated & (ds > t.date_limite_releve))
            | ((t.etat == "BODACC_INCONNU") & undated & t.date_publication_bodacc.isnull())
            | ((t.etat == "A_QUALIFIER") & undated)
        )

    @pa.dataframe_check
    @classmethod
    def procedure_ouverte(cls, data: IbisData) -> ir.BooleanColumn:
        t = data.table
        return _sure((t.date_jugement <= t.date_situation)
                     & (t.date_publication_bodacc.isnull() | (t.date_publication_bodacc >= t.date_jugement)))


TABLE_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "core.rattachement_amendes": RattachementAmendes,
    "core.lignes_dettes": LignesDettes,
    "core.lignes_creances": LignesCreances,
    "core.non_positionnees": NonPositionnees,
    "marts.positions": Positions,
    "marts.positions_nationales": PositionsNationales,
    "marts.panel_debiteurs_communs": PanelDebiteursCommuns,
    "marts.panel_debiteurs_communs_national": PanelDebiteursCommunsNational,
    "marts.compensations": Compensations,
    "marts.declarations": Declarations,
}

"""The law behind what agents read (SOURCES.md section 8, version 3): every legal sentence of the screens, sheets,
dashboards and exports' labels is written here once, with its article, and listed in docs/legal.md.

The wording is the contract's: a past-due debt is "échue" (never "exigible": a debt under sursis or stayed by a
procedure is past due but not exigible); what is not suspended is "poursuivable" ("non suspendue d'après les
données"); a suspended line says why; debts outside art. L. 257 B are "hors L. 257 B" (other routes exist, the
agent judges them), never "never offset"; a credit not yet due is "à échoir"; credits and debts are never netted
into a balance.
"""

from __future__ import annotations

from typing import Any

HORS_L257B = "hors L. 257 B"
SURSIS = "suspendue (sursis de paiement, art. L. 277 LPF)"
CREANCE_A_ECHOIR = "à échoir (non compensable avant sa date)"
DETTE_A_ECHOIR = "à échoir (pas encore échue, non compensable avant sa date)"

DETTES_ECHUES = "Dettes échues"
"""`total_dettes`: everything past due, pursuable or not (« restes à recouvrer échus »)."""
DETTES_SUSPENDUES = "dont suspendues"
DETTES_POURSUIVABLES = "dont poursuivables (non suspendues d'après les données)"
CREANCES_CERTAINES = "Créances certaines et dues"
COMPENSABLE = "compensable (art. L. 257 B LPF)"
COMPENSATION_BLOQUEE = "compensation bloquée"
DONT_PAR_COMPENSATION = "dont par compensation"

SUSPENSION_LABELS = {
    "SURSIS": "sursis de paiement (art. L. 277 LPF)",
    "TITRE_CONTESTE": "titre contesté en justice (art. L. 1617-5 CGCT)",
    "PASSIF_PROCEDURE": "déclarée au passif d'une procédure collective (art. L. 622-21 C. com.)",
    "ANTERIEURE_JUGEMENT": "antérieure au jugement d'ouverture (art. L. 622-21 C. com.)",
    "POSTERIEURE_JUGEMENT": "postérieure au jugement, à qualifier (art. L. 622-17 C. com.)",
    "PROCEDURE_NON_REFERENCEE": "procédure non référencée au registre (créance déclarée au passif, "
                                "art. L. 622-21 C. com.)",
}
"""Why a past-due line is suspended (`motif_suspension`, codes of `consolidate.tables.SUSPENSION_REASONS`)."""


def suspension_label(code: str | None) -> str:
    """The reason of a suspended line in words (never the raw code in a sentence)."""
    if not code:
        return "suspendue"
    return SUSPENSION_LABELS.get(code, code.replace("_", " ").lower())


ETATS_DECLARATION = {
    "A_DECLARER": "À déclarer avant la date limite (art. L. 622-24 et R. 622-24 C. com.)",
    "RELEVE_POSSIBLE": "Délai dépassé : relevé de forclusion à demander au juge-commissaire avant la date limite "
                       "de relevé (art. L. 622-26 C. com.)",
    "FORCLOS": "À examiner : délais de déclaration et de relevé dépassés d'après les données ; le relevé reste "
               "ouvert un an au créancier qui ne pouvait connaître sa créance (art. L. 622-26 C. com.)",
    "BODACC_INCONNU": "Date de publication au BODACC inconnue : délai à vérifier (art. R. 622-24 C. com.)",
    "A_QUALIFIER": "À qualifier (art. L. 622-17 C. com.) : née après le jugement ; privilégiée (L. 622-17 I), elle "
                   "est payée à l'échéance et, impayée, portée à la connaissance du mandataire (L. 622-17 IV) ; "
                   "sinon, à déclarer dans les deux mois de son échéance (art. L. 622-24 al. 6). Par prudence, agir "
                   "dans ces deux mois",
}
"""`marts.declarations.etat`: FORCLOS is « à examiner », never « perdue » (section 6)."""
ETATS_DECLARATION_COURTS = {
    "A_DECLARER": "À déclarer (art. L. 622-24, R. 622-24 C. com.)",
    "RELEVE_POSSIBLE": "Délai dépassé : relevé de forclusion à demander (art. L. 622-26 C. com.)",
    "FORCLOS": "À examiner : relevé possible un an pour une créance ignorée (art. L. 622-26 C. com.)",
    "BODACC_INCONNU": "BODACC inconnu : délai à vérifier (art. R. 622-24 C. com.)",
    "A_QUALIFIER": "à qualifier (art. L. 622-17)",
}
"""The same states in a worklist's cell (the list's help gives the whole rule): short enough for 1 400 px."""

SERVICES_DECLARANTS = {
    "SIE": "SIE (service des impôts des entreprises)",
    "COMPTABLE_COLLECTIVITE": "comptable de la collectivité (SGC), pas le SIE",
    "COMPTABLE_AMENDES": "comptable des amendes",
    "COMPTABLE_RNF": "comptable des recettes non fiscales",
}
"""`marts.declarations.service_declarant`: the accountant in charge of the claim's recovery declares it."""

DECLARATIONS_BASE_LEGALE = (
    "Une créance née avant le jugement d'ouverture se déclare au mandataire judiciaire dans les deux mois de la "
    "publication au BODACC, quatre mois de plus hors de la métropole (art. L. 622-24 et R. 622-24 C. com.) ; "
    "passé ce délai, le juge-commissaire peut relever le créancier de la forclusion sur demande faite dans les "
    "six mois de la publication, un an pour le créancier qui ne pouvait connaître sa créance (art. L. 622-26 "
    "C. com.). Les délais sont comptés comme aux art. 641 et 642 du Code de procédure civile. Une créance née "
    "après le jugement est à qualifier (art. L. 622-17 C. com.). Les dates limites sont les plus précoces que "
    "les données permettent ; une ligne « à examiner » n'est jamais perdue sans l'examen d'un agent."
)

COMPENSATION_ANTERIEURE = ("compensation antérieure au jugement à examiner (art. 1347 C. civ., "
                           "L. 622-7 C. com.)")
"""Flag: in a procedure, a certain credit and a past-due tax both dated before the judgment (section 8)."""
COMPENSATION_ANTERIEURE_DETAIL = (
    "Une créance certaine et un impôt échu, tous deux antérieurs au jugement d'ouverture : si toutes les "
    "conditions de la compensation étaient réunies avant le jugement, elle a joué à cette date (art. 1347 du "
    "Code civil) ; sinon, seule la connexité des créances la permet (art. L. 622-7 C. com.). À examiner par "
    "l'agent."
)

NON_COMPTEE = "non comptée"
REJETS_AIDE = ("Lignes de cette entreprise rejetées dans les derniers fichiers (motif ci-contre) : elles ne sont "
               "comptées dans aucun total tant que le fichier n'est pas corrigé ; le montant est celui écrit dans "
               "le fichier.")


def a_compenser(position: dict[str, Any]) -> bool:
    """Something to offset on both sides: certain due credits and past-due professional taxes."""
    return (position.get("total_creances") or 0) > 0 and (position.get("dettes_impots_pro") or 0) > 0

BLOCAGE_PROCEDURE = "PROCEDURE"
BLOCAGE_PASSIF = "PASSIF"
BLOCAGE_LABELS = {
    BLOCAGE_PROCEDURE: "procédure collective ouverte (art. L. 622-7 C. com.)",
    BLOCAGE_PASSIF: "créance déclarée au passif d'une procédure que le registre ne montre pas (art. L. 622-7 "
                    "C. com.)",
}
"""Why ``montant_compensable`` is 0 although credits and offsettable debts exist (SOURCES.md sections 6 and 8)."""


def blocage_sql(position: str = "p", registre: str = "e") -> str:
    """SQL of a position's offsetting block: ``'PROCEDURE'``, ``'PASSIF'`` or NULL.

    ``registre`` is the register row of the version the snapshot read (its
    ``date_jugement``); a procedure whose judgment is after the as-of date does
    not block. A declared claim blocks even when the register shows nothing.
    """
    return f"""CASE
        WHEN {position}.procedure_collective IS NOT NULL AND {registre}.date_jugement <= {position}.date_situation
            THEN '{BLOCAGE_PROCEDURE}'
        WHEN {position}.passif_declare > 0 THEN '{BLOCAGE_PASSIF}'
    END"""


LEGAL_BASIS_HTML = """
<p><strong>Dettes échues, suspendues, poursuivables.</strong> Les dettes échues (restes à recouvrer échus) sont
tout ce qui est dû et échu à la date de situation. Une partie peut être <strong>suspendue</strong> : impôt sous
<strong>sursis de paiement</strong> (l'exigibilité et la prescription sont suspendues jusqu'à la décision
définitive, <strong>art. L. 277 du LPF</strong>) ; titre d'une collectivité <strong>contesté en justice</strong>
(la contestation suspend la force exécutoire, <strong>art. L. 1617-5 1° du CGCT</strong>) ; toute dette d'une
entreprise en <strong>procédure collective</strong> ouverte (aucune poursuite hors de la procédure, <strong>art.
L. 622-21 du Code de commerce</strong>, art. L. 641-3 en liquidation), y compris celle qu'une créance déclarée au
passif révèle quand le registre ne la montre pas ; une dette née après le jugement est « à qualifier » (seules
celles de l'<strong>art. L. 622-17 I</strong> échappent à l'arrêt des poursuites). Le reste est
<strong>poursuivable</strong> : non suspendu d'après les données (qui ne disent rien des prescriptions ni des plans
de règlement). Un sursis ne couvre que la part contestée d'un impôt : les données ne la donnant pas, toute la ligne
est suspendue.</p>
<p><strong>Ce que recouvre le « montant compensable ».</strong> Le comptable public peut imputer
un remboursement ou une restitution dû à une entreprise sur le paiement de ses
<em>impôts, droits, taxes, pénalités et intérêts</em>, de sa propre initiative, lorsque les deux
créances sont liquides et exigibles (<strong>art. L. 257 B du LPF</strong>) ; il en informe alors
l'entreprise (<strong>art. R. 257 B-1 du LPF</strong>). En conséquence :</p>
<ul>
  <li>seules les dettes d'<strong>impôts professionnels échues et poursuivables</strong> à la date de situation
      entrent dans le montant ; un impôt dont la date d'exigibilité est postérieure est <strong>à échoir</strong>
      (montré à part, hors du total des dettes) ; un impôt suspendu n'est ni poursuivi ni compensé ;</li>
  <li>les amendes, les recettes non fiscales et les produits locaux (créances des collectivités, un autre
      créancier) sont <strong>hors L. 257 B</strong> : ce montant les laisse de côté, mais d'autres voies
      existent (compensation de droit commun de l'art. 1347 du Code civil, saisie administrative à tiers
      détenteur d'un remboursement dû par l'État), à apprécier par l'agent ;</li>
  <li>seules les <strong>créances certaines et dues</strong> comptent (crédit de TVA accordé, excédent à
      restituer, créance d'IS remboursable dès maintenant) ; une créance d'IS remboursable plus tard est
      <strong>à échoir (non compensable avant sa date)</strong> ; les demandes en instruction restent
      potentielles ;</li>
  <li>une créance détenue dans un département peut payer les impôts de l'entreprise dans un autre : l'art.
      L. 257 B regarde le contribuable, pas le service ; l'agent du département qui détient la créance (et qui
      sinon la rembourserait) est celui qui agit ;</li>
  <li>dès l'ouverture d'une <strong>procédure collective</strong>, payer une dette antérieure au jugement,
      compensation comprise, est interdit sauf créances connexes (<strong>art. L. 622-7 du Code de
      commerce</strong>) : le montant est ramené à 0. Une créance fiscale <strong>déclarée au passif</strong>
      d'une procédure prouve la procédure même quand le registre ne la montre pas encore : elle bloque de
      même (montant « passif déclaré »). Ces deux blocages sont prudents : l'agent apprécie au cas par cas
      (créances nées après le jugement, art. L. 622-17, plan ou clôture de la procédure ; compensation dont
      les conditions étaient réunies avant le jugement, art. 1347 du Code civil) ;</li>
  <li>une amende <strong>admise en non-valeur</strong> n'est pas éteinte : elle est montrée à part pour être
      reconsidérée si l'entreprise revient à meilleure fortune, hors des dettes poursuivies.</li>
</ul>
<p>Montant compensable = le plus petit de (créances certaines et dues, impôts professionnels échus et
poursuivables), 0 en cas de blocage. C'est une <strong>opportunité à examiner</strong> par un agent, pas une action
réalisée par le logiciel. Créances et dettes ne sont jamais soustraites les unes des autres : le remboursement dû
par l'État et la créance d'une commune ne sont pas dus entre les mêmes personnes (réciprocité de l'art. 1347 du
Code civil), et un total de plusieurs entreprises ne déduit jamais les créances de l'une des dettes d'une
autre.</p>
"""


def debt_line_situation(line: dict[str, Any]) -> str:
    """Where one debt line stands: échue and poursuivable, échue and suspended (with why), à échoir..."""
    nature = line.get("nature")
    if nature == "AUCUNE":
        return "Rien n'est dû (payée ou annulée)"
    if nature == "NON_VALEUR":
        return "Admise en non-valeur : hors des dettes poursuivies, non éteinte"
    if nature == "A_ECHOIR":
        return "À échoir : pas encore échue"
    if line.get("suspendue"):
        return f"Échue, suspendue : {suspension_label(line.get('motif_suspension'))}"
    return "Échue, poursuivable (non suspendue d'après les données)"

"""The law behind the offsetting figure (SOURCES.md section 8), as agents read it on every page.

The wording is the contract's: debts outside art. L. 257 B are "hors L. 257 B"
(other routes exist, the agent judges them), never "never offset"; a debt under
sursis is suspended, not extinguished; a credit not yet due is "à échoir".
"""

from __future__ import annotations

HORS_L257B = "hors L. 257 B"
SURSIS = "suspendue (sursis de paiement, art. L. 277 LPF)"
CREANCE_A_ECHOIR = "à échoir (non compensable avant sa date)"
DETTE_A_ECHOIR = "à échoir (pas encore exigible, non compensable avant sa date)"

BLOCAGE_PROCEDURE = "PROCEDURE"
BLOCAGE_PASSIF = "PASSIF"
BLOCAGE_LABELS = {
    BLOCAGE_PROCEDURE: "procédure collective ouverte (art. L. 622-7 C. com.)",
    BLOCAGE_PASSIF: "créance déclarée au passif d'une procédure que le registre ne montre pas",
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
<p><strong>Ce que recouvre le « montant compensable ».</strong> Le comptable public peut imputer
un remboursement ou une restitution dû à une entreprise sur le paiement de ses
<em>impôts, droits, taxes, pénalités et intérêts</em>, de sa propre initiative, lorsque les deux
créances sont liquides et exigibles (<strong>art. L. 257 B du LPF</strong>) ; il en informe alors
l'entreprise (<strong>art. R. 257 B-1 du LPF</strong>). En conséquence :</p>
<ul>
  <li>seules les dettes d'<strong>impôts professionnels exigibles</strong> à la date de situation entrent dans
      le montant ; un impôt dont la date d'exigibilité est postérieure est <strong>à échoir</strong> (montré à
      part, hors du total des dettes) ;</li>
  <li>les amendes, les recettes non fiscales et les produits locaux (créances des collectivités, un autre
      créancier) sont <strong>hors L. 257 B</strong> : ce montant les laisse de côté, mais d'autres voies
      existent (compensation de droit commun de l'art. 1347 du Code civil, saisie administrative à tiers
      détenteur d'un remboursement dû par l'État), à apprécier par l'agent ;</li>
  <li>une dette sous <strong>sursis de paiement</strong> reste due mais son recouvrement, compensation comprise,
      est <strong>suspendu (art. L. 277 du LPF)</strong> : elle compte dans les dettes, pas dans le montant
      compensable ;</li>
  <li>seules les <strong>créances certaines et exigibles</strong> comptent (crédit de TVA accordé, excédent à
      restituer, créance d'IS remboursable dès maintenant) ; une créance d'IS remboursable plus tard est
      <strong>à échoir (non compensable avant sa date)</strong> ; les demandes en instruction restent
      potentielles ;</li>
  <li>dès l'ouverture d'une <strong>procédure collective</strong>, payer une dette antérieure au jugement,
      compensation comprise, est interdit sauf créances connexes (<strong>art. L. 622-7 du Code de
      commerce</strong>) : le montant est ramené à 0. Une créance fiscale <strong>déclarée au passif</strong>
      d'une procédure prouve la procédure même quand le registre ne la montre pas encore : elle bloque de
      même (montant « passif déclaré »). Ces deux blocages sont prudents : l'agent apprécie au cas par cas
      (créances nées après le jugement, art. L. 622-17, plan ou clôture de la procédure) ;</li>
  <li>une amende <strong>admise en non-valeur</strong> n'est pas éteinte : elle est montrée à part pour être
      reconsidérée si l'entreprise revient à meilleure fortune, hors des dettes poursuivies.</li>
</ul>
<p>Montant compensable = le plus petit de (créances certaines exigibles, impôts professionnels exigibles sans
sursis), 0 en cas de blocage. C'est une <strong>opportunité à examiner</strong> par un agent, pas une action
réalisée par le logiciel.</p>
"""

"""The law behind the offsetting figure (SOURCES.md section 8), as agents read it on every page."""

from __future__ import annotations

LEGAL_BASIS_HTML = """
<p><strong>Ce que recouvre le « montant compensable ».</strong> Le comptable public peut imputer
un remboursement ou une restitution dû à une entreprise sur le paiement de ses
<em>impôts, droits, taxes, pénalités et intérêts</em>, de sa propre initiative, lorsque les deux
créances sont liquides et exigibles (<strong>art. L. 257 B du LPF</strong>) ; il en informe alors
l'entreprise (<strong>art. R. 257 B-1 du LPF</strong>). En conséquence :</p>
<ul>
  <li>seules les dettes d'<strong>impôts professionnels exigibles</strong> à la date de situation sont
      compensables ; les amendes et les recettes non fiscales sont hors du champ de l'article L. 257 B,
      et les produits locaux appartiennent aux collectivités (un autre créancier) : jamais compensés ;</li>
  <li>une dette sous <strong>sursis de paiement</strong> n'est pas exigible
      (<strong>art. L. 277 du LPF</strong>) : elle est exclue ;</li>
  <li>seules les <strong>créances certaines</strong> comptent (crédit de TVA accordé, excédent à
      restituer, créance d'IS remboursable) ; les demandes en instruction restent potentielles ;</li>
  <li>dès l'ouverture d'une <strong>procédure collective</strong>, payer une dette antérieure au
      jugement, y compris par compensation, est interdit sauf créances connexes
      (<strong>art. L. 622-7 du Code de commerce</strong>) : le montant est ramené à 0 et l'agent
      apprécie au cas par cas.</li>
</ul>
<p>Montant compensable = le plus petit de (créances certaines, dettes fiscales compensables).
C'est une <strong>opportunité à examiner</strong> par un agent, pas une action réalisée par le logiciel.</p>
"""

"""Word lists the names, addresses and labels are built from (accented; the plain form is derived).

Everything must be encodable in cp1252, the encoding of five of the sources.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

ACTIVITES = (
    "BOULANGERIE", "PÂTISSERIE", "BOUCHERIE", "CHARCUTERIE", "ÉPICERIE", "FROMAGERIE", "GARAGE",
    "CARROSSERIE", "TRANSPORTS", "TAXIS", "AMBULANCES", "MENUISERIE", "CHARPENTE", "MAÇONNERIE",
    "PLOMBERIE", "ÉLECTRICITÉ", "PEINTURE", "COUVERTURE", "TERRASSEMENT", "BÂTIMENT", "RESTAURANT",
    "BRASSERIE", "CAFÉ", "HÔTEL", "CRÊPERIE", "PIZZERIA", "PHARMACIE", "OPTIQUE", "COIFFURE", "PRESSING",
    "LIBRAIRIE", "IMPRIMERIE", "INFORMATIQUE", "CABINET", "AGENCE", "IMMOBILIÈRE", "NÉGOCE",
    "DISTRIBUTION", "ATELIER", "ÉCURIES", "PÉPINIÈRES", "PAYSAGES", "NETTOYAGE", "SÉCURITÉ", "LOGISTIQUE",
    "MÉCANIQUE", "CHAUDRONNERIE", "OSTRÉICULTURE", "VITICULTURE", "DÉMÉNAGEMENTS", "FERRONNERIE",
    "AUTO-ÉCOLE", "FLEURS", "BIJOUTERIE", "ÉBÉNISTERIE", "SERRURERIE",
)  # fmt: skip
NOMS = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY", "MOREAU",
    "SIMON", "LAURENT", "LEFÈVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER",
    "MOREL", "GIRARD", "ANDRÉ", "MERCIER", "DUPONT", "LAMBERT", "BONNET", "FRANÇOIS", "MARTINEZ", "LEGRAND",
    "GARNIER", "FAURE", "ROUSSEAU", "BLANC", "GUÉRIN", "MULLER", "HENRY", "ROUSSEL", "NICOLAS", "PERRIN",
    "MORIN", "MATHIEU", "CLÉMENT", "GAUTHIER", "DUMONT", "LOPEZ", "FONTAINE", "CHEVALIER", "ROBIN",
    "MASSON", "SANCHEZ", "GÉRARD", "NGUYEN", "BOYER", "DENIS", "LEMAIRE", "DUVAL", "JOLY", "ROGER", "ROCHE",
    "ROY", "NOËL", "MEYER", "LUCAS", "MEUNIER", "PEREZ", "MARCHAND", "DUFOUR", "BLANCHARD", "BARBIER",
    "BRUN", "DUMAS", "BRUNET", "SCHMITT", "LEROUX", "COLIN", "FERNANDEZ", "RENARD", "ARNAUD", "ROLLAND",
    "CARON", "AUBERT", "GIRAUD", "LECLERC", "VIDAL", "BOURGEOIS", "RENAUD", "LEMOINE", "PICARD",
    "GAILLARD", "LACROIX", "FABRE", "DUPUIS", "OLIVIER", "HUBERT", "GUILLOT", "RIVIÈRE", "LE GALL",
    "LE BRIS", "D'ALMEIDA", "DA SILVA", "DE OLIVEIRA", "PELLETIER", "LEBRUN", "BENOÎT", "HÉBERT", "CÔTÉ",
    "BÉRANGER", "LAGARDE", "TESSIER", "POIRIER", "CHARRIER", "BESNARD", "MAILLARD", "COLLET", "PRÉVOST",
    "JOUBERT", "ÉTIENNE", "LEFEBVRE", "LEFRANÇOIS", "N'DIAYE", "O'NEILL", "LABBÉ", "DESCHAMPS",
)  # fmt: skip
PRENOMS = (
    "JEAN", "MARIE", "PIERRE", "NATHALIE", "MICHEL", "ISABELLE", "ANDRÉ", "SYLVIE", "PHILIPPE", "CÉLINE",
    "FRANÇOIS", "HÉLÈNE", "JÉRÔME", "CHLOÉ", "GAËL", "LÉA", "ANNE-SOPHIE", "JEAN-LUC",
)  # fmt: skip
LIEUX = (
    "DU PORT", "DE LA GARE", "DU MARCHÉ", "DU CENTRE", "DE L'OUEST", "DE L'EST", "DU NORD", "DU SUD",
    "DES DEUX MERS", "DE L'ÎLE", "DU LITTORAL", "DES ÉTANGS", "DU VAL", "DE LA VALLÉE", "DU CHÂTEAU",
    "DES LILAS", "DU MOULIN", "DE LA PLAGE", "DU LAC", "DES SALINES", "DE LA FORÊT", "DES VIGNES", "DU BOURG",
    "DE LA CÔTE", "DES HALLES", "DE L'ABBAYE", "DU PONT", "DE LA BAIE", "DES ROCHES", "DU PLATEAU",
    "DE LA SOURCE", "D'ARMOR", "D'AUNIS", "DU BOCAGE", "DES CÈDRES", "DE L'ÉTOILE",
)  # fmt: skip
REGIONS = (
    "ATLANTIQUE", "OCÉANE", "CHARENTAIS", "NORMANDE", "BRETONNE", "PROVENÇALE", "ALPINE", "LORRAINE",
    "PICARDE", "GASCONNE", "SAVOYARDE", "AUVERGNATE", "CORSE", "ANTILLAISE", "RÉUNIONNAISE", "FRANCILIENNE",
    "LIGÉRIENNE", "MÉDITERRANÉE", "DU GRAND OUEST", "DES PYRÉNÉES",
)  # fmt: skip
SUFFIXES = (
    "ET FILS", "FRÈRES", "SERVICES", "ASSOCIÉS", "ET CIE", "CONSEIL", "ÉNERGIE", "HABITAT", "PLUS",
    "EXPRESS", "DÉVELOPPEMENT", "INVEST", "GROUPE", "& CO", "PÈRE ET FILLE",
)  # fmt: skip
VOIES = ("RUE", "AVENUE", "BOULEVARD", "CHEMIN", "PLACE", "IMPASSE", "ROUTE", "QUAI", "ALLÉE", "COURS")
VOIE_NOMS = (
    "DE LA RÉPUBLIQUE", "DU GÉNÉRAL DE GAULLE", "DES SALINES", "JEAN JAURÈS", "VICTOR HUGO",
    "DE L’ÉGLISE", "DU MOULIN", "DE LA GARE", "PASTEUR", "DES LILAS", "D’ESTIENNE D’ORVES", "DE LA MAIRIE",
    "DU 8 MAI 1945", "GAMBETTA", "DES ÉCOLES", "DE L’ÉTANG", "DU PORT", "ÉMILE ZOLA", "DES FRÈRES LUMIÈRE",
    "DE LA LIBÉRATION", "SAINT-EXUPÉRY", "DU CHÂTEAU D’EAU", "DES PÊCHEURS", "NOTRE-DAME",
)  # fmt: skip
COMMUNE_PREF = ("SAINT-", "SAINTE-", "LE ", "LA ", "LES ", "", "", "", "", "", "", "")
COMMUNE_CORE = (
    "MARTIN", "GEORGES", "PIERRE", "JEAN", "ÉTIENNE", "ANDRÉ", "AUBIN", "BOIS", "CHÂTEAU", "PONT",
    "FONTAINE", "VILLENEUVE", "BEAUMONT", "MONTIGNY", "ROCHEFORT", "VERNEUIL", "CHAMPAGNE", "BELLEVUE",
    "FONTENAY", "MONTREUIL", "NEUVILLE", "VILLIERS", "CHÂTILLON", "COURCELLES", "ÉPINAY", "ORMESSON",
    "ÉCOUEN", "MÉRIGNAC", "PÉRIGNY", "AIGREFEUILLE", "SAUJON", "MARENNES", "SAINTES", "JONZAC", "BRÉHAT",
)  # fmt: skip
COMMUNE_SUFF = (
    "", "", "", "", "-SUR-MER", "-SUR-SEINE", "-LÈS-BAINS", "-EN-VAL", "-LE-VIEUX", "-DE-RÉ",
    "-SUR-LOIRE", "-D'OLÉRON", "-LA-FORÊT",
)  # fmt: skip
COLLECTIVITES = (
    "COMMUNE DE", "CCAS DE", "SYNDICAT DES EAUX DE", "COMMUNAUTÉ DE COMMUNES DE", "RÉGIE DES TRANSPORTS DE",
    "OFFICE DE TOURISME DE", "CAISSE DES ÉCOLES DE",
)  # fmt: skip
NATURES_SPL = (
    "LOYER", "EAU", "EAU ET ASSAINISSEMENT", "CANTINE", "OCCUPATION DOMAINE PUBLIC", "DÉCHETS",
    "TAXE DE SÉJOUR", "PÉRISCOLAIRE", "FOURRIÈRE", "DROITS DE PLACE",
)  # fmt: skip
NATURES_RNF = (
    "REDEVANCE", "AMENDE ADMINISTRATIVE, PECHE", "REMBOURSEMENT INDU", "LOYER DOMANIAL",
    "FRAIS DE FOURRIÈRE", 'REDEVANCE "OCCUPATION DU DOMAINE PUBLIC"', "AMENDE ADMINISTRATIVE, TRAVAIL",
    "TROP-PERÇU", "ASTREINTE ADMINISTRATIVE",
)  # fmt: skip
ORDONNATEURS = (
    "PRÉFECTURE {d}, SERVICE DES TITRES", "DDTM {d}", "DDPP {d}", "DREAL, UNITÉ {d}", "DDFIP {d}",
    "RECTORAT, ACADÉMIE {d}", 'DIRECTION "SUD-OUEST", DIRECCTE {d}',
)  # fmt: skip
LEGAL_PREFIXES = ("STE", "SOCIETE", "Société", "ETS", "Sté", "Ets")
LEGAL_SUFFIXES = ("SARL", "SAS", "SASU", "EURL", "SA", "sarl", "Sas")
# foreign companies registered in France (3120) or not (3220)
NOMS_ETRANGERS = (
    "SMITH", "JOHNSON", "MÜLLER", "SCHNEIDER", "ROSSI", "BIANCHI", "GARCÍA", "FERNÁNDEZ", "JANSEN", "DE VRIES",
    "KOWALSKI", "SILVA", "O'BRIEN", "LARSEN", "NOVAK", "PEETERS",
)  # fmt: skip
FORMES_ETRANGERES = ("LTD", "LIMITED", "GMBH", "S.P.A.", "S.R.L.", "B.V.", "S.L.", "INC", "AG", "SP. Z O.O.", "NV")
PAYS = (
    "DU CANADA", "DU JAPON", "DE L'INDE", "DU BRÉSIL", "DE NORVÈGE", "DU MAROC", "DE CORÉE", "DU QATAR",
    "DE SINGAPOUR", "DU MEXIQUE",
)  # fmt: skip


def plain(s: str) -> str:
    """Accents removed, typographic apostrophe made straight: the look of most source systems."""
    s = unicodedata.normalize("NFD", s.replace("’", "'"))
    return "".join(ch for ch in s if not unicodedata.combining(ch))


def initials(s: str) -> str:
    small = {"DE", "DU", "DES", "LA", "LE", "LES", "L", "D", "ET", "&", "N", "O"}
    words = re.split(r"[\s'’-]+", plain(s))
    return "".join(w[0] for w in words if w and w not in small)


def vocab(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(accented, plain, initials) object arrays of a word list."""
    acc = np.array(values, dtype=object)
    return (
        acc,
        np.array([plain(v) for v in values], dtype=object),
        np.array([initials(v) for v in values], dtype=object),
    )


V_ACT, V_NOM, V_LIEU, V_REG, V_SUF, V_ETR = map(vocab, (ACTIVITES, NOMS, LIEUX, REGIONS, SUFFIXES, NOMS_ETRANGERS))

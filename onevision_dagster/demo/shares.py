"""Every proportion the generator draws, in one place: docs/demo.md tabulates these numbers.

Shares of companies are drawn by hashing the company index (the same company in every snapshot); shares of
lines by the seeded generator of their department, source and snapshot. "Weekly" rates apply between two
consecutive snapshots (7 days apart).
"""

from __future__ import annotations

# ----- volumes ---------------------------------------------------------------------------------------------
# lines per company with a head office in the department, at the first snapshot
ROWS_PER_COMPANY: dict[str, float] = {
    "amendes": 0.5,
    "spl": 0.4,
    "impots_pro": 0.8,
    "rnf": 0.2,
    "credits_tva": 0.1,
    "excedents": 0.05,
    "creances_is": 0.05,
}
MIN_ROWS = 12  # per source file of a non-empty department, so that every code value can appear
# new lines per week, as a share of the first snapshot's lines of the source
NEW_LINES_PER_WEEK: dict[str, float] = {
    "amendes": 0.02,
    "spl": 0.02,
    "impots_pro": 0.03,
    "rnf": 0.02,
    "credits_tva": 0.06,
    "excedents": 0.08,
    "creances_is": 0.02,
}

# ----- register --------------------------------------------------------------------------------------------
OUT_OF_SCOPE_SHARE = 0.03  # extra register rows (sole traders, public bodies, foreign States...) per department
OUTSIDE_SHARE = 0.01  # in-scope companies with head office in a department not generated
FOREIGN_POOL_SHARE = 0.01  # companies of other departments that have lines in this one
UNKNOWN_POOL_SHARE = 0.01  # valid SIRENs absent from the register
HOMONYM_SHARE = 0.01  # same denomination and postal code as the previous company
SIGLE_SHARE = 0.15
CEASED_SHARE = 0.08  # ceased without a procedure
PROCEDURE_SHARE = 0.04  # companies with a collective procedure (judgment within three years)
PROCEDURE_KINDS = {"SAUVEGARDE": 0.2, "REDRESSEMENT": 0.35, "LIQUIDATION": 0.45}
ANNOUNCED_JUDGMENT_SHARE = 0.01  # of procedures: the register shows a judgment dated after the extract
REGISTER_LAG_DAYS = (7, 90)  # ... of unknown publication: the register shows it this many days after the judgment
# version 3: the BODACC publication of the opening judgment puts the claims of a procedure, at the latest
# snapshot, in one of the four states of `declarations` (SOURCES.md section 6), drawn per company:
BODACC_STATES = {"A_DECLARER": 0.25, "RELEVE_POSSIBLE": 0.15, "FORCLOS": 0.50, "BODACC_INCONNU": 0.10}
# days between the publication and the latest snapshot, per state: within two months (to declare); past four
# months but within six (relief still possible, even with the two extra months of R. 622-24); past six months
BODACC_PUBLICATION_AGE_DAYS = {"A_DECLARER": (15, 50), "RELEVE_POSSIBLE": (130, 175), "FORCLOS": (200, 3 * 365)}
BODACC_DELAY_DAYS = (7, 30)  # the publication follows the judgment by this many days
REGISTER_AFTER_BODACC_DAYS = (0, 14)  # the register shows a published procedure this many days after publication
NEW_COMPANIES_PER_WEEK = 0.002  # companies that appear in the register between two snapshots

# ----- who a line is about ---------------------------------------------------------------------------------
DEBTOR_MIX = {"local": 0.937, "out_of_scope": 0.02, "foreign": 0.03, "unknown": 0.01, "la_poste": 0.003}
FINE_SIREN_FORMS = {"valid": 0.45, "spaced": 0.10, "missing": 0.38, "invalid": 0.07}

# ----- statuses at the first snapshot ----------------------------------------------------------------------
FINE_STATUTS = {"EN_RECOUVREMENT": 0.60, "PAYEE": 0.22, "ANNULEE": 0.08, "ADMISE_NON_VALEUR": 0.10}
RNF_STATUTS = {"PRIS_EN_CHARGE": 0.25, "EN_RECOUVREMENT": 0.40, "SOLDE": 0.25, "ANNULE": 0.10}
SPL_ETAPES = {"AMIABLE": 0.35, "RELANCE": 0.25, "MISE_EN_DEMEURE": 0.15, "CONTESTATION": 0.07, "SAISIE": 0.18}
TAX_NOT_YET_DUE_SHARE = 0.08  # DATE_EXIGIBILITE after the extract: dettes_a_echoir
TAX_SURSIS_SHARE = 0.05
CLAIM_FILED_SHARE = 0.85  # pre-judgment taxes of a company in procedure filed as claims (PASSIF_PROCEDURE)
CLAIM_FILED_DAYS = (0, 60)  # ... this many days after the judgment
# version 3: claims arising before and after a judgment, in the first snapshot's stock, per company in a
# procedure (judged by the latest snapshot for the CFE, by the first snapshot for the others):
CFE_OF_JUDGMENT_YEAR = 0.40  # a CFE of the judgment's year (arose on 1 January), due on 15 December after it
FINE_AFTER_JUDGMENT = 0.25  # a fine surcharged after the judgment for an offence before it
TITLE_AFTER_JUDGMENT = {"spl": 0.25, "rnf": 0.15}  # a title issued after the judgment
# version 3: companies with credits in one department and due taxes in another (same SIREN in both extracts)
CROSS_DEPARTMENT_SHARE = 0.004  # of each department's companies, paired with one other generated department
CROSS_NEW_CREDIT_PER_WEEK = 0.25  # ... a new overpayment to give back in the credit's department, per week
VAT_STATUTS = {
    "DEPOSEE": 0.12, "EN_INSTRUCTION": 0.18, "ACCORDEE": 0.22, "REJETEE": 0.10, "REMBOURSEE": 0.28, "IMPUTEE": 0.10,
}  # fmt: skip
EXCEDENT_STATUTS = {"A_RESTITUER": 0.40, "RESTITUE": 0.35, "IMPUTE": 0.25}
IS_STATUTS = {"EN_COURS": 0.30, "REMBOURSABLE": 0.30, "REMBOURSEE": 0.25, "IMPUTEE": 0.15}
IS_TYPES = {"CIR": 0.35, "CII": 0.10, "CARRY_BACK": 0.15, "EXCEDENT_ACOMPTES": 0.30, "AUTRE": 0.10}
CIR_SME_SHARE = 0.4  # research / innovation credits of SMEs: refundable at once, the others after 3 years

# ----- weekly movements (between two consecutive snapshots) ------------------------------------------------
# open debt lines
PAID_IN_FULL = 0.02
PAID_IN_PART = 0.03
PAID_IN_PART_SEIZURE = 0.10  # spl at SAISIE, impots_pro at SATD: a garnishment brings money every week
PAID_WHEN_DUE = 0.60  # a tax that fell due since the last snapshot is paid on time
CANCELLED = 0.005  # ANNULEE / ANNULE; spl, impots_pro: a reduction / tax relief instead
WRITTEN_OFF = 0.01  # fines more than a year old: ADMISE_NON_VALEUR
WRITTEN_OFF_PAID = 0.005  # a written-off fine paid after all
ESCALATED = 0.15  # a tax unpaid 30 days after its due date gets a formal notice and its 10 % surcharge
SEIZED = 0.05  # ... and 90 days after, a garnishment (SATD); spl: next step of the recovery
RNF_TAKEN_UP = 0.20  # rnf PRIS_EN_CHARGE -> EN_RECOUVREMENT
GONE_CLOSED = 0.10  # a closed line (paid, cancelled, refunded...) leaves the extract
GONE_OPEN = 0.002  # an open line leaves the extract (transferred elsewhere)
# credits
VAT_REVIEWED = 0.30  # DEPOSEE -> EN_INSTRUCTION
VAT_DECIDED = 0.25  # EN_INSTRUCTION -> ACCORDEE (92 %) or REJETEE (8 %)
VAT_REJECTED_SHARE = 0.08
VAT_FAST_REFUND = 0.005  # a filed claim refunded within the week, never certain in a snapshot
IS_ACCEPTED = 0.05  # EN_COURS -> REMBOURSABLE
CREDIT_SETTLED = 0.25  # a certain, due credit of a company owing no offsettable tax here is refunded this week
# a *flagged* credit (certain, due, of a company owing due, non-suspended impots_pro here, no procedure open),
# per week, in every department — and in the pilots before the experiment's start:
FLAGGED_APPLIED = 0.05  # applied to the company's taxes (IMPUTEE / IMPUTE)
FLAGGED_REFUNDED = 0.20  # refunded all the same (the rest stays certain until a later week)
# the pilots' effect after the start (`--effet`): this much more probability that a flagged credit is applied
# the next week, taken from its probability of being refunded first, then of staying. The default gives the
# pilots 22.5 % applied and 2.5 % refunded a week (90 % of the settled flagged credits), the others 5 % and 20 %.
DEFAULT_PILOT_EFFECT = 0.175
MAX_PILOT_EFFECT = 1 - FLAGGED_APPLIED

MAX_BAD_ROW_RATE = 0.5

"""A small warehouse in the contract-version-3 model (docs/warehouse.md), built by explicit CREATE/INSERT.

The lines, the register and the declarations are written here by hand, with figures chosen so that each rule has
a case; the tables take the pipeline's own layout (`TABLE_DDL`), and the positions, national positions and offsets
are computed from the lines by the pipeline's own code. `tests/test_app_fixtures_guard.py` checks that every
table passes the pipeline's Pandera models and that the cases the tests rely on are there. The application's tests
on the pipeline's output from the samples are in `test_app_pipeline.py` (and every test using `samples_17_95`).
Seven companies, date of situation 2026-11-27:

| SIREN | name | departments | case |
|---|---|---|---|
| 812345676 | BOULANGERIE DU PORT (17000 LA ROCHELLE) | 17, 95 | offset 800.00 in 17, against taxes in 17 and 95 |
| 443210984 | TRANSPORTS CHARENTAIS, sigle TC (17180 PERIGNY) | 17, 91 | offset 3 000.00 in 17, debts in 91 |
| 520987611 | ÉCURIES DE L'ÎLE DE RÉ (17410 SAINT-MARTIN-DE-RE) | 17 | redressement since 2026-06-12: every debt |
|           |                                                  |    | suspended, claims to declare, one to qualify |
| 800000010 | OSTREICULTURE MARENNES OLERON, sigle OMO (17320) | 17 | passif_declare 3 000, blocked, all suspended |
| 790112239 | GARAGE MARTIN (17300 ROCHEFORT) | 17, 91 | sursis and contested title (all suspended), |
|           |                                 |        | written-off fine in 17, credit in 91 |
| 612345009 | SOLAIRE ATLANTIQUE (95000 CERGY) | 91 | invisible to an agent of 17 |
| 301122339 | ATLANTIC SHIPPING LIMITED (17000 LA ROCHELLE) | 95 | same town as the bakery, not in 17 |
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from onevision_dagster.consolidate.compensations import insert_compensations
from onevision_dagster.consolidate.matching import normalise_names
from onevision_dagster.consolidate.positions import insert_positions, insert_positions_nationales
from onevision_dagster.consolidate.snapshot import Snapshot
from onevision_dagster.consolidate.tables import DECLARING_SERVICES, TABLE_DDL
from onevision_dagster.contract.sources import ALL_SOURCES
from onevision_dagster.history.snapshots import create_history_tables
from onevision_dagster.history.tables import IMPACT_MONEY_COLUMNS
from onevision_dagster.warehouse import CHARGEMENTS_COLUMNS, _ensure_columns, raw_columns

SITUATION = dt.date(2026, 11, 27)
REGISTER_SPEC = next(s for s in ALL_SOURCES if s.name == "entreprises")
OLD_REGISTER = dt.date(2026, 11, 20)

BAKERY = "812345676"
TRANSPORTS = "443210984"
ECURIES = "520987611"
OYSTERS = "800000010"
GARAGE = "790112239"
SOLAIRE = "612345009"
SHIPPING = "301122339"

REGISTER = [
    # siren, denomination, sigle, code_postal, commune, departement, procedure, date_jugement
    (BAKERY, "BOULANGERIE DU PORT", None, "17000", "LA ROCHELLE", "17", None, None),
    (TRANSPORTS, "TRANSPORTS CHARENTAIS", "TC", "17180", "PERIGNY", "17", None, None),
    (ECURIES, "ÉCURIES DE L'ÎLE DE RÉ", None, "17410", "SAINT-MARTIN-DE-RÉ", "17", "REDRESSEMENT",
     dt.date(2026, 6, 12)),
    (OYSTERS, "OSTREICULTURE MARENNES OLERON", "OMO", "17320", "MARENNES", "17", None, None),
    (GARAGE, "GARAGE MARTIN", None, "17300", "ROCHEFORT", "17", None, None),
    (SOLAIRE, "SOLAIRE ATLANTIQUE", None, "95000", "CERGY", "95", None, None),
    (SHIPPING, "ATLANTIC SHIPPING LIMITED", None, "17000", "LA ROCHELLE", "17", None, None),
]

DDL = f"""
CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS core; CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE core.lignes_dettes {TABLE_DDL["core.lignes_dettes"]};
CREATE TABLE core.lignes_creances {TABLE_DDL["core.lignes_creances"]};
CREATE TABLE core.non_positionnees {TABLE_DDL["core.non_positionnees"]};
CREATE TABLE marts.positions {TABLE_DDL["marts.positions"]};
CREATE TABLE marts.positions_nationales {TABLE_DDL["marts.positions_nationales"]};
CREATE TABLE marts.compensations {TABLE_DDL["marts.compensations"]};
CREATE TABLE marts.declarations {TABLE_DDL["marts.declarations"]};
"""

# (departement, siren, source, reference, date_ligne, montant, statut, etape, nature, compensable, sursis, passif,
#  fichier, ligne); `ouverte` = nature in (ECHUE, A_ECHOIR); conteste = etape CONTESTATION
DEBTS = [
    ("17", BAKERY, "impots_pro", "IP-B-1", dt.date(2026, 3, 15), "2000.00", "SATD", "SATD", "ECHUE", True,
     False, False, "impots_pro_17_20261127.csv", 4),
    ("17", BAKERY, "amendes", "AMD-B-1", dt.date(2025, 2, 10), "80.00", "EN_RECOUVREMENT", None, "ECHUE",
     False, False, False, "amendes_17_20261127.csv", 2),
    ("17", TRANSPORTS, "impots_pro", "IP-T-1", dt.date(2026, 8, 13), "7385.30", "AMIABLE", "AMIABLE", "ECHUE",
     True, False, False, "impots_pro_17_20261127.csv", 2),
    ("17", TRANSPORTS, "amendes", "AMD-T-1", dt.date(2026, 6, 1), "1125.00", "EN_RECOUVREMENT", None, "ECHUE",
     False, False, False, "amendes_17_20261127.csv", 6),
    ("91", TRANSPORTS, "spl", "91001/2026/77", dt.date(2026, 5, 4), "500.00", "RELANCE", "RELANCE", "ECHUE",
     False, False, False, "spl_91_20261127.csv", 3),
    ("17", ECURIES, "impots_pro", "IP-E-1", dt.date(2025, 5, 15), "24200.00", "PASSIF_PROCEDURE",
     "PASSIF_PROCEDURE", "ECHUE", True, False, True, "impots_pro_17_20261127.csv", 5),
    ("17", ECURIES, "spl", "17300/2026/12", dt.date(2026, 2, 1), "980.00", "SAISIE", "SAISIE", "ECHUE", False,
     False, False, "spl_17_20261127.csv", 5),
    ("17", ECURIES, "rnf", "RNF-E-1", dt.date(2026, 9, 1), "300.00", "EN_RECOUVREMENT", None, "ECHUE", False,
     False, False, "rnf_17_20261127.csv", 4),
    ("17", ECURIES, "amendes", "AMD-E-1", dt.date(2024, 1, 9), "450.00", "ADMISE_NON_VALEUR", None, "NON_VALEUR",
     False, False, False, "amendes_17_20261127.csv", 12),
    ("17", OYSTERS, "impots_pro", "IP-O-1", dt.date(2024, 5, 15), "4650.00", "SATD", "SATD", "ECHUE", True,
     False, False, "impots_pro_17_20261127.csv", 12),
    ("17", OYSTERS, "impots_pro", "IP-O-2", dt.date(2025, 9, 15), "3000.00", "PASSIF_PROCEDURE",
     "PASSIF_PROCEDURE", "ECHUE", True, False, True, "impots_pro_17_20261127.csv", 13),
    ("17", OYSTERS, "rnf", "RNF-O-1", dt.date(2025, 1, 20), "2000.00", "EN_RECOUVREMENT", None, "ECHUE", False,
     False, False, "rnf_17_20261127.csv", 2),
    ("17", GARAGE, "spl", "17300/2025/40", dt.date(2026, 5, 15), "1800.00", "CONTESTATION", "CONTESTATION",
     "ECHUE", False, False, False, "spl_17_20261127.csv", 4),
    ("17", GARAGE, "impots_pro", "IP-G-1", dt.date(2026, 6, 15), "5730.00", "AMIABLE", "AMIABLE", "ECHUE", False,
     True, False, "impots_pro_17_20261127.csv", 3),
    ("17", GARAGE, "amendes", "AMD-G-1", dt.date(2023, 11, 2), "375.00", "ADMISE_NON_VALEUR", None, "NON_VALEUR",
     False, False, False, "amendes_17_20261127.csv", 18),
    ("17", GARAGE, "amendes", "AMD-G-2", dt.date(2024, 3, 2), "0.00", "PAYEE", None, "AUCUNE", False, False, False,
     "amendes_17_20261127.csv", 7),
    ("91", SOLAIRE, "impots_pro", "IP-S-1", dt.date(2026, 4, 15), "1375.00", "AMIABLE", "AMIABLE", "ECHUE", True,
     False, False, "impots_pro_91_20261127.csv", 11),
    ("95", BAKERY, "impots_pro", "IP-B-95", dt.date(2025, 12, 15), "450.00", "AMIABLE", "AMIABLE", "ECHUE", True,
     False, False, "impots_pro_95_20261127.csv", 3),
    ("95", SHIPPING, "impots_pro", "IP-A-1", dt.date(2026, 4, 15), "8000.00", "AMIABLE", "AMIABLE", "ECHUE",
     True, False, False, "impots_pro_95_20261127.csv", 14),
]
# why each suspended line is suspended (contract section 6, version 3); every other past-due line is pursuable
SUSPENDED = {
    "IP-E-1": "PASSIF_PROCEDURE", "17300/2026/12": "ANTERIEURE_JUGEMENT", "RNF-E-1": "POSTERIEURE_JUGEMENT",
    "IP-O-1": "PROCEDURE_NON_REFERENCEE", "IP-O-2": "PASSIF_PROCEDURE", "RNF-O-1": "PROCEDURE_NON_REFERENCEE",
    "17300/2025/40": "TITRE_CONTESTE", "IP-G-1": "SURSIS",
}
ECURIES_JUDGMENT = dt.date(2026, 6, 12)
ECURIES_BODACC = dt.date(2026, 6, 25)
# (departement, siren, source, reference, date_ligne, montant, statut, nature, fichier, ligne)
CREDITS = [
    ("17", BAKERY, "credits_tva", "TVA-B-1", dt.date(2026, 9, 1), "800.00", "ACCORDEE", "CERTAINE",
     "credits_tva_17_20261127.csv", 2),
    ("17", TRANSPORTS, "credits_tva", "TVA-T-1", dt.date(2026, 10, 1), "3000.00", "ACCORDEE", "CERTAINE",
     "credits_tva_17_20261127.csv", 3),
    ("17", TRANSPORTS, "creances_is", "IS-T-1", dt.date(2026, 1, 1), "4000.00", "EN_COURS", "POTENTIELLE",
     "creances_is_17_20261127.csv", 2),
    ("17", ECURIES, "excedents", "EXC-E-1", dt.date(2026, 3, 1), "1200.00", "A_RESTITUER", "CERTAINE",
     "excedents_17_20261127.csv", 3),
    ("17", OYSTERS, "excedents", "EXC-O-1", dt.date(2026, 7, 1), "3200.00", "A_RESTITUER", "CERTAINE",
     "excedents_17_20261127.csv", 2),
    ("91", GARAGE, "credits_tva", "TVA-G-1", dt.date(2026, 10, 20), "600.00", "ACCORDEE", "CERTAINE",
     "credits_tva_91_20261127.csv", 2),
    ("95", SHIPPING, "creances_is", "IS-A-1", dt.date(2026, 3, 1), "2500.00", "REMBOURSABLE", "CERTAINE",
     "creances_is_95_20261127.csv", 2),
    ("95", SHIPPING, "creances_is", "IS-A-2", dt.date(2028, 3, 1), "1200.00", "REMBOURSABLE", "A_ECHOIR",
     "creances_is_95_20261127.csv", 3),
]
UNPLACED = [
    ("17", "amendes", "amendes_17_20261127.csv", 5, "AMD-X-5", "NON_RATTACHEE", None),
    ("17", "amendes", "amendes_17_20261127.csv", 16, "AMD-X-16", "HORS_PERIMETRE", "424242428"),
    ("17", "impots_pro", "impots_pro_17_20261127.csv", 10, "IP-X-10", "SIREN_INCONNU", "111111118"),
]

DEBT_COLUMN = {"amendes": "dettes_amendes", "spl": "dettes_spl", "impots_pro": "dettes_impots_pro",
               "rnf": "dettes_rnf"}
CREDIT_COLUMN = {"credits_tva": "creances_tva", "excedents": "creances_excedents", "creances_is": "creances_is"}

# positions, national positions and offsets are computed by the pipeline's own code from the lines above
# (`insert_positions`, `insert_positions_nationales`, `insert_compensations`), never re-implemented here (issue 23,
# point 3): the figures the application's tests assert are what the pipeline makes of these lines.
def _pipeline_marts(con: duckdb.DuckDBPyConnection) -> None:
    # the register versions the real code reads, only while it computes (the application never reads them)
    con.execute("CREATE SCHEMA quality")
    _ensure_columns(con, "quality.chargements", CHARGEMENTS_COLUMNS)
    for version in (OLD_REGISTER, SITUATION):
        con.execute("INSERT INTO quality.chargements (source, departement, fichier, date_extraction, statut, "
                    "lignes_lues, lignes_gardees, lignes_rejetees, charge_le) "
                    "VALUES ('entreprises', NULL, ?, ?, 'CHARGE', 7, 7, 0, now())",
                    [f"entreprises_{version:%Y%m%d}.csv", version])
    departements = [r[0] for r in con.execute("SELECT departement FROM core.lignes_dettes UNION "
                                              "SELECT departement FROM core.lignes_creances ORDER BY 1").fetchall()]
    for dept in departements:
        insert_positions(con, Snapshot(dept, SITUATION, {}, SITUATION),
                         f"(SELECT * FROM core.lignes_dettes WHERE departement = '{dept}')",
                         f"(SELECT * FROM core.lignes_creances WHERE departement = '{dept}')", "marts.positions")
    insert_positions_nationales(con, "marts.positions", "marts.positions_nationales")
    insert_compensations(con, "marts.compensations")
    con.execute("DROP TABLE quality.chargements")
    con.execute("DROP SCHEMA quality")


def _register_rows(version: dt.date) -> pa.Table:
    rows = REGISTER if version == SITUATION else [
        (r[0], "BOULANGERIE ANCIENNE" if r[0] == BAKERY else r[1], *r[2:]) for r in REGISTER]
    names = pa.array([r[1] for r in rows], pa.string())
    sigles = pa.array([r[2] for r in rows], pa.string())
    return pa.table({
        "siren": [r[0] for r in rows], "denomination": names, "sigle": sigles,
        "code_postal": [r[3] for r in rows], "commune": [r[4] for r in rows], "departement": [r[5] for r in rows],
        "procedure_collective": pa.array([r[6] for r in rows], pa.string()),
        "date_jugement": pa.array([r[7] for r in rows], pa.date32()),
        "ligne": list(range(2, 2 + len(rows))),
        "nom_normalise": normalise_names(names), "sigle_normalise": normalise_names(sigles),
    })


def build_warehouse(path: Path) -> Path:
    """Writes the v2 tables the application reads into a new DuckDB file at `path`."""
    with duckdb.connect(str(path)) as con:
        con.execute(DDL)
        _ensure_columns(con, "raw.entreprises", tuple(raw_columns(REGISTER_SPEC)))  # the pipeline's own layout
        for version in (OLD_REGISTER, SITUATION):
            con.register("reg", _register_rows(version))
            con.execute(
                """INSERT INTO raw.entreprises BY NAME
                   SELECT siren, denomination, sigle, '5499' AS categorie_juridique, NULL AS adresse, code_postal,
                          commune, departement, DATE '2010-01-01' AS date_creation, 'A' AS etat_administratif,
                          procedure_collective, date_jugement,
                          CASE WHEN siren = ? THEN ?::DATE END AS date_publication_bodacc,
                          'entreprises_' || strftime(?::DATE, '%Y%m%d') || '.csv' AS fichier, ligne,
                          ?::DATE AS date_extraction, nom_normalise, sigle_normalise FROM reg""",
                [ECURIES, ECURIES_BODACC, version, version])
            con.unregister("reg")
        for d in DEBTS:
            dept, siren, source, ref, day, amount, statut, etape, nature, _, sursis, passif, fichier, ligne = d
            motif = SUSPENDED.get(ref) if nature == "ECHUE" else None
            before = (day < ECURIES_JUDGMENT) if siren == ECURIES else None
            # what is left to pay is the amount due, nothing paid yet (section 9: reste = D − P)
            con.execute(f"INSERT INTO core.lignes_dettes ({LINE_COLUMNS}, montant_du, montant_paye) VALUES (?, ?, ?, "
                        "?, ?, ?::DECIMAL(18,2), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::DECIMAL(18,2), 0)",
                        [dept, siren, source, ref, day, amount, statut, etape, nature in ("ECHUE", "A_ECHOIR"),
                         nature, source == "impots_pro" and nature == "ECHUE" and motif is None, sursis,
                         etape == "CONTESTATION", passif, motif is not None, motif, day, before, fichier, ligne,
                         SITUATION, amount])
        for dept, siren, source, ref, day, amount, statut, nature, fichier, ligne in CREDITS:
            con.execute(f"INSERT INTO core.lignes_creances ({LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, "
                        "?::DECIMAL(18,2), ?, NULL, ?, ?, ?, FALSE, FALSE, FALSE, FALSE, NULL, ?, NULL, ?, ?, ?)",
                        [dept, siren, source, ref, day, amount, statut, nature != "AUCUNE", nature,
                         nature == "CERTAINE", day, fichier, ligne, SITUATION])
        con.executemany("INSERT INTO core.non_positionnees VALUES (?, ?, ?, ?, ?, ?, ?)", UNPLACED)
        _pipeline_marts(con)
        con.executemany(f"INSERT INTO marts.declarations VALUES ({', '.join(['?'] * 19)})", DECLARATIONS)
    return path


LINE_COLUMNS = ("departement, siren, source, reference, date_ligne, montant, statut, etape, ouverte, nature, "
                "compensable, sursis, conteste, passif, suspendue, motif_suspension, date_origine, "
                "anterieure_jugement, fichier, ligne, date_extraction")


def _declaration(source: str, ref: str, fichier: str, ligne: int, amount: str, day: dt.date, nature: str,
                 etat: str, deadline: dt.date | None, relief: dt.date | None) -> tuple:
    return (ECURIES, "ÉCURIES DE L'ÎLE DE RÉ", "17", SITUATION, "REDRESSEMENT", ECURIES_JUDGMENT, ECURIES_BODACC,
            source, fichier, ligne, ref, Decimal(amount), deadline, relief, etat, nature, day, day,
            DECLARING_SERVICES[source])


# ÉCURIES' claims (BODACC 25/06/2026): declare by 25/08/2026 (2 months, R. 622-24), relief until 28/12/2026
# (25/12 + 0: Christmas, a Friday, moves to Monday 28, art. 642 CPC); the as-of date 27/11 is between the two.
# Its tax filed in the procedure (PASSIF_PROCEDURE) is not listed; its rnf of 01/09/2026 arose after the judgment.
DECLARATIONS = [
    _declaration("spl", "17300/2026/12", "spl_17_20261127.csv", 5, "980.00", dt.date(2026, 2, 1), "ECHUE",
                 "RELEVE_POSSIBLE", dt.date(2026, 8, 25), dt.date(2026, 12, 28)),
    _declaration("amendes", "AMD-E-1", "amendes_17_20261127.csv", 12, "450.00", dt.date(2024, 1, 9), "NON_VALEUR",
                 "RELEVE_POSSIBLE", dt.date(2026, 8, 25), dt.date(2026, 12, 28)),
    _declaration("rnf", "RNF-E-1", "rnf_17_20261127.csv", 4, "300.00", dt.date(2026, 9, 1), "ECHUE",
                 "A_QUALIFIER", None, None),
]


def add_history(path: Path) -> None:
    """The section-9 tables for the refunds-at-risk list: one period 2026-11-20 → 2026-11-27 in 17.

    At 2026-11-20 the bakery held 1 500.00 of credits against 2 000.00 of offsettable taxes (1 500.00 could have
    been offset) and the State refunded it 900.00 by the 27th (at risk: 900.00); the transports company was
    refunded 5 000.00 with no offsettable tax at the start (not at risk).
    """
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS history")
        create_history_tables(con)  # the pipeline's own layout
        con.execute("INSERT INTO history.positions_historique SELECT * FROM marts.positions")
        con.execute("""INSERT INTO history.positions_historique
                       SELECT * REPLACE (DATE '2026-11-20' AS date_situation,
                                         CASE siren WHEN ? THEN 1500.00 ELSE 0 END::DECIMAL(18,2)
                                         AS montant_compensable,
                                         CASE siren WHEN ? THEN 1500.00 ELSE total_creances END::DECIMAL(18,2)
                                         AS total_creances,
                                         CASE siren WHEN ? THEN 0 ELSE dettes_compensables END::DECIMAL(18,2)
                                         AS dettes_compensables)
                       FROM marts.positions WHERE departement = '17'""", [BAKERY, BAKERY, TRANSPORTS])
        # the register versions loaded, the snapshots the history holds, and the impact row of the period
        con.execute("CREATE SCHEMA IF NOT EXISTS quality")
        _ensure_columns(con, "quality.chargements", CHARGEMENTS_COLUMNS)
        con.execute("""INSERT INTO quality.chargements BY NAME
                       SELECT 'entreprises' AS source, d AS date_extraction, 'CHARGE' AS statut, 7 AS lignes_lues,
                              7 AS lignes_gardees, 0 AS lignes_rejetees, now() AS charge_le
                       FROM (VALUES (DATE '2026-11-20'), (DATE '2026-11-27')) t(d)""")
        con.execute("""INSERT INTO history.instantanes SELECT '17', d, '', d, now()
                       FROM (VALUES (DATE '2026-11-20'), (DATE '2026-11-27')) t(d)""")
        # the period's impact: only the refunds at risk matter to the list; every other sum is 0
        impact = ", ".join("900.00" if c == "rembourse_a_risque" else "0" for c in IMPACT_MONEY_COLUMNS)
        con.execute(f"INSERT INTO history.impact VALUES ('17', DATE '2026-11-20', DATE '2026-11-27', {impact})")
        con.executemany("INSERT INTO history.mouvements VALUES ('17', DATE '2026-11-20', DATE '2026-11-27', ?, ?, ?, "
                        "?, ?)", [(BAKERY, "credits_tva", "TVA-B-0", "REMBOURSEMENT", Decimal("900.00")),
                                  (TRANSPORTS, "credits_tva", "TVA-T-0", "REMBOURSEMENT", Decimal("5000.00")),
                                  (BAKERY, "impots_pro", "IP-B-1", "PAIEMENT", Decimal("100.00"))])


# ------------------------------------------------------------------ a running application

import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import replace  # noqa: E402

from onevision_dagster.app.settings import AppSettings  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_settings(tmp: Path, publication: Path, **overrides) -> AppSettings:
    base = AppSettings(host="127.0.0.1", port=free_port(), warehouse=tmp / "w.duckdb", publication=publication,
                       database_url=f"sqlite:///{tmp / 'app.sqlite'}", signing_key=b"k" * 32,
                       dagster_url="http://127.0.0.1:3000", dev=True)
    return replace(base, **overrides)


@contextmanager
def running_app(settings: AppSettings) -> Iterator[str]:
    """The application under a real uvicorn server in a thread; yields its base URL."""
    from onevision_dagster.app.server import make_server

    server = make_server(settings)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the application did not start")
        time.sleep(0.05)
    try:
        yield f"http://{settings.host}:{settings.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# ------------------------------------------------------------------ the contract's samples, through the real pipeline


def samples_17_95(landing: Path, factory) -> Path:
    """The samples' 17 and 95 built by the pipeline and published (`build_samples`), in a fresh folder of the
    session's `tmp_path_factory`; returns that folder."""
    from onevision_dagster.app.publication import current_file

    root = factory.mktemp("echantillons")
    build_samples(landing, root, ("17", "95"))
    assert current_file(root / "publication") is not None
    return root


def build_samples(landing: Path, root: Path, departements: tuple[str, ...] = ("17",)) -> Path:
    """Materializes the register, `departements`, their two snapshots (history) and the national views through
    Dagster, stage by stage as `onevision run` does (the national run ends with `publication/app` and the
    dashboards); returns the publication folder (`root / "publication"`, reports in `root / "rapports"`)."""
    import dagster as dg

    from onevision_dagster.definitions import all_assets
    from onevision_dagster.orchestration import partitions
    from onevision_dagster.orchestration.partitions import DATES_EXTRACTION, snapshot_key
    from onevision_dagster.orchestration.runner import _asset_groups
    from onevision_dagster.resources import LandingZone, ReportsFolder, Settings, Warehouse

    resources = {"landing": LandingZone(path=str(landing)), "warehouse": Warehouse(path=str(root / "w.duckdb")),
                 "reports": ReportsFolder(path=str(root / "rapports")),
                 "settings": Settings(departements=",".join(departements), freshness_days=7, static_images=False)}
    register, partitioned, history, national = _asset_groups(all_assets)  # the stages of `onevision run`
    instance = dg.DagsterInstance.ephemeral()
    partitions.add_departements(instance, departements)  # department partitions follow the landing zone
    instance.add_dynamic_partitions(DATES_EXTRACTION, ["2026-11-20", "2026-11-27"])
    stages: list[tuple[object, object]] = [(register, None)]
    stages += [(partitioned, d) for d in departements]
    stages += [(history, snapshot_key(date, d)) for d in departements for date in ("2026-11-27", "2026-11-20")]
    stages += [(national, None)]
    for selection, partition in stages:
        result = dg.materialize(all_assets, selection=dg.AssetSelection.assets(*selection), partition_key=partition,
                                resources=resources, instance=instance)
        assert result.success
    return root / "publication"

"""The demo generator writes a landing zone that follows SOURCES.md, byte for byte reproducible."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from onevision_dagster.contract.sources import (
    ALL_SOURCES,
    ENTREPRISES,
    PARTITIONED_SOURCES,
    SOURCES_BY_NAME,
    Kind,
    SourceSpec,
)
from onevision_dagster.demo.generator import GenerationSummary, generate_landing
from onevision_dagster.ingest.landing import SYNTHETIC_MARKER

AS_OF = date(2026, 11, 20)
STAMP = "20261120"
# contract version 2 added IMPUTEE to credits_tva (the decoder of a pre-v2 branch does not list it yet)
V2_CODES = {("credits_tva", "STATUT"): {"IMPUTEE"}}
# every coded column's codes as SOURCES.md lists them, written out: the expected values do not read the decoder's
CONTRACT_CODES: dict[tuple[str, str], set[str]] = {
    ("entreprises", "etat_administratif"): {"A", "C"},
    ("entreprises", "procedure_collective"): {"SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"},
    ("amendes", "STATUT"): {"EN_RECOUVREMENT", "PAYEE", "ANNULEE", "ADMISE_NON_VALEUR"},
    ("spl", "etape"): {"AMIABLE", "RELANCE", "MISE_EN_DEMEURE", "CONTESTATION", "SAISIE"},
    ("impots_pro", "CODE_IMPOT"): {"CFE", "TVA", "IS", "CVAE", "TS", "IFER", "TASCOM"},
    ("impots_pro", "PHASE"): {"AMIABLE", "MISE_EN_DEMEURE", "SATD", "PASSIF_PROCEDURE"},
    ("impots_pro", "SURSIS"): {"O", "N"},
    ("rnf", "statut"): {"PRIS_EN_CHARGE", "EN_RECOUVREMENT", "SOLDE", "ANNULE"},
    ("credits_tva", "STATUT"): {"DEPOSEE", "EN_INSTRUCTION", "ACCORDEE", "REJETEE", "REMBOURSEE", "IMPUTEE"},
    ("excedents", "IMPOT"): {"CVAE", "IS", "CFE", "TS", "TVA"},
    ("excedents", "STATUT"): {"A_RESTITUER", "RESTITUE", "IMPUTE"},
    ("creances_is", "TYPE_CREANCE"): {"CIR", "CII", "CARRY_BACK", "EXCEDENT_ACOMPTES", "AUTRE"},
    ("creances_is", "STATUT"): {"EN_COURS", "REMBOURSABLE", "REMBOURSEE", "IMPUTEE"},
}
FUTURE_DATE = {"amendes": "DATE_MAJORATION", "spl": "date_emission", "rnf": "date_emission"}  # version 2


def in_scope(categorie: str) -> bool:
    """SOURCES.md section 3, version 2: first digit 5, 6, 8, 9, or a foreign company 3120 / 3220."""
    return categorie[0] in "5689" or categorie in ("3120", "3220")
DEPTS = ("17", "2A", "971")
N = 300


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("clean")
    return out, generate_landing(out, DEPTS, N, AS_OF, seed=7, bad_row_rate=0.0)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("dirty")
    return out, generate_landing(out, DEPTS, N, AS_OF, seed=7, bad_row_rate=0.05)


def path_of(out: Path, spec: SourceSpec, dept: str | None = None) -> Path:
    if not spec.partitioned:
        return out / spec.name / f"{spec.name}_{STAMP}.csv"
    return out / spec.name / f"{spec.name}_{dept}_{STAMP}.csv"


def read_rows(path: Path, spec: SourceSpec) -> tuple[list[str], list[list[str]]]:
    text = path.read_bytes().decode("utf-8-sig" if spec.encoding == "utf-8-sig" else spec.encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=spec.separator))
    return rows[0], rows[1:]


def read_dicts(path: Path, spec: SourceSpec) -> list[dict[str, str]]:
    header, rows = read_rows(path, spec)
    return [dict(zip(header, r, strict=True)) for r in rows]


# ------------------------------------------------------------------------------------------------
# a small reference checker of section 4, independent of the generator
# ------------------------------------------------------------------------------------------------

DATE_RE = {"DD/MM/YYYY": r"\d{2}/\d{2}/\d{4}", "YYYY-MM-DD": r"\d{4}-\d{2}-\d{2}", "YYYYMMDD": r"\d{8}"}
PY_DATE = {"DD/MM/YYYY": "%d/%m/%Y", "YYYY-MM-DD": "%Y-%m-%d", "YYYYMMDD": "%Y%m%d"}


def valid_debtor_id(v: str) -> bool:
    if re.fullmatch(r"FR\d{2}\d{9}", v):
        return stdnum_siren.is_valid(v[4:]) and int(v[2:4]) == (12 + 3 * (int(v[4:]) % 97)) % 97
    if re.fullmatch(r"\d{9}", v):
        return stdnum_siren.is_valid(v)
    return bool(re.fullmatch(r"\d{14}", v)) and stdnum_siret.is_valid(v)


def cents(spec: SourceSpec, name: str, v: str) -> int:
    if not v:
        return 0
    if spec.column(name).kind is Kind.CENTS:
        return int(v)
    whole, _, frac = v.partition(spec.decimal)
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def cell_fault(spec: SourceSpec, name: str, v: str) -> str | None:
    col = spec.column(name)
    if not v:
        return "missing" if col.mandatory else None
    if col.kind is Kind.DATE:
        if not re.fullmatch(DATE_RE[spec.date_format], v):
            return "date"
        try:
            datetime.strptime(v, PY_DATE[spec.date_format])
        except ValueError:
            return "date"
    elif col.kind is Kind.AMOUNT:
        dec = re.escape(spec.decimal)
        if not re.fullmatch(rf"[+-]?\d+({dec}\d{{1,2}})?", v):
            return "amount"
        if v.startswith("-"):
            return "negative"
    elif col.kind is Kind.CENTS:
        if not re.fullmatch(r"[+-]?\d+", v):
            return "amount"
        if v.startswith("-"):
            return "negative"
    elif col.kind is Kind.CODE and v not in CONTRACT_CODES[(spec.name, name)] | V2_CODES.get((spec.name, name), set()):
        return "code"
    elif col.kind is Kind.PATTERN and not re.fullmatch(col.pattern, v):
        return "code"
    elif col.kind is Kind.SIREN and not stdnum_siren.is_valid(v.replace(" ", "")):
        return "identifier"
    elif col.kind is Kind.SIRET and not (re.fullmatch(r"\d{14}", v) and stdnum_siret.is_valid(v)):
        return "identifier"
    elif col.kind is Kind.DEBTOR_ID and not valid_debtor_id(v):
        return "identifier"
    return None


def rule_fault(spec: SourceSpec, r: dict[str, str]) -> bool:
    def c(name: str) -> int:
        return cents(spec, name, r[name])

    if spec.name == "amendes":
        return c("MONTANT_PAYE") > c("MONTANT_MAJORE")
    if spec.name == "impots_pro":
        return c("MT_PAYE_CTS") > c("MT_DROITS_CTS") + c("MT_PENALITES_CTS")
    if spec.name == "rnf":
        return c("montant_recouvre") > c("montant")
    if spec.name == "spl":
        return c("reste_a_recouvrer") > c("montant_titre")
    if spec.name == "credits_tva":
        granted = r["MONTANT_ACCORDE"]
        if r["STATUT"] in ("ACCORDEE", "REMBOURSEE", "IMPUTEE") and not granted:  # version 3: all three
            return True
        if granted and r["STATUT"] not in ("ACCORDEE", "REMBOURSEE", "IMPUTEE"):
            return True
        return bool(granted) and c("MONTANT_ACCORDE") > c("MONTANT_DEMANDE")
    if spec.name == "entreprises":
        published = r["date_publication_bodacc"]  # version 3: only with a procedure, never before its judgment
        return (bool(r["procedure_collective"]) != bool(r["date_jugement"])
                or bool(published) and (not r["procedure_collective"] or published < r["date_jugement"]))
    return False


def future(spec: SourceSpec, r: dict[str, str], as_of: date) -> bool:
    """A debt date after the file's extraction date (version 2: FUTURE_DATE)."""
    col = FUTURE_DATE.get(spec.name)
    return bool(col) and datetime.strptime(r[col], PY_DATE[spec.date_format]).date() > as_of


def faults(path: Path, spec: SourceSpec) -> list[str]:
    """One reason per rejected row, in the order of section 4."""
    as_of = datetime.strptime(path.stem.rsplit("_", 1)[1], "%Y%m%d").date()
    header, rows = read_rows(path, spec)
    out: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for raw in rows:
        if len(raw) != len(header):
            out.append("cells")
            continue
        r = {h: v.strip() for h, v in zip(header, raw, strict=True)}
        fault = next((f for f in (cell_fault(spec, h, r[h]) for h in header) if f), None)
        if fault is None and rule_fault(spec, r):
            fault = "rule"
        if fault is None and future(spec, r, as_of):
            fault = "future"
        if fault is None:
            key = tuple(r[k] for k in spec.key)
            if key in seen:
                fault = "duplicate"
            seen.add(key)
        if fault:
            out.append(fault)
    return out


def normalise(name: str) -> str:
    """SOURCES.md section 5."""
    s = unicodedata.normalize("NFD", name.upper())
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    s = re.sub(r"[^A-Z0-9]", " ", s)
    drop = {"SARL", "SAS", "SASU", "SA", "EURL", "SCI", "SNC", "SELARL", "STE", "SOCIETE", "ETS"}
    return " ".join(w for w in s.split() if w not in drop)


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------


def test_files_names_and_headers(clean: tuple[Path, GenerationSummary]) -> None:
    out, summary = clean
    expected = {path_of(out, ENTREPRISES)} | {path_of(out, s, d) for s in PARTITIONED_SOURCES for d in DEPTS}
    written = {p for p in out.rglob("*") if p.is_file()}
    assert written == expected | {out / SYNTHETIC_MARKER}  # demo data say they are synthetic (issue 17)
    assert set(summary.paths) == expected
    assert summary.files == {"entreprises": 1, **{s.name: len(DEPTS) for s in PARTITIONED_SOURCES}}
    for spec in ALL_SOURCES:
        for d in DEPTS if spec.partitioned else (None,):
            header, rows = read_rows(path_of(out, spec, d), spec)
            assert header == list(spec.column_names)
            assert rows, spec.name
    assert summary.bad_rows == {s.name: 0 for s in ALL_SOURCES}


def test_volumes_per_department(clean: tuple[Path, GenerationSummary]) -> None:
    out, summary = clean
    reg = read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)
    assert summary.rows["entreprises"] == len(reg)
    for d in DEPTS:
        here = [r for r in reg if r["departement"] == d]
        scoped = [r for r in here if in_scope(r["categorie_juridique"])]
        assert len(scoped) == N
        assert {r["categorie_juridique"] for r in here} >= {"1000", "7210", "3110", "3120", "3220"}
    expected = {"amendes": 0.5, "spl": 0.4, "impots_pro": 0.8, "rnf": 0.2, "credits_tva": 0.1}
    for name, ratio in expected.items():
        assert summary.rows[name] == round(ratio * N) * len(DEPTS)


def test_encodings_and_line_ends(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    amendes = path_of(out, SOURCES_BY_NAME["amendes"], "17").read_bytes()
    text = amendes.decode("cp1252")
    assert re.search("[éèêàâîôûçÉÈÊÀÂÎÔÛÇ]", text)
    assert b"\x92" in amendes  # the typographic apostrophe of cp1252
    with pytest.raises(UnicodeDecodeError):
        amendes.decode("utf-8")
    for spec in PARTITIONED_SOURCES:
        raw = path_of(out, spec, "2A").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (spec.name == "spl")
        raw.decode("cp1252" if spec.encoding == "cp1252" else "utf-8")
        if spec.name != "rnf":  # rnf has a quoted cell with a line break inside
            assert raw.count(b"\n") == raw.count(b"\r\n") > 1
        assert raw.endswith(b"\r\n")
    reg = path_of(out, ENTREPRISES).read_bytes()
    assert not reg.startswith(b"\xef\xbb\xbf")
    assert "É" in reg.decode("utf-8")


def test_rnf_rfc4180(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    spec = SOURCES_BY_NAME["rnf"]
    raw = path_of(out, spec, "17").read_bytes().decode("utf-8")
    assert re.search(r',"[^"]*, [^"]*",', raw)  # a quoted cell holding a comma
    assert '""' in raw  # a doubled quote
    header, rows = read_rows(path_of(out, spec, "17"), spec)
    assert all(len(r) == len(header) for r in rows)
    assert any("\n" in cell for r in rows for cell in r)
    assert any("," in r[1] for r in rows)


def test_identifiers_are_valid(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    reg = read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)
    sirens = [r["siren"] for r in reg]
    assert len(set(sirens)) == len(sirens)
    assert all(stdnum_siren.is_valid(s) for s in sirens)
    assert "356000000" in sirens
    forms: Counter[str] = Counter()
    la_poste_sirets = set()
    for d in DEPTS:
        for name in ("impots_pro", "credits_tva", "excedents", "creances_is"):
            spec = SOURCES_BY_NAME[name]
            assert all(stdnum_siren.is_valid(r["SIREN"]) for r in read_dicts(path_of(out, spec, d), spec))
        spec = SOURCES_BY_NAME["spl"]
        for r in read_dicts(path_of(out, spec, d), spec):
            assert stdnum_siret.is_valid(r["siret_debiteur"]), r
            if r["siret_debiteur"].startswith("356000000"):
                la_poste_sirets.add(r["siret_debiteur"])
        spec = SOURCES_BY_NAME["rnf"]
        for r in read_dicts(path_of(out, spec, d), spec):
            v = r["identifiant_debiteur"]
            assert valid_debtor_id(v), v
            forms["vat" if v.startswith("FR") else len(v)] += 1
        spec = SOURCES_BY_NAME["amendes"]
        for r in read_dicts(path_of(out, spec, d), spec):
            v = r["SIREN"]
            forms[
                "fine "
                + ("missing" if not v else "spaced" if " " in v else "ok" if stdnum_siren.is_valid(v) else "bad")
            ] += 1
    assert forms["vat"] and forms[9] and forms[14]
    assert all(forms[f"fine {k}"] > 0 for k in ("missing", "spaced", "ok", "bad"))
    # La Poste: digit sum rule (not Luhn), and its Luhn head office
    assert any(sum(map(int, s)) % 5 == 0 and s != "35600000000048" for s in la_poste_sirets)
    assert "35600000000048" in la_poste_sirets


def test_bad_rows_are_each_rejected_once(dirty: tuple[Path, GenerationSummary]) -> None:
    out, summary = dirty
    kinds: Counter[str] = Counter()
    for spec in ALL_SOURCES:
        found = []
        for d in DEPTS if spec.partitioned else (None,):
            found += faults(path_of(out, spec, d), spec)
        assert len(found) == summary.bad_rows[spec.name], spec.name
        assert Counter(found) == Counter(summary.bad_rows_by_kind[spec.name]), spec.name
        kinds.update(found)
    assert set(kinds) == {"cells", "missing", "date", "amount", "negative", "code", "identifier", "rule", "duplicate",
                          "future"}


def test_clean_zone_has_no_faults(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    for spec in ALL_SOURCES:
        for d in DEPTS if spec.partitioned else (None,):
            assert faults(path_of(out, spec, d), spec) == [], (spec.name, d)


def test_deterministic(tmp_path: Path, clean: tuple[Path, GenerationSummary]) -> None:
    out, summary = clean
    again = generate_landing(tmp_path / "a", DEPTS, N, AS_OF, seed=7, bad_row_rate=0.0)
    other = generate_landing(tmp_path / "b", DEPTS, N, AS_OF, seed=8, bad_row_rate=0.0)
    for p in summary.paths:
        rel = p.relative_to(out)
        assert (tmp_path / "a" / rel).read_bytes() == p.read_bytes(), rel
    assert again.rows == summary.rows
    assert (tmp_path / "b" / "amendes" / f"amendes_17_{STAMP}.csv").read_bytes() != (
        out / "amendes" / f"amendes_17_{STAMP}.csv"
    ).read_bytes()
    assert other.files == summary.files


def test_corsica_and_overseas_postal_codes(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    reg = read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)
    prefix = {"17": "17", "2A": "20", "971": "971"}
    for r in reg:
        if r["departement"] in prefix:
            assert re.fullmatch(r"\d{5}", r["code_postal"])
            assert r["code_postal"].startswith(prefix[r["departement"]]), r
    assert all(r["code_postal"][:3] in {"200", "201"} for r in reg if r["departement"] == "2A")
    spec = SOURCES_BY_NAME["amendes"]
    for d, p in prefix.items():
        assert all(r["CODE_POSTAL"].startswith(p) for r in read_dicts(path_of(out, spec, d), spec))


def test_register_variety(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    reg = read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)
    assert {r["etat_administratif"] for r in reg} == {"A", "C"}
    procs = [r for r in reg if r["procedure_collective"]]
    assert {r["procedure_collective"] for r in procs} == {"SAUVEGARDE", "REDRESSEMENT", "LIQUIDATION"}
    assert all(r["date_jugement"] for r in procs)
    assert any(r["sigle"] for r in reg)
    assert any(r["departement"] not in DEPTS for r in reg if r["siren"] != "356000000")
    by_name = Counter((r["denomination"], r["code_postal"]) for r in reg)
    assert any(v > 1 for v in by_name.values()), "homonyms"


def test_debt_and_credit_variety(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    reg = {r["siren"]: r for r in read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)}
    for spec in PARTITIONED_SOURCES:
        rows = [r for d in DEPTS for r in read_dicts(path_of(out, spec, d), spec)]
        for col in spec.columns:
            if col.kind is Kind.CODE:
                expected = CONTRACT_CODES[(spec.name, col.name)] | V2_CODES.get((spec.name, col.name), set())
                assert {r[col.name] for r in rows} == expected, (spec.name, col.name)
        amounts = [r[c.name] for r in rows for c in spec.columns if c.kind is Kind.AMOUNT and r[c.name]]
        if amounts:
            assert any(not a.endswith(spec.decimal + "00") for a in amounts)
    impots = [r for d in DEPTS for r in read_dicts(path_of(out, SOURCES_BY_NAME["impots_pro"], d), IMPOTS)]
    assert any(r["DATE_EXIGIBILITE"] > STAMP for r in impots)
    assert any(r["DATE_EXIGIBILITE"] <= STAMP for r in impots)
    assert {len(r["PERIODE"]) for r in impots} == {4, 6}
    for r in (r for d in DEPTS for r in read_dicts(path_of(out, CREDITS, d), CREDITS)):
        assert bool(r["MONTANT_ACCORDE"]) == (r["STATUT"] in ("ACCORDEE", "REMBOURSEE", "IMPUTEE"))
    # lines of companies whose head office is elsewhere, of unknown and of out-of-scope SIRENs
    lines17 = read_dicts(path_of(out, IMPOTS, "17"), IMPOTS)
    homes = Counter(reg[r["SIREN"]]["departement"] if r["SIREN"] in reg else "unknown" for r in lines17)
    assert homes["17"] and homes["unknown"] and len(homes) > 2
    cats = {reg[r["SIREN"]]["categorie_juridique"][0] for r in lines17 if r["SIREN"] in reg}
    assert cats & {"1", "2", "3", "4", "7"}


IMPOTS = SOURCES_BY_NAME["impots_pro"]
CREDITS = SOURCES_BY_NAME["credits_tva"]


def test_fines_can_be_matched_by_name(clean: tuple[Path, GenerationSummary]) -> None:
    out, _ = clean
    reg = read_dicts(path_of(out, ENTREPRISES), ENTREPRISES)
    index: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in reg:
        for name in (r["denomination"], r["sigle"]):
            if normalise(name):
                index[(r["code_postal"], normalise(name))].add(r["siren"])
    denom = {r["siren"]: r["denomination"] for r in reg}
    outcome: Counter[str] = Counter()
    spec = SOURCES_BY_NAME["amendes"]
    for d in DEPTS:
        for r in read_dicts(path_of(out, spec, d), spec):
            if stdnum_siren.is_valid(r["SIREN"].replace(" ", "")):
                continue
            hits = index.get((r["CODE_POSTAL"], normalise(r["RAISON_SOCIALE"])), set())
            if len(hits) == 1:
                (siren,) = hits
                outcome["attached, spelled differently" if denom[siren] != r["RAISON_SOCIALE"] else "attached"] += 1
            else:
                outcome["ambiguous" if hits else "none"] += 1
    assert outcome["attached, spelled differently"] > outcome["ambiguous"] + outcome["none"]
    assert outcome["attached"] and outcome["none"]


def test_empty_department_and_bad_arguments(tmp_path: Path) -> None:
    summary = generate_landing(tmp_path, ["974"], 0, AS_OF, seed=1)
    for spec in PARTITIONED_SOURCES:
        header, rows = read_rows(path_of(tmp_path, spec, "974"), spec)
        assert header == list(spec.column_names) and rows == []
    assert summary.rows["entreprises"] == 1  # La Poste only
    for bad in (["20"], ["975"], ["17", "17"]):
        with pytest.raises(ValueError):
            generate_landing(tmp_path, bad, 10, AS_OF, seed=1)

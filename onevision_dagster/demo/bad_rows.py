"""Intentionally invalid rows (SOURCES.md section 4): one faulty extra row per bad row, copied from a good one.

Every bad row is an *extra* row with a key of its own (or a duplicate of an existing key), so each one is
rejected exactly once, for the fault it was given, and no good row is ever rejected. The kinds are dealt in
a random order, every kind once before any repeats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from onevision_dagster.contract.sources import ENTREPRISES, Kind, SourceSpec
from onevision_dagster.demo.cells import fmt_date
from onevision_dagster.demo.writers import py_line

# debt dates that may not be after the file's date (version 2: FUTURE_DATE); a tax's due date may
FUTURE_DATE_COLUMNS = {"amendes": "DATE_MAJORATION", "spl": "date_emission", "rnf": "date_emission"}

BAD_CODES: dict[str, tuple[str, ...]] = {
    "STATUT": ("RECOUVREE", "PAYÉE", "EN_COURS_X"),
    "statut": ("RECOUVRE", "CLOS"),
    "etape": ("HUISSIER", "RELANCE_2"),
    "CODE_IMPOT": ("XYZ", "TFPB"),
    "PHASE": ("CONTENTIEUX",),
    "SURSIS": ("OUI", "X"),
    "IMPOT": ("TFPB",),
    "TYPE_CREANCE": ("CICE",),
    "etat_administratif": ("F", "X"),
    "procedure_collective": ("FAILLITE", "CONCILIATION"),
    "categorie_juridique": ("54A9", "549"),
    "departement": ("99", "975", "2C"),
    "PERIODE": ("2026T3", "202613"),
}

Fill = Callable[[dict[str, str], int], None]
Rule = Callable[[dict[str, str], np.random.Generator], None]


@dataclass
class Built:
    cells: dict[str, pa.Array]  # the good rows' cells
    fresh_key: Fill  # give a bad row a key of its own
    rule: Rule | None = None  # break a rule between cells


def bad_kinds(spec: SourceSpec, has_rule: bool) -> list[str]:
    kinds = ["cells"]
    cols = spec.columns
    if any(c.mandatory for c in cols):
        kinds.append("missing")
    if any(c.kind is Kind.DATE for c in cols):
        kinds.append("date")
    if any(c.kind in (Kind.AMOUNT, Kind.CENTS) for c in cols):
        kinds += ["amount", "negative"]
    if any(c.kind in (Kind.CODE, Kind.PATTERN) for c in cols):
        kinds.append("code")
    if any(c.kind in (Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID) for c in cols):
        kinds.append("identifier")
    if has_rule:
        kinds.append("rule")
    if spec.name in FUTURE_DATE_COLUMNS:
        kinds.append("future")
    if spec.key:
        kinds.append("duplicate")
    return kinds


def py_amount(cents: int, spec: SourceSpec, col: str) -> str:
    if spec.column(col).kind is Kind.CENTS:
        return str(cents)
    return f"{cents // 100}{spec.decimal}{cents % 100:02d}"


def py_cents(value: str) -> int:
    return int(value.replace(",", "").replace(".", "")) if value else 0


def paid_more(spec: SourceSpec, due_cols: tuple[str, ...], paid_col: str) -> Rule:
    """Rule fault: more paid (or remaining) than due."""

    def rule(row: dict[str, str], rng: np.random.Generator) -> None:
        due = sum(py_cents(row[c]) for c in due_cols)
        row[paid_col] = py_amount(due + 1 + int(rng.integers(max(due, 100))), spec, paid_col)

    return rule


def bad_date(fmt: str, year: int, r: int) -> str:
    y = year
    choices = {
        "DD/MM/YYYY": (f"31/02/{y}", f"1/3/{y}", f"30/02/{y - 1}", f"{y}-03-01", f"31/04/{y}", f"15/13/{y}"),
        "YYYYMMDD": (f"{y}1340", f"{y}0230", f"{y}131", f"{y}-03-01", f"{y}0000", f"15/03/{y}"),
        "YYYY-MM-DD": (f"{y}-02-30", f"{y}-2-3", f"01/03/{y}", f"{y}-13-01", f"{y}0301"),
    }[fmt]
    return choices[r % len(choices)]


def bad_amount(spec: SourceSpec, col: str, r: int) -> str:
    if spec.column(col).kind is Kind.CENTS:
        return ("12,50", "12.5", "douze", "1 000")[r % 4]
    if spec.decimal == ",":
        return ("trois cents", "12,345", "1 250,00", "12.50", "1250,4O", "12,5,0")[r % 6]
    return ("trois cents", "1,250.00", "12,50", "12.345")[r % 4]


def break_id(v: str, rng: np.random.Generator) -> str:
    if v.startswith("FR"):
        key = int(v[2:4])
        return f"FR{(key + 1 + int(rng.integers(96))) % 97:02d}{v[4:]}"
    digits = v.replace(" ", "")
    r = rng.random()
    if r < 0.6 and not digits.startswith("356000000"):
        return digits[:-1] + str((int(digits[-1]) + 1 + int(rng.integers(9))) % 10)
    if r < 0.85:
        return digits[:-1]
    return digits[:3] + "O" + digits[4:]


def make_bad_rows(
    spec: SourceSpec, built: Built, rng: np.random.Generator, n_bad: int, as_of: int
) -> tuple[list[str], np.ndarray, list[str]]:
    """Faulty copies of good rows, each with one fault of section 4: (lines, anchor rows, kind of each)."""
    n_good = len(next(iter(built.cells.values())))
    if n_bad == 0 or n_good == 0:
        return [], np.zeros(0, dtype=np.int64), []
    year = int(fmt_date(as_of, "YYYYMMDD")[:4])
    kinds = bad_kinds(spec, built.rule is not None)
    order = rng.permutation(len(kinds))  # every kind once before any repeats, in a random order
    assign = [kinds[order[i % len(kinds)]] for i in rng.permutation(n_bad)]
    src = rng.integers(0, n_good, n_bad)
    other = rng.integers(0, n_good, n_bad)
    ids = pa.array(src)
    names = spec.column_names
    cols = {c: built.cells[c].take(ids).to_pylist() for c in names}
    other_keys = {c: built.cells[c].take(pa.array(other)).to_pylist() for c in spec.key}
    cols_by = {c: spec.column(c) for c in names}
    mandatory = [c for c in names if cols_by[c].mandatory]
    dates = [c for c in names if cols_by[c].kind is Kind.DATE]
    amounts = [c for c in names if cols_by[c].kind in (Kind.AMOUNT, Kind.CENTS)]
    codes = [c for c in names if cols_by[c].kind in (Kind.CODE, Kind.PATTERN)]
    idents = [c for c in names if cols_by[c].kind in (Kind.SIREN, Kind.SIRET, Kind.DEBTOR_ID)]
    texts = [c for c in names if cols_by[c].kind is Kind.TEXT and c not in spec.key]
    lines: list[str] = []
    anchors = src.copy()
    for i, kind in enumerate(assign):
        row = {c: (cols[c][i] or "") for c in names}
        r = int(rng.integers(1 << 30))
        raw = -1
        if kind == "duplicate":
            if r % 2:  # same key, other content (the first row keeps the key)
                anchors[i] = other[i]
                for c in spec.key:
                    row[c] = other_keys[c][i] or ""
                if spec is ENTREPRISES:
                    row["denomination"] = (row["denomination"] + " BIS").strip()
        else:
            built.fresh_key(row, i)
        if kind == "cells":
            values = [row[c] for c in names]
            if r % 5 < 3:
                values = values[: len(values) - 1 - r % 3]
            elif texts:
                c = texts[r % len(texts)]
                raw = names.index(c)
                # an unquoted separator inside a cell (no quote or line break, so the line stays one line)
                row[c] = re.sub(r'["\r\n]', " ", row[c] or "DUPONT") + spec.separator + " FILS"
                values = [row[c] for c in names]
            else:
                values.append("EN TROP")
            lines.append(py_line(spec, values, raw))
            continue
        if kind == "missing":
            row[mandatory[r % len(mandatory)]] = ""
        elif kind == "date":
            filled = [c for c in dates if row[c]] or dates
            c = filled[r % len(filled)]
            row[c] = bad_date(spec.date_format, year, r)
        elif kind == "amount":
            filled = [c for c in amounts if row[c]]
            row[filled[r % len(filled)]] = bad_amount(spec, filled[r % len(filled)], r)
        elif kind == "negative":
            filled = [c for c in amounts if row[c] and cols_by[c].mandatory]
            c = filled[r % len(filled)]
            cents = py_cents(row[c]) or 100 + r % 10_000
            row[c] = "-" + py_amount(cents, spec, c)
        elif kind == "code":
            c = codes[r % len(codes)]
            bad = BAD_CODES.get(c, ("INCONNU",))
            row[c] = bad[r % len(bad)]
        elif kind == "identifier":
            c = idents[r % len(idents)]
            row[c] = break_id(row[c], rng)
        elif kind == "rule":
            assert built.rule is not None
            built.rule(row, rng)
        elif kind == "future":  # a debt dated after the file: it cannot be in recovery yet
            row[FUTURE_DATE_COLUMNS[spec.name]] = fmt_date(as_of + 1 + r % 60, spec.date_format)
        lines.append(py_line(spec, [row[c] for c in names]))
    return lines, anchors, assign



"""Golden digests of every output an agent reads, so a performance change can prove it changed none (issue 21).

What an agent reads, and how each is reduced to a digest:

- the application's publication (the DuckDB file `current.json` names): every table, its columns and types, and
  its rows as a multiset (rows rendered as JSON text in a fixed way, sorted as text: row-identical, whatever the
  physical order), with a sha256 and the row count;
- the reports folder the application serves under `/rapports/`: each dashboard's Plotly figures (data, full
  layout and config, each hashed as canonical JSON, so a layout re-encoded "to the same effect", a template
  instead of explicit properties, does not pass) and the page's HTML outside the figures; any other file
  (plotly.js, the refunds-at-risk CSV) byte for byte;
- the exports of `onevision export` (every kind, all departments and each one, CSV and xlsx): a CSV byte for
  byte, a workbook member by member (the zip's own bytes carry the time it was written).

Only what is genuinely time-of-run is normalised (`normalise_html`, `normalise_xlsx_member`, `TIME_OF_RUN_COLUMNS`,
`normalise_message`); building twice and comparing found nothing else.

The references in `tests/golden/` were generated at 5d9281d, the code before any performance change of issue 21.
``python -m tests.golden_outputs --write`` regenerates them. Regenerate them ONLY for an intended change of what
agents see (a new column, a corrected figure, a reworded page), in its own commit saying which output changes and
why; NEVER to make a performance change pass: a performance change that moves a digest changed what agents read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
SAMPLES_GOLDEN = GOLDEN_DIR / "samples_17_95.json"
DEMO_GOLDEN = GOLDEN_DIR / "demo.json"

BLOCKS = 64
"""Each table, CSV and HTML page also keeps at most this many block hashes (rows or lines in blocks), so a
failure names the first differing block (a single row for tables of up to 64 rows) instead of only "differs"."""


@dataclass(frozen=True)
class Dataset:
    """One set of inputs built through the real pipeline: its departments and weekly extraction dates."""

    name: str
    departements: tuple[str, ...]
    dates: tuple[str, ...]


SAMPLES = Dataset("samples_17_95", ("17", "95"), ("2026-11-20", "2026-11-27"))
"""The contract's samples, dated 27/11/2026: more than the freshness limit (7 days) before any day this test runs
on since 05/12/2026, so the pages' « ancienne : plus de 7 jours » no longer depends on that day."""


@dataclass(frozen=True)
class DemoSpec:
    """The demo generator's arguments: `scripts/demo.sh`'s seed, pilots and effect, on four departments (two
    pilots, two others: the randomisation inference has 6 draws) and four weekly dates, the experiment starting on
    the third (two pairs before it, so the placebo is computed too), 300 companies each: it builds in about a
    minute. The date is fixed: `scripts/demo.sh` uses today, which would change every output each day; it is in the
    past by more than the freshness limit (7 days), so the pages' « ancienne : plus de 7 jours » no longer depends
    on the day the test runs."""

    departements: tuple[str, ...] = ("17", "95", "33", "69")
    entreprises: int = 300
    date: str = "2026-11-27"
    instantanes: int = 4
    seed: int = 42
    pilotes: str = "17,91,95"
    debut_pilote: str = "2026-11-20"
    effet: str = "0.3"

    def dataset(self) -> Dataset:
        last = dt.date.fromisoformat(self.date)
        dates = tuple((last - dt.timedelta(days=7 * i)).isoformat() for i in range(self.instantanes - 1, -1, -1))
        return Dataset("demo", self.departements, dates)


DEMO = DemoSpec()


# ------------------------------------------------------------------ normalisations (time of run only)

TIME_OF_RUN_COLUMNS = {
    # when the file was published: the clock at the end of the refresh, not data
    ("publication", "publie_le"): "<publié le : heure du rafraîchissement>",
}

# "Généré le 07/12/2026 à 02:13 (heure de Paris)" (every page's footer) and "page produite le … (heure de Paris)"
# (the freshness line): the clock when the page was written. Dates of data never carry "à HH:MM (heure de Paris)".
_RUN_TIME = re.compile(r"\d{2}/\d{2}/\d{4} à \d{2}:\d{2} \(heure de Paris\)")

# openpyxl stamps the workbook's properties with the time it was saved
_XLSX_TIMES = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")

_PLOTLY_CALL = "Plotly.newPlot("


def normalise_html(text: str) -> str:
    return _RUN_TIME.sub("<date et heure d'écriture> (heure de Paris)", text)


def normalise_xlsx_member(name: str, data: bytes) -> bytes:
    return _XLSX_TIMES.sub(rb"\1<heure d'enregistrement>\3", data) if name == "docProps/core.xml" else data


def normalise_message(text: str, *folders: Path) -> str:
    """A CLI message may name the scratch folders of the build (warehouse, export): paths of this run only."""
    for folder in folders:
        text = text.replace(str(folder), "<dossier>")
    return text


# ------------------------------------------------------------------ digests


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _block_size(count: int) -> int:
    return max(1, -(-count // BLOCKS))


def _blocks(items: Sequence[str], size: int) -> str:
    """Short hashes (8 hex digits: they only locate a difference, the sha256 decides) of consecutive blocks of
    `size` items, space-separated."""
    return " ".join(_sha("\n".join(items[i:i + size]))[:8] for i in range(0, len(items), size))


def _lines_digest(lines: Sequence[str], size: int | None = None, unit: str = "lines") -> dict[str, Any]:
    """`unit`: "rows" of a table (sorted), "lines" of a file (in order, the empty one after the last newline too)."""
    size = size or _block_size(len(lines))
    return {unit: len(lines), "sha256": _sha("\n".join(lines)), "block": size, "blocks": _blocks(lines, size)}


def render_value(value: Any) -> Any:
    """A cell as JSON in one fixed way: Decimal with its scale ("12.30"), floats by repr, dates ISO."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [render_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): render_value(v) for k, v in value.items()}
    return f"{type(value).__name__}:{value}"


def table_rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[str]]:
    """(columns as "name TYPE", rows rendered as JSON text and sorted); `table` is `name` in the main schema, else
    `schema.name`."""
    schema, _, name = table.rpartition(".")
    cursor = con.execute(f'SELECT * FROM "{schema or "main"}"."{name}"')
    names = [d[0] for d in cursor.description]
    types = [str(d[1]) for d in cursor.description]
    replaced = {i: TIME_OF_RUN_COLUMNS[(table, n)] for i, n in enumerate(names) if (table, n) in TIME_OF_RUN_COLUMNS}
    rows = []
    for row in cursor.fetchall():
        cells = [replaced.get(i, render_value(v)) for i, v in enumerate(row)]
        rows.append(json.dumps(cells, ensure_ascii=False, separators=(",", ":")))
    rows.sort()
    return [f"{n} {t}" for n, t in zip(names, types, strict=True)], rows


def publication_file(folder: Path) -> Path:
    from onevision_dagster.app.publication import current_file

    path = current_file(folder)
    if path is None or not path.is_file():
        raise FileNotFoundError(f"no current publication in {folder}")
    return path


def publication_digest(folder: Path, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """Every table (and view) of the current publication file, opened read-only as the application does."""
    sizes = sizes or {}
    out: dict[str, Any] = {}
    with duckdb.connect(str(publication_file(folder)), read_only=True) as con:
        names = [name if schema == "main" else f"{schema}.{name}" for schema, name in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY 1, 2").fetchall()]
        for name in names:
            columns, rows = table_rows(con, name)
            out[name] = {"columns": columns, **_lines_digest(rows, sizes.get(name), unit="rows")}
    return out


def split_figures(html: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """(the page with each Plotly.newPlot call's arguments replaced by the figure's id, {id: {data, layout, config}})
    — the arguments are the JSON plotly's `to_html` writes: id, data, layout, config."""
    decoder = json.JSONDecoder()
    figures: dict[str, dict[str, Any]] = {}
    parts, pos = [], 0
    while (start := html.find(_PLOTLY_CALL, pos)) >= 0:
        i = start + len(_PLOTLY_CALL)
        args = []
        for _ in range(4):
            while html[i] in " \t\r\n,":
                i += 1
            value, i = decoder.raw_decode(html, i)
            args.append(value)
        while html[i] in " \t\r\n":
            i += 1
        if html[i] != ")":
            raise ValueError(f"unexpected Plotly.newPlot call at {start}")
        div, data, layout, config = args
        if div in figures:
            raise ValueError(f"figure {div!r} drawn twice")
        figures[div] = {"data": data, "layout": layout, "config": config}
        parts.append(html[pos:start] + f"{_PLOTLY_CALL}<figure {div}>)")
        pos = i + 1
    parts.append(html[pos:])
    return "".join(parts), figures


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def html_digest(text: str, size: int | None = None) -> dict[str, Any]:
    page, figures = split_figures(normalise_html(text))
    return {
        "html": _lines_digest(page.splitlines(), size),
        "figures": {div: {part: _sha(_canonical(fig[part])) for part in ("data", "layout", "config")}
                    for div, fig in sorted(figures.items())},
    }


# reports written for the Dagster UI's run metadata only (PNG of the main chart): no agent opens them
NOT_READ_BY_AGENTS = ("images/",)


def reports_digest(folder: Path, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """Every file of the reports folder the application serves: pages by figure and HTML, the rest byte for byte."""
    sizes = sizes or {}
    out: dict[str, Any] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel.startswith(NOT_READ_BY_AGENTS):
            continue
        if path.suffix == ".html":
            out[rel] = html_digest(path.read_text(encoding="utf-8"), sizes.get(rel))
        elif path.suffix == ".csv":
            out[rel] = csv_digest(path.read_bytes(), sizes.get(rel))
        else:
            out[rel] = {"sha256": _sha(path.read_bytes())}
    return out


def csv_digest(data: bytes, size: int | None = None) -> dict[str, Any]:
    """Byte for byte (BOM, separators, line ends), with blocks of lines to say where it differs first."""
    lines = data.decode("utf-8-sig", errors="replace").split("\r\n" if b"\r\n" in data else "\n")
    return {**_lines_digest(lines, size), "sha256": _sha(data)}


def xlsx_digest(data: bytes) -> dict[str, Any]:
    """Each member of the workbook's zip (time of saving normalised), not the zip's bytes (they carry it too): the
    sha256 over every member decides, a short hash per member names the one that differs."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = {name: _sha(normalise_xlsx_member(name, zf.read(name))) for name in sorted(zf.namelist())}
    return {"sha256": _sha("\n".join(f"{name} {sha}" for name, sha in members.items())),
            "members": {name: sha[:12] for name, sha in members.items()}}


# ------------------------------------------------------------------ building


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a build: none of the operator's ONEVISION_* or DAGSTER_HOME (an ephemeral instance)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONEVISION_") and k != "DAGSTER_HOME"}
    env.update(extra)
    return env


def export_requests(dataset: Dataset) -> list[tuple[str, list[str]]]:
    """Every export `onevision export` offers on the dataset: each kind for all departments and for each one,
    positions nationally and at each snapshot date, in CSV and xlsx (evaluation: CSV only)."""
    requests: list[tuple[str, list[str]]] = []
    kinds = ("rejets", "non_positionnees", "compensations", "declarations", "mouvements", "impact")
    for ext in ("csv", "xlsx"):
        requests.append((f"positions_national.{ext}", ["positions", "--national"]))
        for d in dataset.departements:
            requests.append((f"positions_{d}.{ext}", ["positions", "--departement", d]))
            requests += [(f"positions_{d}_{day}.{ext}", ["positions", "--departement", d, "--date", day])
                         for day in dataset.dates]
        for kind in kinds:
            requests.append((f"{kind}.{ext}", [kind]))
            requests += [(f"{kind}_{d}.{ext}", [kind, "--departement", d]) for d in dataset.departements]
    requests.append(("evaluation.csv", ["evaluation"]))
    return requests


_EXPORT_WORKER = """
import contextlib, io, json, sys
from onevision_dagster.cli import main
results = {}
for name, argv in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse refusing the arguments
            code = exit.code
    results[name] = {"code": code, "stderr": err.getvalue()}
json.dump(results, sys.stdout)
"""


def write_exports(warehouse: Path, out: Path, dataset: Dataset) -> dict[str, Any]:
    """Runs `onevision export` (its `main`, one process for all of them) for every request; returns each one's
    exit code and message (an export that fails says so to the agent: that is an output too)."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, ["export", *argv, "--warehouse", str(warehouse), "--out", str(out / name)])
            for name, argv in export_requests(dataset)]
    done = subprocess.run([sys.executable, "-c", _EXPORT_WORKER], input=json.dumps(jobs), capture_output=True,
                          text=True, check=True, cwd=REPO, env=_clean_env(), timeout=600)
    return json.loads(done.stdout)


def exports_digest(folder: Path, outcomes: dict[str, Any], root: Path, sizes: dict[str, int] | None = None
                   ) -> dict[str, Any]:
    """Each export's exit code and message (when it says something), and its file's digest when it wrote one."""
    sizes = sizes or {}
    out: dict[str, Any] = {}
    for name, outcome in sorted(outcomes.items()):
        path = folder / name
        entry: dict[str, Any] = {"code": outcome["code"]}
        if outcome["stderr"]:
            entry["message"] = normalise_message(outcome["stderr"], folder, root)
        if path.is_file():
            entry |= csv_digest(path.read_bytes(), sizes.get(name)) if name.endswith(".csv") else xlsx_digest(
                path.read_bytes())
        out[name] = entry
    return out


def build_samples(root: Path) -> Path:
    """The samples' 17 and 95 through the pipeline, as the `samples` fixture builds them; returns `root`."""
    from . import app_fixtures
    from .conftest import SAMPLE_LANDING

    app_fixtures.build_samples(SAMPLE_LANDING, root, SAMPLES.departements)
    return root


def build_demo(root: Path, spec: DemoSpec = DEMO, run_options: Sequence[str] = ()) -> Path:
    """`scripts/demo.sh` in small: `onevision generate` then `onevision run` (with `run_options`) into `root`;
    returns `root`."""
    landing = root / "landing"
    cli = [sys.executable, "-m", "onevision_dagster.cli"]
    env = _clean_env(ONEVISION_PILOTES=spec.pilotes, ONEVISION_DEBUT_PILOTE=spec.debut_pilote,
                     ONEVISION_IMAGES="0")  # PNG charts are for the Dagster UI only (NOT_READ_BY_AGENTS)
    subprocess.run([*cli, "generate", "--out", str(landing), "--departement", *spec.departements,
                    "--entreprises", str(spec.entreprises), "--date", spec.date, "--seed", str(spec.seed),
                    "--instantanes", str(spec.instantanes), "--pilotes", spec.pilotes,
                    "--debut-pilote", spec.debut_pilote, "--effet", spec.effet],
                   check=True, cwd=REPO, env=env, capture_output=True, timeout=600)
    run = subprocess.run([*cli, "run", "--landing", str(landing), "--warehouse", str(root / "w.duckdb"),
                          "--rapports", str(root / "rapports"), *run_options], cwd=REPO, env=env, capture_output=True,
                         text=True,
                         timeout=1200)
    if run.returncode != 0:
        raise RuntimeError(f"onevision run failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return root


def digest_root(root: Path, dataset: Dataset, reference: dict[str, Any] | None = None,
                exports_dir: Path | None = None) -> dict[str, Any]:
    """The digest of a built root (`w.duckdb`, `publication/`, `rapports/`); the exports are written to
    `exports_dir` (default `root / "exports"`). With a `reference`, its block sizes are used, so that the blocks
    of a table whose row count changed still line up."""
    ref = reference or {}

    def sizes(section: str) -> dict[str, int]:
        return {k: v["block"] for k, v in ref.get(section, {}).items() if isinstance(v, dict) and "block" in v}

    def page_sizes() -> dict[str, int]:
        return {k: v["html"]["block"] for k, v in ref.get("rapports", {}).items() if "html" in v}

    exports_dir = exports_dir or root / "exports"
    outcomes = write_exports(root / "w.duckdb", exports_dir, dataset)
    return {
        "dataset": dataset.name,
        "publication": publication_digest(root / "publication", sizes("publication")),
        "rapports": reports_digest(root / "rapports", sizes("rapports") | page_sizes()),
        "exports": exports_digest(exports_dir, outcomes, root, sizes("exports")),
    }


# ------------------------------------------------------------------ comparing

SECTIONS = ("publication", "rapports", "exports")
SHOWN_CHARS = 400  # of each current row or line shown in a failure (an HTML table is one long line)


def _first_block(expected: dict[str, Any], actual: dict[str, Any]) -> int | None:
    for i, (e, a) in enumerate(zip(expected.get("blocks", "").split(), actual.get("blocks", "").split(),
                                   strict=False)):
        if e != a:
            return i
    return None


def _lines_difference(what: str, expected: dict[str, Any], actual: dict[str, Any],
                      lines: Sequence[str] | None) -> str:
    unit = "rows" if "rows" in expected else "lines"
    text = f"{what}: {expected[unit]} {unit} expected, {actual.get(unit)} now"
    block = _first_block(expected, actual)
    if block is None:
        return text + f" (the {unit} both have agree: some were added or removed at the end)"
    size = expected["block"]
    order = "sorted" if unit == "rows" else "in order"
    text += f"; first difference in {unit} {block * size}..{block * size + size - 1} ({order}, from 0)"
    if lines is not None:
        shown = [line if len(line) <= SHOWN_CHARS else line[:SHOWN_CHARS] + "…"
                 for line in lines[block * size:block * size + min(size, 3)]]
        text += "; now there: " + " | ".join(shown)
    return text


def _columns_difference(expected: list[str] | None, actual: list[str] | None) -> str:
    expected, actual = expected or [], actual or []
    if len(expected) == len(actual):
        return "; ".join(f"{e} expected, {a} now" for e, a in zip(expected, actual, strict=True) if e != a)
    gone, new = [c for c in expected if c not in actual], [c for c in actual if c not in expected]
    return f"missing now {gone}, new {new}" if gone or new else f"order {expected} expected, {actual} now"


LinesOf = Callable[[str, str], Sequence[str] | None]


def compare(expected: dict[str, Any], actual: dict[str, Any], lines_of: LinesOf | None = None,
            sections: Sequence[str] = SECTIONS) -> list[str]:
    """One message per output that differs, naming it; `lines_of(section, name)` gives the current rows of a table
    or lines of a file, to show the first differing ones."""
    problems: list[str] = []
    for section in sections:
        exp, act = expected.get(section, {}), actual.get(section, {})
        for name in sorted(set(exp) - set(act)):
            problems.append(f"{section}/{name}: missing now")
        for name in sorted(set(act) - set(exp)):
            problems.append(f"{section}/{name}: new, not in the reference")
        for name in sorted(set(exp) & set(act)):
            e, a = exp[name], act[name]
            if e == a:
                continue
            where = f"{section}/{name}"
            if e.get("columns") != a.get("columns"):
                problems.append(f"{where}: columns differ: {_columns_difference(e.get('columns'), a.get('columns'))}")
            if e.get("code") != a.get("code") or e.get("message") != a.get("message"):
                problems.append(f"{where}: exit {e.get('code')} {e.get('message', '')!r} expected, "
                                f"{a.get('code')} {a.get('message', '')!r} now")
            if ("rows" in e or "lines" in e) and (e["sha256"] != a.get("sha256") or e.get("rows") != a.get("rows")
                                                  or e.get("lines") != a.get("lines")):
                lines = lines_of(section, name) if lines_of else None
                problems.append(_lines_difference(where, e, a, lines))
            if "members" in e and (e["members"] != a.get("members") or e["sha256"] != a.get("sha256")):
                diff = sorted(k for k in set(e["members"]) | set(a.get("members", {}))
                              if e["members"].get(k) != a.get("members", {}).get(k))
                problems.append(f"{where}: workbook members differ: {', '.join(diff)}")
            if "html" in e and e["html"] != a.get("html"):
                lines = lines_of(section, name) if lines_of else None
                problems.append(_lines_difference(f"{where} (HTML outside the figures, lines)", e["html"],
                                                  a["html"], lines))
            if "figures" in e and e["figures"] != a.get("figures"):
                ef, af = e["figures"], a.get("figures", {})
                for div in sorted(set(ef) | set(af)):
                    if ef.get(div) != af.get(div):
                        parts = [p for p in ("data", "layout", "config")
                                 if (ef.get(div) or {}).get(p) != (af.get(div) or {}).get(p)]
                        problems.append(f"{where}: figure {div}: {', '.join(parts)} differ")
            if set(e) == {"sha256"} and e != a:
                problems.append(f"{where}: bytes differ")
    if not problems and any(expected.get(s) != actual.get(s) for s in sections):
        problems.append("digests differ (no output named: compare the JSON)")
    return problems


def current_lines(root: Path, exports_dir: Path) -> LinesOf:
    """`lines_of` for `compare`: the rows or lines of an output as the digest sees them, read again on failure."""

    def lines_of(section: str, name: str) -> list[str] | None:
        if section == "publication":
            with duckdb.connect(str(publication_file(root / "publication")), read_only=True) as con:
                return table_rows(con, name)[1]
        folder = root / "rapports" if section == "rapports" else exports_dir
        path = folder / name
        if not path.is_file():
            return None
        if path.suffix == ".html":
            return split_figures(normalise_html(path.read_text(encoding="utf-8")))[0].splitlines()
        if path.suffix == ".csv":
            data = path.read_bytes()
            return data.decode("utf-8-sig", errors="replace").split("\r\n" if b"\r\n" in data else "\n")
        return None

    return lines_of


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def dump(digest: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(digest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ regenerating (see the module's docstring)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Iterable[str] | None = None) -> int:
    """``--write``: rebuild the samples and the demo data and rewrite tests/golden/ (read the module's docstring
    first: never to make a performance change pass); ``--check``: the same builds, compared, nothing written."""
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m tests.golden_outputs", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite tests/golden/*.json from this checkout")
    mode.add_argument("--check", action="store_true", help="compare this checkout with tests/golden/*.json")
    parser.add_argument("--only", choices=("samples", "demo"), help="one dataset only")
    args = parser.parse_args(list(argv) if argv is not None else None)
    failed = False
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        for key, target, dataset in (("samples", SAMPLES_GOLDEN, SAMPLES), ("demo", DEMO_GOLDEN, DEMO.dataset())):
            if args.only and args.only != key:
                continue
            root = Path(tmp) / key
            root.mkdir()
            (build_samples if key == "samples" else build_demo)(root)
            reference = load(target) if args.check else None
            digest = digest_root(root, dataset, reference)
            if args.write:
                digest["generated_at"] = _commit()
                dump(digest, target)
                print(f"{target.relative_to(REPO)} written ({_commit()})")
            else:
                problems = compare(reference, digest, current_lines(root, root / "exports"))
                failed |= bool(problems)
                print(f"{key}: " + ("identical" if not problems else "\n  ".join(["DIFFERS", *problems])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

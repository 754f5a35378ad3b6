"""Every output an agent reads is row- or byte-identical to the references generated before issue 21's performance
work (5d9281d): the publication's tables, the dashboards' figures and HTML, the exports; on the contract's samples
and on a small demo landing zone. What is compared and normalised: tests/golden_outputs.py. A failure here means a
change altered what agents see; regenerate the references only if that change is intended (the module says how)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from . import golden_outputs as golden


def _assert_identical(reference_path: Path, root: Path, dataset: golden.Dataset, exports_dir: Path) -> None:
    reference = golden.load(reference_path)
    actual = golden.digest_root(root, dataset, reference, exports_dir)
    problems = golden.compare(reference, actual, golden.current_lines(root, exports_dir))
    assert not problems, (f"{len(problems)} output(s) an agent reads differ from {reference_path.name} "
                          f"(generated at {reference.get('generated_at')}):\n  " + "\n  ".join(problems))


def test_samples_outputs_identical(samples: Path, tmp_path: Path) -> None:
    """The samples' 17 and 95 as the application tests build them (the `samples` fixture: `build_samples`)."""
    _assert_identical(golden.SAMPLES_GOLDEN, samples, golden.SAMPLES, tmp_path / "exports")


def test_demo_outputs_identical(tmp_path: Path) -> None:
    """The demo generator (seed 42, three departments, three weekly dates) then `onevision run`."""
    root = golden.build_demo(tmp_path / "demo")
    _assert_identical(golden.DEMO_GOLDEN, root, golden.DEMO.dataset(), root / "exports")


def test_demo_outputs_identical_with_departments_two_at_a_time(tmp_path: Path) -> None:
    """`onevision run --parallele 2` (issue 21): the demo's four departments run two at a time in one process, on
    the same open warehouse, with no Dagster instance (no pool slots to wait for); every output is still the
    references'."""
    root = golden.build_demo(tmp_path / "demo", run_options=("--parallele", "2"))
    _assert_identical(golden.DEMO_GOLDEN, root, golden.DEMO.dataset(), root / "exports")


# ------------------------------------------------------------------ the comparison can fail, and names the output


SECTIONS = ("publication", "rapports")  # what the copy holds


def _sections(root: Path, reference: dict) -> dict:
    return {"publication": golden.publication_digest(root / "publication", {
                k: v["block"] for k, v in reference["publication"].items()}),
            "rapports": golden.reports_digest(root / "rapports", {
                k: v["html"]["block"] for k, v in reference["rapports"].items() if "html" in v})}


@pytest.fixture
def samples_copy(samples: Path, tmp_path: Path) -> Path:
    """A copy of the samples' publication and reports, to change one thing in."""
    root = tmp_path / "copie"
    shutil.copytree(samples / "publication", root / "publication")
    shutil.copytree(samples / "rapports", root / "rapports")
    return root


def test_a_cent_changed_in_a_published_table_is_named_with_its_row(samples_copy: Path) -> None:
    reference = golden.load(golden.SAMPLES_GOLDEN)
    assert golden.compare(reference, _sections(samples_copy, reference), sections=SECTIONS) == [], \
        "the copy differs before any change"
    with duckdb.connect(str(golden.publication_file(samples_copy / "publication"))) as con:
        siren = con.execute("SELECT min(siren) FROM positions_nationales").fetchone()[0]
        con.execute("UPDATE positions_nationales SET total_dettes = total_dettes + 0.01 WHERE siren = ?", [siren])
    problems = golden.compare(reference, _sections(samples_copy, reference), golden.current_lines(samples_copy, Path()),
                              SECTIONS)
    assert len(problems) == 1 and problems[0].startswith("publication/positions_nationales: "), problems
    assert siren in problems[0], problems


def _retitle_first_figure(page: Path) -> str:
    """Appends a word to the layout title of the page's first figure (its JSON re-encoded: the digest compares
    parsed JSON, so only the title changes); returns the figure's id."""
    text = page.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    div, i = decoder.raw_decode(text, text.index('"', text.index(golden._PLOTLY_CALL)))
    _, i = decoder.raw_decode(text, text.index("[", i))  # the data
    begin = text.index("{", i)
    layout, end = decoder.raw_decode(text, begin)
    title = layout.get("title", {})
    layout["title"] = {**title, "text": f"{title.get('text', '')} (modifié)"}
    page.write_text(text[:begin] + json.dumps(layout) + text[end:], encoding="utf-8")
    return div


def test_a_label_changed_in_a_dashboard_is_named(samples_copy: Path) -> None:
    reference = golden.load(golden.SAMPLES_GOLDEN)
    div = _retitle_first_figure(samples_copy / "rapports" / "tableau_de_bord_17.html")
    problems = golden.compare(reference, _sections(samples_copy, reference), sections=SECTIONS)
    assert problems == [f"rapports/tableau_de_bord_17.html: figure {div}: layout differ"], problems


def test_time_of_run_is_all_that_is_normalised() -> None:
    """The clock of the run is replaced, a date of data is not."""
    footer = "Généré le 07/12/2026 à 02:13 (heure de Paris). Données au 27/11/2026."
    assert golden.normalise_html(footer) == ("Généré le <date et heure d'écriture> (heure de Paris). "
                                             "Données au 27/11/2026.")

"""Issue 20, point 8: the security file maps each measure to the code and the test that prove it; every path and
every test it names exists (a renamed test or file makes this fail, so the file cannot silently rot)."""

from __future__ import annotations

import ast
import re

from onevision_dagster.app.settings import ENV_VARIABLES

from .conftest import REPO

SECURITE = REPO / "docs" / "securite"


def _test_names(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_measure_names_code_and_tests_that_exist() -> None:
    text = (SECURITE / "mesures.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if re.match(r"\| M\d+ \|", line)]
    assert [r.split("|")[1].strip() for r in rows] == [f"M{i}" for i in range(1, 21)]
    for row in rows:
        cells = [c.strip() for c in row.split("|")]
        code, tests = cells[3], cells[4]
        assert "onevision_dagster/" in code or "deploy/" in code, row
        assert "tests/test_" in tests, row
        for path in re.findall(r"`((?:onevision_dagster|deploy|tests)/[^`:\s]+)", row):
            assert (REPO / path).exists(), path
        current = None
        for file, name in re.findall(r"`(?:(tests/[^`:]+\.py))?(?:::(\w+))?`", tests):
            if file:
                current = REPO / file
                assert current.exists(), file
            if name:
                assert name in _test_names(current), f"{current.name}::{name}"


def test_the_risk_analysis_has_its_parts_and_links() -> None:
    readme = (SECURITE / "README.md").read_text(encoding="utf-8")
    for title in ("Biens essentiels", "Événements redoutés", "Sources de risque", "Scénarios et mesures",
                  "Risques résiduels"):
        assert re.search(rf"^## \d+\. {title}$", readme, re.M), title
    for link in re.findall(r"\]\(([a-z-]+\.md)\)", readme):
        assert (SECURITE / link).exists(), link
    record = (SECURITE / "registre-traitements.md").read_text(encoding="utf-8")
    assert "art. 30" in record and "Durées de conservation" in record
    retention = (SECURITE / "conservation.md").read_text(encoding="utf-8")
    for variable in ("ONEVISION_CONSERVATION_MOIS", "ONEVISION_AUDIT_CONSERVATION_MOIS"):
        assert variable in retention


def test_the_security_settings_are_documented() -> None:
    exploitation = (SECURITE / "exploitation.md").read_text(encoding="utf-8")
    for name in ("ONEVISION_PROXY_SECRET", "ONEVISION_AUDIT_CLE", "ONEVISION_AUDIT_CLE_FICHIER",
                 "ONEVISION_AUDIT_SI_ALTERE"):
        assert name in ENV_VARIABLES and name in exploitation

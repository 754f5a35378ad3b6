"""Issue #11 points 6 and 7: what an operator types, and what `onevision` answers — one French sentence and an
exit code, never a traceback; the same department codes everywhere; the configuration as defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from onevision_dagster.cli import build_parser
from onevision_dagster.contract.departements import departement_code, parse_departements

ONEVISION = Path(sys.executable).parent / "onevision"


def onevision(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ONEVISION), *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ONEVISION_IMAGES": "0", **(env or {})})


@pytest.fixture(scope="module")
def built(sample_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    result = onevision("run", "--landing", str(sample_landing), "--warehouse", str(root / "w.duckdb"), "--rapports",
                       str(root / "r"))
    assert result.returncode == 0, result.stderr
    return root / "w.duckdb"


def _one_sentence(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().startswith("Erreur : ") and result.stderr.strip().count("\n") == 0


def test_department_codes_are_accepted_as_typed() -> None:
    assert departement_code("2a") == departement_code(" 2A ") == "2A"
    assert departement_code("1") == "01"
    assert parse_departements("2a, 17 1") == ("01", "17", "2A")
    with pytest.raises(ValueError, match="Code département inconnu : '20'"):
        departement_code("20")


def test_exports_and_sheets_of_a_department_or_warehouse_that_never_ran(built: Path, tmp_path: Path) -> None:
    _one_sentence(onevision("export", "positions", "--departement", "91", "--warehouse", str(built), "--out",
                            str(tmp_path / "p.csv")), "Le département 91 n'a jamais été chargé")
    _one_sentence(onevision("fiche", "443210984", "--warehouse", str(tmp_path / "absent.duckdb"), "--out",
                            str(tmp_path / "f.html")), "Entrepôt introuvable")
    _one_sentence(onevision("export", "mouvements", "--warehouse", str(tmp_path / "absent.duckdb"), "--out",
                            str(tmp_path / "m.csv")), "Entrepôt introuvable")
    # a warehouse that exists but was never consolidated
    import duckdb

    duckdb.connect(str(tmp_path / "vide.duckdb")).close()
    _one_sentence(onevision("export", "impact", "--warehouse", str(tmp_path / "vide.duckdb"), "--out",
                            str(tmp_path / "i.csv")), "ne contient pas encore history.impact")


def test_a_siren_with_a_wrong_key_is_invalid_not_without_position(built: Path, tmp_path: Path) -> None:
    _one_sentence(onevision("fiche", "443210985", "--warehouse", str(built), "--out", str(tmp_path / "f.html")),
                  "SIREN invalide : '443210985'")
    ok = onevision("fiche", "443 210 984", "--departement", "17", "--warehouse", str(built), "--out",
                   str(tmp_path / "f.html"))
    assert ok.returncode == 0, ok.stderr


def test_lower_case_department_works_in_exports(built: Path, tmp_path: Path) -> None:
    result = onevision("export", "positions", "--departement", "17", "--warehouse", str(built), "--out",
                       str(tmp_path / "p.csv"))
    assert result.returncode == 0 and "11 ligne(s)" in result.stdout


def test_landing_and_warehouse_default_to_the_configuration(tmp_path: Path) -> None:
    env = {"ONEVISION_LANDING": str(tmp_path / "zone"), "ONEVISION_WAREHOUSE": str(tmp_path / "e.duckdb")}
    result = onevision("run", env=env)
    _one_sentence(result, f"Zone de dépôt introuvable : {tmp_path / 'zone'}")
    os.environ.update(env)
    try:
        args = build_parser().parse_args(["export", "rejets", "--out", "x.csv"])
    finally:
        for k in env:
            os.environ.pop(k)
    assert args.warehouse == tmp_path / "e.duckdb"


def test_help_is_in_french_and_describes_every_option() -> None:
    parser = build_parser()
    for command, sub in parser._subparsers._group_actions[0].choices.items():  # every subcommand
        text = sub.format_help()
        assert "usage : onevision" in text and "show this help" not in text, command
        for action in sub._actions:
            assert action.help, f"{command} {action.option_strings or action.dest} has no description"


def test_a_user_error_with_verbose_adds_the_detail_after_the_sentence(tmp_path: Path) -> None:
    result = onevision("--verbose", "export", "impact", "--warehouse", str(tmp_path / "absent.duckdb"), "--out",
                       str(tmp_path / "i.csv"))
    assert result.returncode == 1
    first, *rest = result.stderr.strip().splitlines()
    assert first.startswith("Erreur : Entrepôt introuvable") and any("Traceback" in line for line in rest)

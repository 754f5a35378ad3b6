"""Packaging and code-location hygiene."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_assets_and_resources_live_under_the_package_namespace() -> None:
    import onevision_dagster.assets
    import onevision_dagster.resources

    assert Path(onevision_dagster.assets.__file__).parent == REPO / "assets"
    assert Path(onevision_dagster.resources.__file__).parent == REPO / "resources"
    assert "assets" not in sys.modules and "resources" not in sys.modules


def test_modules_import_without_deprecation_warnings() -> None:
    modules = [p.stem for p in (REPO / "assets").glob("*.py") if p.stem != "__init__"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for name in ["definitions", "cli", "orchestration.runner"]:
            importlib.reload(importlib.import_module(f"onevision_dagster.{name}"))
        for name in modules:
            importlib.reload(importlib.import_module(f"onevision_dagster.assets.{name}"))


def test_dagster_definitions_validate() -> None:
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run([str(dagster), "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_every_room_is_packaged() -> None:
    """A wheel (not only the editable install) holds every subpackage of the package."""
    import tomllib

    declared = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    rooms = {f"onevision_dagster.{p.parent.name}" for p in (REPO / "onevision_dagster").glob("*/__init__.py")}
    assert rooms <= declared, rooms - declared

"""The wheel carries what the installed project needs: the application's templates and static files and the
documents' templates, packaged without setuptools' "absent from the packages configuration" warning, and served
from an installation outside the clone (issue 22)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from .conftest import REPO

SOURCES = ("onevision_dagster", "assets", "resources", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`pip wheel --no-deps` of a copy of the sources (the build leaves nothing in the shared working tree)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(path, src / name)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    (path,) = out.glob("onevision_dagster-*.whl")
    return path, build.stdout + build.stderr


def test_templates_and_static_files_are_in_the_wheel_without_setuptools_warning(wheel: tuple[Path, str]) -> None:
    path, log = wheel
    assert "absent from the `packages` configuration" not in log
    names = set(zipfile.ZipFile(path).namelist())
    for folder, pattern in (("onevision_dagster/app/templates", "*.html"), ("onevision_dagster/app/static", "*"),
                            ("onevision_dagster/documents/templates", "*.odt")):
        expected = {f"{folder}/{p.name}" for p in (REPO / folder).glob(pattern) if p.is_file()}
        assert expected and expected <= names, folder


def test_an_installation_outside_the_clone_serves_them(wheel: tuple[Path, str], tmp_path: Path) -> None:
    """The wheel unpacked into a folder of its own (a pure-Python wheel's installation), imported from there by a
    process started elsewhere: the application's template loader and static mount find their files."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel[0]).extractall(site)
    script = r"""
import importlib.resources, sys
import onevision_dagster
assert onevision_dagster.__file__.startswith(sys.argv[1]), onevision_dagster.__file__
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient
from onevision_dagster.app.rendering import PACKAGE, templates
from onevision_dagster.documents.render import template_path
env = templates().env
names = env.list_templates()
for name in names:
    env.get_template(name)
static = str(importlib.resources.files(PACKAGE) / "static")  # as onevision_dagster.app.web.create_app mounts it
client = TestClient(Starlette(routes=[Mount("/static", StaticFiles(directory=static))]))
css = client.get("/static/app.css")
assert css.status_code == 200 and css.text.strip(), css.status_code
odt = template_path("declaration")
assert odt.is_file() and str(odt).startswith(sys.argv[1]), odt
print(len(names), "templates", len(css.text), "bytes of css")
"""
    out = subprocess.run([sys.executable, "-c", script, str(site)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    count = int(out.stdout.split()[0])
    assert count == len(list((REPO / "onevision_dagster" / "app" / "templates").glob("*.html")))


def test_what_the_application_imports_is_a_pinned_dependency_at_the_installed_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    pins = dict(re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:\[[^]]*\])?==(.+)", d).groups() for d in project)
    constraints = (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines()
    for name in ("starlette", "uvicorn", "Jinja2", "SQLAlchemy"):
        assert pins[name] == metadata.version(name), name
        assert f"{name}=={pins[name]}" in constraints, name

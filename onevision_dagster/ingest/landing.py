"""The landing zone: which files exist, which one is current (SOURCES.md section 1)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from onevision_dagster.contract.departements import is_departement
from onevision_dagster.contract.sources import ALL_SOURCES, PARTITIONED_SOURCES, REGISTER

_NAME = {
    s.name: re.compile(rf"^{s.name}_(?P<dept>[0-9AB]{{2,3}})_(?P<date>\d{{8}})\.csv$")
    if s.partitioned
    else re.compile(rf"^{s.name}_(?P<date>\d{{8}})\.csv$")
    for s in ALL_SOURCES
}

SYNTHETIC_MARKER = "DONNEES_SYNTHETIQUES.txt"
"""Written at the root of a landing zone by `onevision generate`: every figure built from it is synthetic, and
every screen says so (issue 17, point 9). Not an extract: the only file the root may hold."""


def is_synthetic(landing: Path) -> bool:
    return (landing / SYNTHETIC_MARKER).is_file()


@dataclass(frozen=True)
class LandingFile:
    source: str
    departement: str | None  # None for the register
    as_of: date
    path: Path

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class BadlyNamedFile:
    path: Path
    reason: str


def parse_name(source: str, path: Path) -> LandingFile | BadlyNamedFile:
    m = _NAME[source].match(path.name)
    if not m:
        return BadlyNamedFile(path, f"le nom ne suit pas le modèle {_pattern_label(source)}")
    try:
        as_of = datetime.strptime(m["date"], "%Y%m%d").date()
    except ValueError:
        return BadlyNamedFile(path, f"date d'extraction invalide '{m['date']}' (attendu AAAAMMJJ)")
    dept = m.groupdict().get("dept")
    if dept is not None and not is_departement(dept):
        return BadlyNamedFile(path, f"code département inconnu '{dept}'")
    return LandingFile(source, dept, as_of, path)


def _pattern_label(source: str) -> str:
    return f"{source}_<DEPT>_<AAAAMMJJ>.csv" if source != REGISTER.name else f"{source}_<AAAAMMJJ>.csv"


@dataclass
class LandingScan:
    files: list[LandingFile]
    badly_named: list[BadlyNamedFile]

    def latest(self, source: str, departement: str | None = None) -> LandingFile | None:
        candidates = [f for f in self.files if f.source == source and f.departement == departement]
        return max(candidates, key=lambda f: f.as_of, default=None)

    def departements(self) -> list[str]:
        """Departments that have at least one source extract."""
        return sorted({f.departement for f in self.files if f.departement is not None}, key=_dept_sort_key)

    def as_of(self, departement: str) -> date | None:
        """A department's as-of date: the latest date of its seven current source files."""
        dates = [
            f.as_of for s in PARTITIONED_SOURCES if (f := self.latest(s.name, departement)) is not None
        ]
        return max(dates, default=None)


def _dept_sort_key(code: str) -> tuple[int, str]:
    return (len(code), code)


def _outside(path: Path, root: Path) -> bool:
    """A path that, once every symbolic link on it is followed, is not inside the landing zone."""
    try:
        path.resolve().relative_to(root.resolve())
        return False
    except ValueError:
        return True


def scan_folder(landing: Path, source: str, follow_links: bool = False) -> tuple[list[LandingFile],
                                                                                 list[BadlyNamedFile]]:
    """The extracts of one source folder, and everything else in it, reported (never silently ignored): badly
    named files, hidden files, subfolders, links leading out of the landing zone (followed only when
    `follow_links`, the `ONEVISION_LANDING_LIENS` setting)."""
    folder = landing / source
    files: list[LandingFile] = []
    bad: list[BadlyNamedFile] = []
    if not folder.is_dir():
        return files, bad
    if not follow_links and _outside(folder, landing):  # the source folder itself leads out: none of it is read
        bad.append(BadlyNamedFile(folder, "dossier de source lié vers l'extérieur de la zone de dépôt (lien "
                                          "symbolique), non lu"))
        return files, bad
    for path in sorted(folder.iterdir()):
        # the folder resolves inside the landing zone: only an entry that is itself a link can lead out
        if not follow_links and path.is_symlink() and _outside(path, landing):
            bad.append(BadlyNamedFile(path, "lien symbolique vers l'extérieur de la zone de dépôt, non suivi"))
        elif path.is_dir():
            bad.append(BadlyNamedFile(path, "sous-dossier dans un dossier de source, non lu"))
        elif path.name.startswith("."):
            bad.append(BadlyNamedFile(path, "fichier caché, non lu"))
        elif not path.is_file():
            bad.append(BadlyNamedFile(path, "n'est pas un fichier ordinaire, non lu"))
        else:
            parsed = parse_name(source, path)
            (files if isinstance(parsed, LandingFile) else bad).append(parsed)
    return files, bad


def scan_landing(landing: Path, follow_links: bool = False) -> LandingScan:
    """Lists the landing zone; every file that is not read is reported with the reason, never ignored."""
    files: list[LandingFile] = []
    bad: list[BadlyNamedFile] = []
    for source in ALL_SOURCES:
        found, reported = scan_folder(landing, source.name, follow_links)
        files += found
        bad += reported
    if landing.is_dir():
        known = {s.name for s in ALL_SOURCES}
        for path in sorted(landing.iterdir()):
            if path.is_dir() and path.name in known or path.name == SYNTHETIC_MARKER and path.is_file():
                continue
            if path.is_dir():
                bad.append(BadlyNamedFile(path, "dossier inconnu (aucune source de ce nom)"))
            elif path.name.startswith("."):
                bad.append(BadlyNamedFile(path, "fichier caché hors d'un dossier de source, non lu"))
            else:
                bad.append(BadlyNamedFile(path, "fichier hors d'un dossier de source"))
    return LandingScan(files, bad)

"""Modes of the files the project writes (issue 20): 0640 files in 0750 folders, never world-readable.

The warehouse, its publication, the exports, the sheets and the application's audit store hold what the tax secret
protects (art. L. 103 LPF). Every process of the project (the `onevision` command, Dagster's code location and
run workers, which all import `definitions` or `cli`) sets the umask 027 once, so DuckDB, SQLite and every file
written by hand are created 0640 and their folders 0750; the group is the deployment's service group (the
pipeline's and the application's accounts), others get nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

UMASK = 0o027
FILE_MODE = 0o640
DIR_MODE = 0o750


def restrict() -> None:
    """Sets the process umask (files 0640, folders 0750 from here on)."""
    os.umask(UMASK)


def private_file(path: Path) -> None:
    """An existing file the project owns, brought to 0640 at most (a file made under another umask)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & ~FILE_MODE:
        path.chmod(mode & FILE_MODE)


def open_to_others(paths: list[Path]) -> list[Path]:
    """The paths among `paths` (and their contents) that others can read, write or enter."""
    found = []
    for root in paths:
        if not root.exists():
            continue
        for path in [root, *(root.rglob("*") if root.is_dir() else [])]:
            if stat.S_IMODE(path.lstat().st_mode) & 0o007 and not path.is_symlink():
                found.append(path)
    return found

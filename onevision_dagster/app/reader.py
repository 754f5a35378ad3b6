"""The application's side of the publication: the current published file, opened read-only, re-opened on a swap.

Every request takes a cursor of the current file under a lease; when the pointer names a new file, new
requests go to it and the old connection is closed once its last lease ends. The pointer is looked at, at
most, once per `check_interval_s` (a `stat`), so a swap is seen within that delay.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from onevision_dagster.app.publication import POINTER, current_file
from onevision_dagster.errors import OneVisionError


class NoPublication(OneVisionError):
    """Nothing has been published yet: the pipeline has not run its `publication/app` asset."""

    def __init__(self, folder: Path):
        super().__init__(f"Aucune donnée publiée dans {folder} : lancez `onevision run` (ou matérialisez "
                         "l'asset publication/app dans Dagster).")


class _Opened:
    def __init__(self, path: Path):
        self.path = path
        self.con = duckdb.connect(str(path), read_only=True)
        self.leases = 0
        self.retired = False

    def close_if_done(self) -> None:
        if self.retired and self.leases == 0:
            self.con.close()


class PublishedData:
    def __init__(self, folder: Path, check_interval_s: float = 1.0):
        self.folder = Path(folder)
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._opened: _Opened | None = None
        self._pointer_stamp: tuple[int, int] | None = None
        self._checked_at = 0.0

    def _pointer_stamp_now(self) -> tuple[int, int] | None:
        try:
            st = (self.folder / POINTER).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _refresh(self) -> _Opened:
        now = time.monotonic()
        if self._opened is not None and now - self._checked_at < self.check_interval_s:
            return self._opened
        self._checked_at = now
        stamp = self._pointer_stamp_now()
        if stamp is not None and stamp != self._pointer_stamp:
            path = current_file(self.folder)
            if path is not None and path.exists():
                if self._opened is None or self._opened.path != path:
                    fresh = _Opened(path)
                    old, self._opened = self._opened, fresh
                    if old is not None:
                        old.retired = True
                        old.close_if_done()
                self._pointer_stamp = stamp
            # else: a broken pointer; keep serving the last good file and look again next time
        if self._opened is None:
            raise NoPublication(self.folder)
        return self._opened

    @property
    def path(self) -> Path | None:
        return self._opened.path if self._opened else None

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the current published file for one request."""
        with self._lock:
            opened = self._refresh()
            opened.leases += 1
            cur = opened.con.cursor()
        try:
            yield cur
        finally:
            cur.close()
            with self._lock:
                opened.leases -= 1
                opened.close_if_done()

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.retired = True
                self._opened.close_if_done()
                self._opened = None

"""Shared fixtures: the hand-made sample landing zone of ../shared/samples and scratch copies of it.

The contract's folder sits beside the repository; `ONEVISION_SHARED` points elsewhere (a clone in another folder).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests run on loaded 2-core CI machines: no per-example deadline (one failed at 319 ms for 200 ms),
# the number of examples stays each test's own.
settings.register_profile("onevision", deadline=None)
settings.load_profile("onevision")

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ONEVISION_SHARED") or REPO.parent / "shared")
SAMPLES = SHARED / "samples"
SAMPLE_LANDING = SAMPLES / "landing"
EXPECTED = SAMPLES / "expected"


@pytest.fixture(scope="session")
def sample_landing() -> Path:
    if not SAMPLE_LANDING.is_dir():
        pytest.fail(f"sample landing zone not found at {SAMPLE_LANDING} "
                    "(shared/ must sit beside the repo, or set ONEVISION_SHARED)")
    return SAMPLE_LANDING


@pytest.fixture
def landing_copy(tmp_path: Path, sample_landing: Path) -> Path:
    """A writable copy of the samples, for tests that add, break or replace files."""
    dest = tmp_path / "landing"
    shutil.copytree(sample_landing, dest)
    return dest


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "onevision.duckdb"

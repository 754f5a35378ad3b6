"""Departments two at a time in `onevision run` (issue 21): only without DAGSTER_HOME (ephemeral instances).

That the outputs stay the same is `test_outputs_identical.test_demo_outputs_identical_with_departments_two_at_a_time`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from onevision_dagster.orchestration.runner import PARALLELISM_ENV, parallelism

REPO = Path(__file__).resolve().parent.parent


def test_an_instance_without_pools_runs_departments_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PARALLELISM_ENV, raising=False)
    with dg.DagsterInstance.ephemeral() as instance:
        assert parallelism(instance) == (1, None)  # the default: one by one
        assert parallelism(instance, 2) == (2, None)
        monkeypatch.setenv(PARALLELISM_ENV, "3")
        assert parallelism(instance) == (3, None)


def test_the_projects_instance_keeps_one_department_at_a_time(tmp_path: Path) -> None:
    """Runs recorded in DAGSTER_HOME share one instance (whose storage is not safe across threads, and whose pools
    hold a slot per step): the runner says so and goes one by one."""
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        count, why = parallelism(instance, 2)
    assert count == 1
    assert why is not None and "DAGSTER_HOME" in why and PARALLELISM_ENV in why

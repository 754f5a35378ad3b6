"""Reports, exports and sheets are replaced whole: a reader sees the old file or the new one."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from onevision_dagster.reports.atomic_files import written_beside


def test_a_file_is_replaced_only_when_its_writing_succeeded(tmp_path: Path) -> None:
    target = tmp_path / "rapports" / "tableau_de_bord_17.html"
    with written_beside(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".tableau_de_bord_17.html.")
        tmp.write_text("v1", encoding="utf-8")
        assert not target.exists()  # nothing visible before the rename
    assert target.read_text(encoding="utf-8") == "v1"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the service group reads it, others nothing

    with pytest.raises(RuntimeError), written_beside(target) as tmp:
        tmp.write_text("moitié", encoding="utf-8")
        raise RuntimeError("disque plein")
    assert target.read_text(encoding="utf-8") == "v1"  # the last good file stays
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left behind

"""Freshness is never hidden (issue 17, point 8): each department's as-of date, flagged when old."""

from __future__ import annotations

import datetime as dt

from onevision_dagster.reports.freshness import flag, sentence


def test_a_department_older_than_the_others_or_the_limit_is_flagged() -> None:
    today = dt.date(2026, 12, 6)
    rows = flag({"95": dt.date(2026, 11, 20), "17": dt.date(2026, 12, 4), "44": dt.date(2026, 11, 27)}, 7, today)
    assert [(r.departement, r.retard) for r in rows] == [
        ("17", None),  # 2 days old, the newest
        ("44", "ancienne : plus ancienne que les autres départements (7 j) ; plus de 7 jours"),  # 9 days
        ("95", "ancienne : plus ancienne que les autres départements (14 j) ; plus de 7 jours"),
    ]
    assert sentence(rows[:1]) == "département 17 : 04/12/2026"
    # exactly at the limit is not late; one department alone is never « older than the others »
    assert flag({"17": dt.date(2026, 11, 29)}, 7, today)[0].retard is None
    assert flag({"17": dt.date(2026, 11, 28)}, 7, today)[0].retard == "ancienne : plus de 7 jours"


def test_written_pages_flag_against_the_configured_limit(monkeypatch) -> None:
    from onevision_dagster.reports.freshness import limit_days, paragraph

    monkeypatch.delenv("ONEVISION_FRESHNESS_DAYS", raising=False)
    assert limit_days() == 7 and limit_days(30) == 30  # the pipeline's Settings, when given, win
    monkeypatch.setenv("ONEVISION_FRESHNESS_DAYS", "400")
    assert limit_days() == 400
    monkeypatch.setenv("ONEVISION_FRESHNESS_DAYS", "quarante")
    assert limit_days() == 7
    # with a limit of 400 days a department 16 days old is flagged only for being older than the other one
    rows = flag({"17": dt.date(2026, 11, 27), "95": dt.date(2026, 11, 20)}, limit_days(400), dt.date(2026, 12, 6))
    line = paragraph(rows, "page produite")
    assert line.startswith('<p class="alerte fraicheur" id="fraicheur">Données au : département 17 : 27/11/2026 ; ')
    assert "département 95 : 20/11/2026 (ancienne : plus ancienne que les autres départements (7 j))" in line
    assert "plus de" not in line and "page produite le " in line and "(heure de Paris)" in line

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

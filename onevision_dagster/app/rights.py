"""Rule 5 of the application: a company is visible iff it has a position in one of the user's departments.

Once visible, everything about it is shown, its national figures and other departments' positions included:
that is the point of One Vision. The rule is applied in SQL, before counting and paging, so a search never
reveals a company a page would refuse (not even that it has debts elsewhere).
"""

from __future__ import annotations

import duckdb

from onevision_dagster.app.identity import User


def visible_filter(user: User, departements_column: str) -> tuple[str, list[object]]:
    """A WHERE fragment over a `VARCHAR[]` column of the company's departments, and its parameters."""
    if user.national:
        return "TRUE", []
    if not user.departements:
        return "FALSE", []
    return f"list_has_any({departements_column}, ?::VARCHAR[])", [list(user.departements)]


def may_open(con: duckdb.DuckDBPyConnection, user: User, siren: str) -> bool:
    """Does the company have a position in one of the user's departments (the published `positions`)?"""
    if not user.has_rights:
        return False
    if user.national:
        sql, params = "SELECT count(*) FROM positions WHERE siren = ?", [siren]
    else:
        sql = "SELECT count(*) FROM positions WHERE siren = ? AND departement IN (SELECT unnest(?::VARCHAR[]))"
        params = [siren, list(user.departements)]
    return con.execute(sql, params).fetchone()[0] > 0

"""Who is asking: the user and groups the single sign-on proxy put in the request headers.

Group `onevision-departement-17` grants department 17; `onevision-national` grants every department.
Other groups (the operators' group, the administration's own) grant nothing here. A group naming a code
that is not an INSEE department grants nothing either: a typo never widens rights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from onevision_dagster.contract.departements import ALL_DEPARTEMENTS, is_departement

DEPARTEMENT_GROUP_PREFIX = "onevision-departement-"
NATIONAL_GROUP = "onevision-national"

# an identifier a proxy may pass: no control characters, bounded length (it lands in the audit)
_USER = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


@dataclass(frozen=True)
class User:
    id: str
    groups: frozenset[str]
    departements: tuple[str, ...]
    national: bool

    @property
    def has_rights(self) -> bool:
        return self.national or bool(self.departements)

    def may_see_departement(self, departement: str) -> bool:
        return self.national or departement in self.departements

    def audit_scope(self) -> str:
        """The departments recorded with each audited action ("national" for the national group)."""
        return "national" if self.national else ",".join(self.departements)


def departements_of(groups: frozenset[str]) -> tuple[bool, tuple[str, ...]]:
    """(national, departments granted) from a set of group names."""
    if NATIONAL_GROUP in groups:
        return True, ALL_DEPARTEMENTS
    granted = {g[len(DEPARTEMENT_GROUP_PREFIX):].upper() for g in groups if g.startswith(DEPARTEMENT_GROUP_PREFIX)}
    return False, tuple(d for d in ALL_DEPARTEMENTS if d in granted and is_departement(d))


def user_from_headers(headers: Mapping[str, str], user_header: str, groups_header: str) -> User | None:
    """The user the proxy vouches for, or None when there is no (usable) identity."""
    raw_user = (headers.get(user_header) or "").strip()
    if not raw_user or not _USER.fullmatch(raw_user):
        return None
    groups = frozenset(g.strip() for g in (headers.get(groups_header) or "").split(",") if g.strip())
    national, departements = departements_of(groups)
    return User(id=raw_user, groups=groups, departements=departements, national=national)

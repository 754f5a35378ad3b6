"""INSEE department codes: the partition keys, defined once."""

from __future__ import annotations

PILOT_DEPARTEMENTS: tuple[str, ...] = ("17", "91", "95")

ALL_DEPARTEMENTS: tuple[str, ...] = (
    tuple(f"{i:02d}" for i in range(1, 20))
    + ("2A", "2B")
    + tuple(f"{i:02d}" for i in range(21, 96))
    + ("971", "972", "973", "974", "976")
)

_KNOWN = frozenset(ALL_DEPARTEMENTS)


def is_departement(code: str) -> bool:
    return code in _KNOWN


def parse_departements(value: str | None) -> tuple[str, ...]:
    """Reads a setting such as ``"17,91,95"``, ``"17 91"`` or ``"all"``/``"tous"``.

    Unknown codes are refused rather than silently dropped: a typo in a
    setting must not make a department disappear from the national view.
    """
    if value is None or not value.strip():
        return PILOT_DEPARTEMENTS
    text = value.strip()
    if text.lower() in {"all", "tous", "toutes"}:
        return ALL_DEPARTEMENTS
    codes = [("0" + c if c.isdigit() and len(c) == 1 else c) for c in
             (c.strip().upper() for c in text.replace(",", " ").split())]
    unknown = [c for c in codes if c not in _KNOWN]
    if unknown:
        raise ValueError(f"Code(s) département inconnu(s) : {', '.join(unknown)}")
    order = {c: i for i, c in enumerate(ALL_DEPARTEMENTS)}
    return tuple(sorted(set(codes), key=order.__getitem__))


def departement_code(value: str) -> str:
    """One department code as a user may type it (`2a`, ` 17 `, `1`) → its INSEE form (`2A`, `17`, `01`)."""
    code = value.strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code not in _KNOWN:
        raise ValueError(f"Code département inconnu : {value!r} (attendu : 01…95, 2A, 2B, 971…976)")
    return code

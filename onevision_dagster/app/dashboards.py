"""The pipeline's dashboards, served by the application with its rights and audit (issue 20, finding 5).

The pipeline writes them into the reports folder (`ONEVISION_REPORTS`, docs/operations.md); they list companies
with their figures, so they are never served without an identity any more (`onevision rapports` is gone):

- `/rapports/tableau_de_bord_DD.html`: department DD's dashboard, to the agents of DD (and national agents);
- `/rapports/tableau_de_bord_national.html` and `/rapports/tableau_de_bord_experimentation.html`: to national
  agents only;
- `/rapports/plotly.min.js`: the charting library the pages load beside them (the installed package's, no data);
- `/rapports/fiches/fiche_SIREN_DD.html` (the dashboards' links to company sheets): a redirection to the
  application's sheet, `/entreprises/SIREN/fiche`, which checks its own rights.

Any other name is a 404 that says nothing about what exists. A file is read only when its real path (symbolic
links resolved) lies inside the real reports folder. Every request is audited (`CONSULTATION_TABLEAU_DE_BORD`,
with the file's name), refusals included. The pages run plotly's inline scripts: their answer carries its own
Content-Security-Policy (inline scripts and styles of the page allowed, nothing fetched from elsewhere, no frame).
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from onevision_dagster.app.identity import User
from onevision_dagster.app.rendering import Refusal, ctx, guarded, require_departement

DASHBOARD = re.compile(r"tableau_de_bord_([0-9][0-9AB][0-9]?)\.html")
NATIONAL_DASHBOARDS = ("tableau_de_bord_national.html", "tableau_de_bord_experimentation.html")
SHEET_LINK = re.compile(r"fiche_(\d{9})_(?:[0-9][0-9AB][0-9]?|national)\.html")
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""The dashboards run their own inline plot scripts and fetch nothing from anywhere."""
NOT_FOUND = "Tableau de bord introuvable."


def title(name: str) -> str:
    """How the department page names a dashboard."""
    if name == "tableau_de_bord_national.html":
        return "Tableau de bord national"
    if name == "tableau_de_bord_experimentation.html":
        return "Tableau de bord de l'expérimentation"
    m = DASHBOARD.fullmatch(name)
    return f"Tableau de bord du département {m.group(1)}" if m else name


def check_rights(user: User, name: str) -> None:
    """Refusal (403, 404) unless `user` may read the dashboard `name`."""
    if name in NATIONAL_DASHBOARDS:
        if not user.national:
            raise Refusal(403, "Ce tableau de bord couvre tous les départements : il est réservé aux agents du "
                          "groupe national.")
        return
    m = DASHBOARD.fullmatch(name)
    if m is None:
        raise Refusal(404, NOT_FOUND)
    require_departement(user, m.group(1))


def inside(root: Path, name: str) -> Path | None:
    """The real path of `root/name` when it is a regular file inside the real `root`, else None."""
    try:
        real_root = root.resolve(strict=True)
        real = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return None
    if real_root not in real.parents or not real.is_file():
        return None
    return real


@guarded("CONSULTATION_TABLEAU_DE_BORD")
async def tableau_de_bord(request: Request, user: User) -> tuple[Response, str]:
    name = request.path_params["fichier"]
    try:
        check_rights(user, name)
    except Refusal as refusal:  # audited with the file asked for
        refusal.objet = name[:120]
        raise
    path = inside(ctx(request).settings.reports, name)
    if path is None:
        raise Refusal(404, "Ce tableau de bord n'a pas encore été écrit par la chaîne de traitement.", name)
    body = await run_in_threadpool(path.read_bytes)
    return Response(body, media_type="text/html; charset=utf-8",
                    headers={"content-security-policy": DASHBOARD_CSP, "cache-control": "no-store"}), name


@guarded("CONSULTATION_TABLEAU_DE_BORD")
async def fiche(request: Request, user: User) -> tuple[Response, str]:
    """A dashboard's link to a company sheet: to the application's sheet, which checks the rights."""
    name = request.path_params["fichier"]
    m = SHEET_LINK.fullmatch(name)
    if m is None:
        raise Refusal(404, NOT_FOUND, f"fiches/{name[:120]}")
    return RedirectResponse(f"/entreprises/{m.group(1)}/fiche", status_code=303), f"fiches/{name}"


def available(reports: Path, user: User, departement: str) -> list[tuple[str, str]]:
    """(url, title) of the dashboards written that `user` may open, for the department page."""
    names = [f"tableau_de_bord_{departement}.html", *(NATIONAL_DASHBOARDS if user.national else ())]
    return [(f"/rapports/{n}", title(n)) for n in names if inside(reports, n) is not None]

"""The Starlette application: routes, static files (plotly.js from the installed package), the guard around it."""

from __future__ import annotations

import importlib.resources

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from onevision_dagster.app import audit, dashboards, document_pages, pages, worklist_pages
from onevision_dagster.app.http_guard import HttpGuard
from onevision_dagster.app.reader import PublishedData
from onevision_dagster.app.rendering import PACKAGE, Context, templates
from onevision_dagster.app.settings import AppSettings
from onevision_dagster.app.store import open_store
from onevision_dagster.reports.html_page import PAGE_CSS


def _plotly(request: Request) -> Response:
    source = importlib.resources.files("plotly") / "package_data" / "plotly.min.js"
    return FileResponse(str(source), media_type="text/javascript; charset=utf-8",
                        headers={"cache-control": "public, max-age=86400"})


def _css(request: Request) -> Response:
    return Response(PAGE_CSS, media_type="text/css; charset=utf-8", headers={"cache-control": "public, max-age=3600"})


def create_app(settings: AppSettings, data: PublishedData | None = None, engine: sa.Engine | None = None
               ) -> HttpGuard:
    """The ASGI application (wrapped in the guard), ready for uvicorn."""
    engine = engine if engine is not None else open_store(settings.database_url)
    audit.use_key(settings.audit_key)  # None (developer's machine): the environment's, else a key that protects nothing
    data = data if data is not None else PublishedData(settings.publication)
    static = str(importlib.resources.files(PACKAGE) / "static")
    routes = [
        Route("/", pages.home),
        Route("/recherche", pages.recherche),
        Route("/entreprises/{siren}", pages.entreprise),
        Route("/entreprises/{siren}/fiche", pages.entreprise),  # the company sheet (`onevision rapports` no more)
        Route("/entreprises/{siren}/documents", document_pages.rediger, methods=["POST"]),
        Route("/departements/{departement}", worklist_pages.departement),
        Route("/departements/{departement}/listes/{liste}", worklist_pages.liste),
        Route("/departements/{departement}/listes/{liste}/export.csv", worklist_pages.export),
        Route("/departements/{departement}/listes/{liste}/lignes.csv", worklist_pages.export_lignes),
        Route("/departements/{departement}/listes/{liste}/resultats", worklist_pages.resultat, methods=["POST"]),
        Route("/suivi", pages.suivi),
        Route("/favicon.ico", lambda request: Response(status_code=204)),  # no icon: the dashboards' pages ask
        Route("/rapports/plotly.min.js", _plotly),  # the dashboards load it beside them; no data in it
        Route("/rapports/fiches/{fichier}", dashboards.fiche),
        Route("/rapports/{fichier}", dashboards.tableau_de_bord),  # rights and audit (issue 20, finding 5)
        Route("/static/plotly.min.js", _plotly),
        Route("/static/rapports.css", _css),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.ctx = Context(settings, data, engine, templates())
    return HttpGuard(app, settings, engine)

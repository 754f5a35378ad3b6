"""The Starlette application: routes, identity and rights checks, audit of every answer.

Each data route follows the same path: identity from the proxy's headers (none: 401), rights (none for this
company or department: 403), malformed request (400), then the page (200) — and one audit row whatever the
outcome. Pages are rendered on the server (Jinja2, autoescaped); JavaScript only draws the charts.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from onevision_dagster.app import audit, company, csrf, offsetting, outcomes, rights, worklists
from onevision_dagster.app.http_guard import HttpGuard
from onevision_dagster.app.identity import User, user_from_headers
from onevision_dagster.app.reader import NoPublication, PublishedData
from onevision_dagster.app.search import search
from onevision_dagster.app.settings import AppSettings
from onevision_dagster.app.store import open_store
from onevision_dagster.contract.departements import is_departement
from onevision_dagster.reports.charts import ETAPE_LABELS, source_label
from onevision_dagster.reports.dashboard import PAGE_CSS
from onevision_dagster.reports.exports import write_agent_csv
from onevision_dagster.reports.fiche import PROCEDURES, STATUTS
from onevision_dagster.reports.formatting import format_date, format_euros, format_nombre

log = logging.getLogger("onevision.app")

PACKAGE = "onevision_dagster.app"
_SIREN = re.compile(r"\d{9}")
MAX_FORM_BYTES = 8192


class Refusal(Exception):
    """An answer other than 200, with a French sentence for the agent."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Context:
    settings: AppSettings
    data: PublishedData
    engine: sa.Engine
    templates: Jinja2Templates


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(euros=format_euros, date=format_date, nombre=format_nombre)
    env.globals.update(figures=company.FIGURES, procedures=PROCEDURES, statuts=STATUTS, etapes=ETAPE_LABELS,
                       source_label=source_label, base_legale=offsetting.LEGAL_BASIS)
    env.globals["urlencode"] = lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return Jinja2Templates(env=env)


def _ctx(request: Request) -> Context:
    return request.app.state.ctx


def _user(request: Request) -> User | None:
    s = _ctx(request).settings
    return user_from_headers(request.headers, s.user_header, s.groups_header)


def _audit(request: Request, user: User | None, action: str, objet: str, status: int) -> None:
    audit.record(_ctx(request).engine, user=user.id if user else None,
                 departements=user.audit_scope() if user else None, action=action, objet=objet, status=status)


def _require_user(user: User | None) -> User:
    if user is None:
        raise Refusal(401, "Identité absente : connectez-vous par le portail de l'administration.")
    if not user.has_rights:
        raise Refusal(403, "Vos groupes ne vous donnent accès à aucun département de One Vision.")
    return user


def _require_departement(user: User, departement: str) -> None:
    if not is_departement(departement):
        raise Refusal(400, f"Code département inconnu : « {departement} ».")
    if not user.may_see_departement(departement):
        raise Refusal(403, f"Vos groupes ne vous donnent pas accès au département {departement}.")


def _worklist(key: str) -> worklists.WorkList:
    if key not in worklists.LISTS:
        raise Refusal(400, f"Liste de travail inconnue : « {key} ».")
    return worklists.LISTS[key]


def _int(text: str | None, default: int = 1) -> int:
    try:
        return max(1, min(int(text or default), 100_000))
    except ValueError:
        return default


def _nonce(request: Request) -> tuple[str, bool]:
    nonce = request.cookies.get(csrf.COOKIE)
    return (nonce, False) if csrf.valid_nonce(nonce) else (csrf.new_nonce(), True)


def _render(request: Request, name: str, status: int = 200, user: User | None = None, **values: Any) -> Response:
    ctx = _ctx(request)
    nonce, fresh = _nonce(request)
    values.setdefault("message", None)
    response = ctx.templates.TemplateResponse(request, name, {
        "user": user, "settings": ctx.settings, "jeton": csrf.token(ctx.settings.signing_key, nonce, user.id)
        if user else "", "operateur": bool(user and ctx.settings.operators_group in user.groups), **values},
        status_code=status)
    if fresh:
        response.set_cookie(csrf.COOKIE, nonce, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
    return response


TITLES = {400: "Demande invalide", 401: "Identité absente", 403: "Accès refusé", 404: "Introuvable",
          500: "Erreur interne", 503: "Données indisponibles"}


def _refusal_page(request: Request, user: User | None, refusal: Refusal) -> Response:
    return _render(request, "erreur.html", refusal.status, user if refusal.status != 401 else None,
                   titre=TITLES.get(refusal.status, "Erreur"), message=refusal.message)


def _guarded(action: str):
    """Runs a handler with identity, rights and audit; the handler returns (response, audited object)."""

    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            user = _user(request)
            objet = _default_object(request, action)
            try:
                response, objet = await handler(request, _require_user(user))
                status = response.status_code
            except Refusal as refusal:
                response, status = _refusal_page(request, user, refusal), refusal.status
            except NoPublication as e:
                response, status = _refusal_page(request, user, Refusal(503, str(e))), 503
            except Exception:  # noqa: BLE001 - answered, audited and logged without the query string
                log.exception("erreur sur %s %s", request.method, request.url.path)
                response = _refusal_page(request, user, Refusal(500, "Erreur interne : l'incident est journalisé."))
                status = 500
            await run_in_threadpool(_audit, request, user, action, objet, status)
            return response

        return endpoint

    return wrap


def _default_object(request: Request, action: str) -> str:
    if action == "RECHERCHE":
        return request.query_params.get("q", "")
    if action == "CONSULTATION_ENTREPRISE":
        return request.path_params.get("siren", "")
    dept, key = request.path_params.get("departement", ""), request.path_params.get("liste")
    return f"{dept}/{key}" if key else dept


# ------------------------------------------------------------------ routes


async def home(request: Request) -> Response:
    user = _user(request)
    if user is None:
        refusal = Refusal(401, "Identité absente : connectez-vous par le portail de l'administration.")
        await run_in_threadpool(_audit, request, None, "ACCES", "/", 401)
        return _refusal_page(request, None, refusal)

    def departements() -> list[str]:
        try:
            with _ctx(request).data.cursor() as con:
                present = [r[0] for r in con.execute(
                    "SELECT DISTINCT departement FROM positions ORDER BY departement").fetchall()]
        except NoPublication:
            return list(user.departements) if not user.national else []
        return [d for d in present if user.may_see_departement(d)]

    return _render(request, "accueil.html", user=user, departements=await run_in_threadpool(departements))


@_guarded("RECHERCHE")
async def recherche(request: Request, user: User) -> tuple[Response, str]:
    q = request.query_params.get("q", "")
    page = _int(request.query_params.get("page"))

    def run():
        with _ctx(request).data.cursor() as con:
            return search(con, user, q, page, _ctx(request).settings.page_size)

    result = await run_in_threadpool(run)
    status = 400 if result.query.kind == "invalide" else 200
    return _render(request, "recherche.html", status, user=user, resultat=result, q=q), q


@_guarded("CONSULTATION_ENTREPRISE")
async def entreprise(request: Request, user: User) -> tuple[Response, str]:
    siren = request.path_params["siren"]
    if not _SIREN.fullmatch(siren):
        raise Refusal(400, "Adresse invalide : un SIREN a 9 chiffres.")

    def run():
        with _ctx(request).data.cursor() as con:
            if not rights.may_open(con, user, siren):
                return None
            return company.load(con, siren)

    page = await run_in_threadpool(run)
    if page is None:
        if user.national:
            raise Refusal(404, f"Aucune position pour le SIREN {siren}.")
        raise Refusal(403, "Cette entreprise n'a pas de position dans vos départements : sa page ne vous est "
                      "pas ouverte.")
    figure = _company_figure(page)
    return _render(request, "entreprise.html", user=user, page=page, figure=figure), siren


def _company_figure(page: company.CompanyPage) -> str:
    """Plotly figure (JSON in a data attribute, drawn by static/app.js): debts, credits, offsettable."""
    labels = [f"Département {p['departement']}" for p in page.departements]
    series = [("Dettes exigibles", "total_dettes", "#c9191e"), ("Créances certaines", "total_creances", "#18753c"),
              ("Montant compensable", "montant_compensable", "#000091")]
    data = [{"type": "bar", "name": name, "x": labels, "y": [float(p[col]) for p in page.departements],
             "marker": {"color": color}, "hovertemplate": "%{y:,.2f} €<extra>" + name + "</extra>"}
            for name, col, color in series]
    layout = {"barmode": "group", "separators": ", ", "height": 320, "margin": {"l": 70, "r": 20, "t": 20, "b": 40},
              "yaxis": {"title": {"text": "euros"}}, "legend": {"orientation": "h"}}
    return json.dumps({"data": data, "layout": layout}, ensure_ascii=False)


@_guarded("CONSULTATION_LISTE")
async def departement(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    _require_departement(user, dept)

    def run():
        with _ctx(request).data.cursor() as con:
            counts = worklists.counts(con, dept)
            unplaced = con.execute("""SELECT motif, source, count(*) AS lignes FROM non_positionnees
                                      WHERE departement = ? GROUP BY ALL ORDER BY motif, source""", [dept]).fetchall()
            return counts, unplaced

    counts, unplaced = await run_in_threadpool(run)
    return _render(request, "departement.html", user=user, departement=dept, listes=worklists.LISTS,
                   counts=counts, non_positionnees=unplaced), dept


def _list_params(request: Request) -> tuple[str | None, bool | None, int]:
    sort = request.query_params.get("tri")
    order = request.query_params.get("ordre")
    return sort, (None if order not in ("asc", "desc") else order == "desc"), _int(request.query_params.get("page"))


@_guarded("CONSULTATION_LISTE")
async def liste(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    _require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    sort, descending, number = _list_params(request)

    def run():
        with _ctx(request).data.cursor() as con:
            result = worklists.page(con, wl, dept, sort, descending, number)
        done = outcomes.latest_for(_ctx(request).engine, dept, wl.key, [r["siren"] for r in result.rows])
        return result, done

    result, done = await run_in_threadpool(run)
    return _render(request, "liste.html", user=user, departement=dept, liste=result, resultats=done,
                   motifs=outcomes.MOTIFS, choix=outcomes.RESULTATS), f"{dept}/{wl.key}"


@_guarded("EXPORT_LISTE")
async def export(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    _require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    sort, descending, _ = _list_params(request)

    def run() -> Path:
        with _ctx(request).data.cursor() as con:
            frame = worklists.frame(con, wl, dept, sort, descending)
        done = outcomes.latest_for(_ctx(request).engine, dept, wl.key)
        frame["suite"] = [outcomes.RESULTATS.get(done[s]["resultat"]) if s in done else None for s in frame["siren"]]
        frame["motif"] = [outcomes.MOTIFS.get(done[s]["motif"]) if s in done and done[s]["motif"] else None
                          for s in frame["siren"]]
        frame["montant_obtenu"] = [done[s]["montant_obtenu"] if s in done else None for s in frame["siren"]]
        fd, name = tempfile.mkstemp(prefix="onevision-export-", suffix=".csv")
        os.close(fd)
        write_agent_csv(frame, name, date_columns=wl.date_columns,
                        money_columns=(*wl.money_columns, "montant_obtenu"))
        return Path(name)

    path = await run_in_threadpool(run)
    response = FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{wl.key}_{dept}.csv",
                            background=BackgroundTask(path.unlink, missing_ok=True))
    return response, f"{dept}/{wl.key}"


@_guarded("RESULTAT")
async def resultat(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    _require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Refusal(400, "Formulaire refusé : envoyé depuis un autre site.")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES or not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        raise Refusal(400, "Formulaire illisible.")
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    ctx = _ctx(request)
    if not csrf.check(ctx.settings.signing_key, request.cookies.get(csrf.COOKIE), user.id, form.get(csrf.FIELD)):
        raise Refusal(400, "Formulaire refusé : jeton de sécurité absent ou périmé. Rechargez la page et "
                      "recommencez.")
    siren = form.get("siren", "")
    if not _SIREN.fullmatch(siren):
        raise Refusal(400, "SIREN invalide dans le formulaire.")
    try:
        outcome = outcomes.parse_outcome(form.get("resultat", ""), form.get("motif", ""), form.get("montant", ""))
    except outcomes.InvalidOutcome as e:
        raise Refusal(400, str(e)) from None

    def run() -> bool:
        with ctx.data.cursor() as con:
            present = con.execute("SELECT count(*) FROM positions WHERE siren = ? AND departement = ?",
                                  [siren, dept]).fetchone()[0]
        if not present:
            return False
        outcomes.record(ctx.engine, user=user.id, departement=dept, liste=wl.key, siren=siren, outcome=outcome)
        return True

    if not await run_in_threadpool(run):
        raise Refusal(403, "Cette entreprise n'a pas de position dans ce département.")
    back = {k: form[k] for k in ("tri", "ordre", "page") if form.get(k) and re.fullmatch(r"[a-z_0-9]{1,40}", form[k])}
    target = f"/departements/{dept}/listes/{wl.key}" + (f"?{urlencode(back)}" if back else "")
    return RedirectResponse(target, status_code=303), f"{dept}/{wl.key}/{siren}"


@_guarded("ACCES")
async def suivi(request: Request, user: User) -> tuple[Response, str]:
    ctx = _ctx(request)

    def run():
        usage = audit.usage_by_month(ctx.engine)
        summary = outcomes.summary(ctx.engine)
        if not user.national:
            usage = usage[usage["departement"].isin(user.departements)]
            summary = summary[summary["departement"].isin(user.departements)]
        return usage.to_dict("records"), summary.to_dict("records")

    usage, summary = await run_in_threadpool(run)
    return _render(request, "suivi.html", user=user, usage=usage, synthese=summary, listes=worklists.LISTS,
                   ), "/suivi"


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
    data = data if data is not None else PublishedData(settings.publication)
    static = str(importlib.resources.files(PACKAGE) / "static")
    routes = [
        Route("/", home),
        Route("/recherche", recherche),
        Route("/entreprises/{siren}", entreprise),
        Route("/departements/{departement}", departement),
        Route("/departements/{departement}/listes/{liste}", liste),
        Route("/departements/{departement}/listes/{liste}/export.csv", export),
        Route("/departements/{departement}/listes/{liste}/resultats", resultat, methods=["POST"]),
        Route("/suivi", suivi),
        Route("/static/plotly.min.js", _plotly),
        Route("/static/rapports.css", _css),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.ctx = Context(settings, data, engine, _templates())
    return HttpGuard(app, settings, engine)

"""What every page shares: the request context, identity and rights checks, rendering, and the audited guard.

Each data route follows the same path (`guarded`): identity from the proxy's headers (none: 401), rights
(none for this company or department: 403), malformed request (400), then the page (200) — and one audit
row whatever the outcome, errors included. Pages are rendered on the server (Jinja2, autoescaped).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from onevision_dagster.app import audit, company, csrf, freshness, offsetting
from onevision_dagster.app.identity import User, user_from_headers
from onevision_dagster.app.reader import NoPublication, PublishedData
from onevision_dagster.app.settings import AppSettings
from onevision_dagster.contract.departements import is_departement
from onevision_dagster.ingest.origin import SYNTHETIC_NOTICE, synthetic_data
from onevision_dagster.reports import legal
from onevision_dagster.reports.formatting import format_date, format_euros, format_nombre
from onevision_dagster.reports.labels import (
    CATEGORIES_JURIDIQUES,
    ETAPE_LABELS,
    NON_POSITIONNEE_LABELS,
    PROCEDURES,
    STATUTS,
    source_label,
)

log = logging.getLogger("onevision.app")

PACKAGE = "onevision_dagster.app"


class Refusal(Exception):
    """An answer other than 200, with a French sentence for the agent."""

    def __init__(self, status: int, message: str, objet: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.objet = objet  # what was targeted, when the audit should name more than the page (a form's SIREN)


@dataclass
class Context:
    settings: AppSettings
    data: PublishedData
    engine: sa.Engine
    templates: Jinja2Templates


def templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(euros=format_euros, date=format_date, nombre=format_nombre, heure_paris=paris_time)
    env.globals.update(figures=company.FIGURES, procedures=PROCEDURES, statuts=STATUTS, etapes=ETAPE_LABELS,
                       source_label=source_label, base_legale=offsetting.LEGAL_BASIS, totaux=company.TOTALS,
                       categorie_juridique=categorie_juridique, etats_declaration=legal.ETATS_DECLARATION,
                       etats_courts=legal.ETATS_DECLARATION_COURTS, services_declarants=legal.SERVICES_DECLARANTS,
                       declarations_base_legale=legal.DECLARATIONS_BASE_LEGALE, rejets_aide=legal.REJETS_AIDE,
                       compensation_anterieure=legal.COMPENSATION_ANTERIEURE,
                       compensation_anterieure_detail=legal.COMPENSATION_ANTERIEURE_DETAIL,
                       suspension_label=legal.suspension_label, motifs_non_positionnees=NON_POSITIONNEE_LABELS,
                       avis_synthetique=SYNTHETIC_NOTICE)
    env.globals["urlencode"] = lambda params: urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return Jinja2Templates(env=env)


def paris_time(moment: dt.datetime | None) -> str:
    """A stored UTC time (naive) as agents read it: Paris time, « 06/12/2026 à 04:05 »."""
    if moment is None:
        return ""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(freshness.PARIS).strftime("%d/%m/%Y à %H:%M")


def categorie_juridique(code: str | None) -> str:
    if not code:
        return "—"
    label = CATEGORIES_JURIDIQUES.get(code[:1])
    return f"{code} — {label}" if label else code


def _freshness(context: Context, user: User | None) -> tuple[list[freshness.Freshness], str | None, bool]:
    """The as-of date of each department the user may see (every page says it, issue 17 point 8), and whether
    the figures are synthetic (demo data say so, point 9)."""
    if user is None:
        return [], None, False
    try:
        with context.data.cursor() as con:
            dates = freshness.per_departement(con)
            published = freshness.published_at(con)
            synthetic = synthetic_data(con, schema="main")
    except NoPublication:
        return [], None, False
    flagged = freshness.flag(dates, context.settings.freshness_days)
    return [f for f in flagged if user.may_see_departement(f.departement)], published, synthetic


def ctx(request: Request) -> Context:
    return request.app.state.ctx


def current_user(request: Request) -> User | None:
    s = ctx(request).settings
    return user_from_headers(request.headers, s.user_header, s.groups_header)


def audit_request(request: Request, user: User | None, action: str, objet: str, status: int) -> None:
    audit.record(ctx(request).engine, user=user.id if user else None,
                 departements=user.audit_scope() if user else None, action=action, objet=objet, status=status)


def require_user(user: User | None) -> User:
    if user is None:
        raise Refusal(401, "Identité absente : connectez-vous par le portail de l'administration.")
    if not user.has_rights:
        raise Refusal(403, "Vos groupes ne vous donnent accès à aucun département de One Vision.")
    return user


def require_departement(user: User, departement: str) -> None:
    if not is_departement(departement):
        raise Refusal(400, f"Code département inconnu : « {departement} ».")
    if not user.may_see_departement(departement):
        raise Refusal(403, f"Vos groupes ne vous donnent pas accès au département {departement}.")


def _nonce(request: Request) -> tuple[str, bool]:
    nonce = request.cookies.get(csrf.COOKIE)
    return (nonce, False) if csrf.valid_nonce(nonce) else (csrf.new_nonce(), True)


def render(request: Request, name: str, status: int = 200, user: User | None = None, **values: Any) -> Response:
    context = ctx(request)
    nonce, fresh = _nonce(request)
    values.setdefault("message", None)
    values.setdefault("synthetique", False)
    if "fraicheur" not in values:
        values["fraicheur"], values["fraicheur_publication"], values["synthetique"] = _freshness(context, user)
    response = context.templates.TemplateResponse(request, name, {
        "user": user, "settings": context.settings, "jeton": csrf.token(context.settings.signing_key, nonce, user.id)
        if user else "", "operateur": bool(user and context.settings.operators_group in user.groups), **values},
        status_code=status)
    if fresh:
        response.set_cookie(csrf.COOKIE, nonce, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
    return response


TITLES = {400: "Demande invalide", 401: "Identité absente", 403: "Accès refusé", 404: "Introuvable",
          500: "Erreur interne", 503: "Données indisponibles"}


def refusal_page(request: Request, user: User | None, refusal: Refusal) -> Response:
    return render(request, "erreur.html", refusal.status, user if refusal.status != 401 else None,
                   titre=TITLES.get(refusal.status, "Erreur"), message=refusal.message)


def guarded(action: str):
    """Runs a handler with identity, rights and audit; the handler returns (response, audited object)."""

    def wrap(handler):
        async def endpoint(request: Request) -> Response:
            user = current_user(request)
            objet = _default_object(request, action)
            try:
                response, objet = await handler(request, require_user(user))
                status = response.status_code
            except Refusal as refusal:
                response, status = refusal_page(request, user, refusal), refusal.status
                objet = refusal.objet or objet
            except NoPublication as e:
                response, status = refusal_page(request, user, Refusal(503, str(e))), 503
            except Exception:  # noqa: BLE001 - answered, audited and logged without the query string
                log.exception("erreur sur %s %s", request.method, request.url.path)
                response = refusal_page(request, user, Refusal(500, "Erreur interne : l'incident est journalisé."))
                status = 500
            await run_in_threadpool(audit_request, request, user, action, objet, status)
            return response

        return endpoint

    return wrap


def _default_object(request: Request, action: str) -> str:
    if action == "RECHERCHE":
        return request.query_params.get("q", "")
    if action in ("CONSULTATION_ENTREPRISE", "DOCUMENT"):
        return request.path_params.get("siren", "")
    dept, key = request.path_params.get("departement", ""), request.path_params.get("liste")
    return f"{dept}/{key}" if key else dept


# ------------------------------------------------------------------ routes


def int_param(text: str | None, default: int = 1) -> int:
    try:
        return max(1, min(int(text or default), 100_000))
    except ValueError:
        return default


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """A posted form, bounded: refused when sent from another site, larger than `max_bytes` or not URL-encoded."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Refusal(400, "Formulaire refusé : envoyé depuis un autre site.")
    body = await request.body()
    if len(body) > max_bytes or not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"):
        raise Refusal(400, "Formulaire illisible.")
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def require_csrf(request: Request, user: User, form: dict[str, str], target: str | None) -> None:
    """The form's token must be this user's, bound to this browser's cookie; `target` is what the refusal audits."""
    if not csrf.check(ctx(request).settings.signing_key, request.cookies.get(csrf.COOKIE), user.id,
                      form.get(csrf.FIELD)):
        raise Refusal(400, "Formulaire refusé : jeton de sécurité absent ou périmé. Rechargez la page et "
                      "recommencez.", target)

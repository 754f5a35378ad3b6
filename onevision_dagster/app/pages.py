"""Home, search, company page and the experiment's follow-up page."""

from __future__ import annotations

import json
import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from onevision_dagster.app import audit, company, drafted, outcomes, rights, worklists
from onevision_dagster.app.identity import User
from onevision_dagster.app.reader import NoPublication
from onevision_dagster.app.rendering import (
    Refusal,
    audit_request,
    ctx,
    current_user,
    guarded,
    int_param,
    refusal_page,
    render,
)
from onevision_dagster.app.search import search
from onevision_dagster.documents import TITLES

_SIREN = re.compile(r"\d{9}")


async def home(request: Request) -> Response:
    user = current_user(request)
    if user is None:
        refusal = Refusal(401, "Identité absente : connectez-vous par le portail de l'administration.")
        await run_in_threadpool(audit_request, request, None, "ACCES", "/", 401)
        return refusal_page(request, None, refusal)

    def departements() -> list[str]:
        try:
            with ctx(request).data.cursor() as con:
                present = [r[0] for r in con.execute(
                    "SELECT DISTINCT departement FROM positions ORDER BY departement").fetchall()]
        except NoPublication:
            return list(user.departements) if not user.national else []
        return [d for d in present if user.may_see_departement(d)]

    return render(request, "accueil.html", user=user, departements=await run_in_threadpool(departements))


@guarded("RECHERCHE")
async def recherche(request: Request, user: User) -> tuple[Response, str]:
    q = request.query_params.get("q", "")
    page = int_param(request.query_params.get("page"))

    def run():
        with ctx(request).data.cursor() as con:
            return search(con, user, q, page, ctx(request).settings.page_size)

    result = await run_in_threadpool(run)
    if result.query.kind == "siren" and result.total == 1:  # a SIREN, SIRET or VAT number opens the company
        return RedirectResponse(f"/entreprises/{result.rows[0]['siren']}", status_code=303), q
    status = 400 if result.query.kind == "invalide" else 200
    return render(request, "recherche.html", status, user=user, resultat=result, q=q), q


@guarded("CONSULTATION_ENTREPRISE")
async def entreprise(request: Request, user: User) -> tuple[Response, str]:
    siren = request.path_params["siren"]
    if not _SIREN.fullmatch(siren):
        raise Refusal(400, "Adresse invalide : un SIREN a 9 chiffres.")
    return await company_response(request, user, siren), siren


async def company_response(request: Request, user: User, siren: str, status: int = 200,
                           document_refus: str | None = None) -> Response:
    """The company page (rights checked), with the documents drafted for it in the user's departments and the
    buttons to draft them; `document_refus`: a document's refusal to show at the top of its section."""
    def run():
        with ctx(request).data.cursor() as con:
            if not rights.may_open(con, user, siren):
                return None, []
            page = company.load(con, siren)
        done = drafted.for_company(ctx(request).engine, siren, None if user.national else user.departements)
        return page, done

    page, documents = await run_in_threadpool(run)
    if page is None:
        if user.national:
            raise Refusal(404, f"Aucune position pour le SIREN {siren}.")
        raise Refusal(403, "Cette entreprise n'a pas de position dans vos départements : sa page ne vous est "
                      "pas ouverte.")
    figure = _company_figure(page)
    boutons = [p["departement"] for p in page.departements if user.may_see_departement(p["departement"])]
    return render(request, "entreprise.html", status, user=user, page=page, figure=figure, documents=documents,
                  documents_departements=boutons, documents_titres=TITLES, document_refus=document_refus)


def _company_figure(page: company.CompanyPage) -> str:
    """Plotly figure (JSON in a data attribute, drawn by static/app.js): debts, credits, offsettable."""
    labels = [f"Département {p['departement']}" for p in page.departements]
    series = [("Dettes échues", "total_dettes", "#c9191e"),
              ("Créances certaines et dues", "total_creances", "#18753c"),
              ("Montant compensable", "montant_compensable", "#000091")]
    data = [{"type": "bar", "name": name, "x": labels, "y": [float(p[col]) for p in page.departements],
             "marker": {"color": color}, "hovertemplate": "%{y:,.2f} €<extra>" + name + "</extra>"}
            for name, col, color in series]
    layout = {"barmode": "group", "separators": ", ", "height": 320, "margin": {"l": 70, "r": 20, "t": 20, "b": 40},
              "yaxis": {"title": {"text": "euros"}}, "legend": {"orientation": "h"}}
    return json.dumps({"data": data, "layout": layout}, ensure_ascii=False)


@guarded("ACCES")
async def suivi(request: Request, user: User) -> tuple[Response, str]:
    context = ctx(request)

    def run():
        usage = audit.usage_by_month(context.engine)
        summary = outcomes.summary(context.engine)
        if not user.national:
            usage = usage[usage["departement"].isin(user.departements)]
            summary = summary[summary["departement"].isin(user.departements)]
        return usage.to_dict("records"), summary.to_dict("records")

    usage, summary = await run_in_threadpool(run)
    return render(request, "suivi.html", user=user, usage=usage, synthese=summary, listes=worklists.LISTS,
                   ), "/suivi"



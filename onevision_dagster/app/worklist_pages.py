"""A department's worklists: overview, list page, CSV export, and the outcome form (POST, CSRF-checked)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from onevision_dagster.app import dashboards, drafted, outcomes, worklists
from onevision_dagster.app.identity import User
from onevision_dagster.app.rendering import (
    Refusal,
    ctx,
    guarded,
    int_param,
    paris_time,
    read_form,
    render,
    require_csrf,
    require_departement,
)
from onevision_dagster.documents import TITLES
from onevision_dagster.reports.exports import write_agent_csv

_SIREN = re.compile(r"\d{9}")
EXPORT_OUTCOME_HEADERS = {"suite": "Suite donnée", "motif": "Motif", "montant_obtenu": "Montant obtenu",
                          "commentaire": "Commentaire", "enregistre_par": "Enregistrée par",
                          "enregistre_le": "Enregistrée le (heure de Paris)",
                          "document": "Notification envoyée (document n°)"}
MAX_FORM_BYTES = 8192


def _worklist(key: str) -> worklists.WorkList:
    if key not in worklists.LISTS:
        raise Refusal(400, f"Liste de travail inconnue : « {key} ».")
    return worklists.LISTS[key]


@guarded("CONSULTATION_LISTE")
async def departement(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    require_departement(user, dept)

    def run():
        with ctx(request).data.cursor() as con:
            counts = worklists.counts(con, dept)
            unplaced = con.execute("""SELECT motif, source, count(*) AS lignes FROM non_positionnees
                                      WHERE departement = ? GROUP BY ALL ORDER BY motif, source""", [dept]).fetchall()
            return counts, unplaced

    counts, unplaced = await run_in_threadpool(run)
    boards = await run_in_threadpool(dashboards.available, ctx(request).settings.reports, user, dept)
    return render(request, "departement.html", user=user, departement=dept, listes=worklists.LISTS,
                   counts=counts, non_positionnees=unplaced, tableaux=boards), dept


def _list_params(request: Request) -> tuple[str | None, bool | None, int]:
    sort = request.query_params.get("tri")
    order = request.query_params.get("ordre")
    descending = None if order not in ("asc", "desc") else order == "desc"
    return sort, descending, int_param(request.query_params.get("page"))


@guarded("CONSULTATION_LISTE")
async def liste(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    sort, descending, number = _list_params(request)
    return await _list_page(request, user, dept, wl, sort, descending, number), f"{dept}/{wl.key}"


async def _list_page(request: Request, user: User, dept: str, wl: worklists.WorkList, sort: str | None,
                     descending: bool | None, number: int, refus: dict | None = None, status: int = 200) -> Response:
    def run():
        with ctx(request).data.cursor() as con:
            result = worklists.page(con, wl, dept, sort, descending, number)
        sirens = [r["siren"] for r in result.rows]
        done = outcomes.latest_for(ctx(request).engine, dept, wl.key, sirens)
        sent = drafted.notifications(ctx(request).engine, dept, sirens) if wl.key == "compensations" else {}
        return result, done, sent

    result, done, sent = await run_in_threadpool(run)
    return render(request, "liste.html", status, user=user, departement=dept, liste=result, resultats=done,
                  motifs=outcomes.MOTIFS, choix=outcomes.RESULTATS, refus=refus, notifications=sent,
                  document_liste=worklists.LIST_DOCUMENTS.get(wl.key), documents_titres=TITLES,
                  libelle_document=drafted.label, lignes_export=worklists.LINE_EXPORTS)


@guarded("EXPORT_LISTE")
async def export(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    sort, descending, _ = _list_params(request)

    def run() -> Path:
        with ctx(request).data.cursor() as con:
            frame = worklists.frame(con, wl, dept, sort, descending)
        done = outcomes.latest_for(ctx(request).engine, dept, wl.key)
        frame["suite"] = [outcomes.RESULTATS.get(done[s]["resultat"]) if s in done else None for s in frame["siren"]]
        frame["motif"] = [outcomes.MOTIFS.get(done[s]["motif"]) if s in done and done[s]["motif"] else None
                          for s in frame["siren"]]
        frame["montant_obtenu"] = [done[s]["montant_obtenu"] if s in done else None for s in frame["siren"]]
        frame["commentaire"] = [done[s].get("commentaire") if s in done else None for s in frame["siren"]]
        frame["enregistre_par"] = [done[s]["utilisateur"] if s in done else None for s in frame["siren"]]
        frame["enregistre_le"] = [paris_time(done[s]["horodatage"]) if s in done else None for s in frame["siren"]]
        if wl.key == "compensations":  # the notification sent, when the outcome points to one
            frame["document"] = [str(done[s]["document"]) if s in done and done[s].get("document") else None
                                 for s in frame["siren"]]
        # French headers: the list's own column labels, then who recorded the outcome and when (Paris time)
        headers = {c.name: c.label for c in wl.columns} | EXPORT_OUTCOME_HEADERS
        return _csv_file(frame.rename(columns=headers), date_columns=[headers[c] for c in wl.date_columns],
                         money_columns=[headers[c] for c in (*wl.money_columns, "montant_obtenu")])

    path = await run_in_threadpool(run)
    return _csv_response(path, f"{wl.key}_{dept}.csv"), f"{dept}/{wl.key}"


@guarded("EXPORT_LISTE")
async def export_lignes(request: Request, user: User) -> tuple[Response, str]:
    """One row per line of the list's companies (the suspended lines and the reason of each), for the lists
    that offer it (`worklists.LINE_EXPORTS`)."""
    dept = request.path_params["departement"]
    require_departement(user, dept)
    key = request.path_params["liste"]
    if key not in worklists.LINE_EXPORTS:
        raise Refusal(404, "Cette liste n'a pas d'export par ligne.")
    lines = worklists.LINE_EXPORTS[key]

    def run() -> Path:
        with ctx(request).data.cursor() as con:
            frame = worklists.frame(con, lines, dept)
        headers = {c.name: c.label for c in lines.columns}
        return _csv_file(frame.rename(columns=headers), date_columns=[headers[c] for c in lines.date_columns],
                         money_columns=[headers[c] for c in lines.money_columns])

    path = await run_in_threadpool(run)
    return _csv_response(path, f"{lines.key}_{dept}.csv"), f"{dept}/{key}/lignes"


def _csv_file(frame: pd.DataFrame, date_columns: list[str], money_columns: list[str]) -> Path:
    """The agents' CSV (`write_agent_csv`: BOM, `;`, formulas neutralised) in a temporary file."""
    fd, name = tempfile.mkstemp(prefix="onevision-export-", suffix=".csv")
    os.close(fd)
    write_agent_csv(frame, name, date_columns=date_columns, money_columns=money_columns)
    return Path(name)


def _csv_response(path: Path, filename: str) -> Response:
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=filename,
                        background=BackgroundTask(path.unlink, missing_ok=True))


@guarded("RESULTAT")
async def resultat(request: Request, user: User) -> tuple[Response, str]:
    dept = request.path_params["departement"]
    require_departement(user, dept)
    wl = _worklist(request.path_params["liste"])
    form = await read_form(request, MAX_FORM_BYTES)
    context = ctx(request)
    siren = form.get("siren", "")
    require_csrf(request, user, form, f"{dept}/{wl.key}/{siren}" if _SIREN.fullmatch(siren) else None)
    if not _SIREN.fullmatch(siren):
        raise Refusal(400, "SIREN invalide dans le formulaire.")
    back = {k: form[k] for k in ("tri", "ordre", "page") if form.get(k) and re.fullmatch(r"[a-z_0-9]{1,40}", form[k])}

    def run() -> None:  # checked against the published list, then recorded; a refusal is answered in the form
        outcome = outcomes.parse_outcome(form.get("resultat", ""), form.get("motif", ""), form.get("montant", ""),
                                         form.get("commentaire", ""), form.get("document", ""))
        with context.data.cursor() as con:
            outcomes.check_target(con, wl, dept, siren, outcome)
        outcomes.check_document(context.engine, wl, dept, siren, outcome)
        outcomes.record(context.engine, user=user.id, departement=dept, liste=wl.key, siren=siren, outcome=outcome)

    try:
        await run_in_threadpool(run)
    except outcomes.InvalidOutcome as e:
        refus = {"siren": siren, "message": str(e), **{k: form.get(k, "") for k in ("resultat", "motif", "montant",
                                                                                   "commentaire", "document")}}
        descending = {"asc": False, "desc": True}.get(back.get("ordre", ""))
        page = await _list_page(request, user, dept, wl, back.get("tri"), descending, int_param(back.get("page")),
                                refus, 403 if isinstance(e, outcomes.OutcomeRefused) else 400)
        return page, f"{dept}/{wl.key}/{siren}"
    target = f"/departements/{dept}/listes/{wl.key}" + (f"?{urlencode(back)}" if back else "")
    return RedirectResponse(target, status_code=303), f"{dept}/{wl.key}/{siren}"



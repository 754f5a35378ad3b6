"""Drafting a document from the company page or a worklist (issue 18): a POST with the CSRF token, audited.

`POST /entreprises/{siren}/documents` with `departement`, `document` (notification, declaration, satd), `format`
(odt, pdf) and, from a worklist, `liste`. The agent must hold the department (checked here, on the server, like
every route: `require_departement`) and the company must be visible to them (`rights.may_open`). The answer is the
file (`Content-Disposition: attachment`); a refusal (`DocumentRefused`: offsetting blocked, procedure, nothing to
pursue...) is answered on the page it came from, in the sentence the documents package wrote, with status 409.
Either way one audit row `DOCUMENT` names the company, the department, the document and its amounts, or the
refusal's sentence (`drafted.objet`).
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from onevision_dagster.app import drafted, rights, worklists
from onevision_dagster.app.identity import User
from onevision_dagster.app.rendering import Refusal, ctx, guarded, read_form, require_csrf, require_departement
from onevision_dagster.contract.departements import is_departement
from onevision_dagster.documents import FORMATS, KINDS, MEDIA_TYPES, ConversionFailed, DocumentRefused, draft

_SIREN = re.compile(r"\d{9}")
MAX_FORM_BYTES = 4096
LIST_DOCUMENTS = worklists.LIST_DOCUMENTS
REFUSED = 409


@guarded("DOCUMENT")
async def rediger(request: Request, user: User) -> tuple[Response, str]:
    siren = request.path_params["siren"]
    if not _SIREN.fullmatch(siren):
        raise Refusal(400, "Adresse invalide : un SIREN a 9 chiffres.")
    form = await read_form(request, MAX_FORM_BYTES)
    context = ctx(request)
    kind, fmt, dept = form.get("document", ""), form.get("format", ""), form.get("departement", "")
    require_csrf(request, user, form, siren)
    if kind not in KINDS or fmt not in FORMATS:
        raise Refusal(400, "Document ou format inconnu.", siren)
    try:
        require_departement(user, dept)
    except Refusal as refusal:  # audited with what was targeted
        refusal.objet = drafted.objet(siren, dept, kind, fmt) if is_departement(dept) else siren
        raise
    liste = form.get("liste") if LIST_DOCUMENTS.get(form.get("liste", "")) == kind else None

    def run():
        with context.data.cursor() as con:
            if not rights.may_open(con, user, siren):
                return None
            return draft(con, kind, siren, dept, fmt, today=drafted.today_paris())

    try:
        result = await run_in_threadpool(run)
    except (DocumentRefused, ConversionFailed) as e:
        page = await _refused_page(request, user, siren, dept, liste, str(e))
        return page, drafted.objet(siren, dept, kind, fmt, refus=str(e))
    if result is None:
        raise Refusal(403, "Cette entreprise n'a pas de position dans vos départements : aucun document ne peut "
                      "être préparé.", drafted.objet(siren, dept, kind, fmt))
    filename, content, summary = result
    response = Response(content, media_type=MEDIA_TYPES[fmt], headers={
        "content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})
    return response, drafted.objet(siren, dept, kind, fmt, summary)


async def _refused_page(request: Request, user: User, siren: str, dept: str, liste: str | None,
                        message: str) -> Response:
    """The page the button was on, with the refusal's sentence (status 409)."""
    if liste is not None:
        from onevision_dagster.app.worklist_pages import _list_page

        return await _list_page(request, user, dept, worklists.LISTS[liste], None, None, 1,
                                {"siren": siren, "message": message, "document": True}, REFUSED)
    from onevision_dagster.app.pages import company_response

    return await company_response(request, user, siren, REFUSED, document_refus=message)

"""Fills an OpenDocument template with relatorio and, for PDF, converts the result with LibreOffice headless.

The PDF is the .odt converted, so both formats always say the same thing. LibreOffice (`soffice`, Debian package
libreoffice-writer-nogui) runs with a profile of its own in a temporary folder, so several conversions can run at
once and none touches a user's profile.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from relatorio.templates.opendocument import Template

from onevision_dagster.errors import OneVisionError

CONVERSION_TIMEOUT_S = float(os.environ.get("ONEVISION_SOFFICE_TIMEOUT", "120"))
FORMATS = ("odt", "pdf")


class ConversionFailed(OneVisionError):
    """The PDF could not be produced (LibreOffice missing, failing or too slow)."""


def template_path(kind: str) -> Path:
    return Path(str(resources.files("onevision_dagster.documents") / "templates" / f"{kind}.odt"))


def render_odt(kind: str, context: dict[str, Any]) -> bytes:
    """The template `templates/<kind>.odt` filled with `context` (values are escaped by Genshi)."""
    template = Template(source="", filepath=str(template_path(kind)))
    return template.generate(**context).render().getvalue()


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        raise ConversionFailed("Conversion en PDF impossible : LibreOffice (commande soffice) n'est pas installé "
                               "sur ce serveur ; le document reste disponible au format .odt.")
    return found


def odt_to_pdf(odt: bytes) -> bytes:
    """Converts an .odt to PDF with LibreOffice headless, in a private temporary folder and profile."""
    binary = soffice()
    with tempfile.TemporaryDirectory(prefix="onevision-pdf-") as folder:
        work = Path(folder)
        source = work / "document.odt"
        source.write_bytes(odt)
        command = [binary, f"-env:UserInstallation={(work / 'profil').as_uri()}", "--headless", "--norestore",
                   "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(work), str(source)]
        try:
            done = subprocess.run(command, capture_output=True, timeout=CONVERSION_TIMEOUT_S, check=False,
                                  env={**os.environ, "HOME": folder})
        except subprocess.TimeoutExpired:
            raise ConversionFailed(f"Conversion en PDF interrompue après {CONVERSION_TIMEOUT_S:.0f} s (LibreOffice "
                                   "ne répond pas) ; le document reste disponible au format .odt.") from None
        pdf = work / "document.pdf"
        if done.returncode != 0 or not pdf.is_file():
            detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
            raise ConversionFailed("Conversion en PDF échouée (LibreOffice" + (f" : {detail[-1]}" if detail else "")
                                   + ") ; le document reste disponible au format .odt.")
        return pdf.read_bytes()

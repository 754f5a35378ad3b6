#!/usr/bin/env bash
# Installs everything the tests need (Python packages; Chromium, PostgreSQL, nginx, LibreOffice from Debian when root)
# and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)  # e2e of the agents' application
  command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)  # documents in PDF (issue 18)
  command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)  # documents: PDF rendered to PNG (docs/img)
  [ -d /usr/share/fonts/truetype/liberation ] || missing+=(fonts-liberation)  # the documents' font
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
bash scripts/setup.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"

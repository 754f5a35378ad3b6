"""Settings of the agents' application, read once from the environment (docs/app.md lists them).

The identity headers are only trustworthy when they come from the reverse proxy that runs the single
sign-on. On the loopback interface only a local proxy can reach the application; anywhere else, a shared
secret proves that a request went through the proxy, so the application refuses to start without one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from onevision_dagster.app.audit import key_from_env as audit_key_from_env
from onevision_dagster.app.oidc import VARIABLES as OIDC_VARIABLES
from onevision_dagster.app.oidc import OidcSettings
from onevision_dagster.app.oidc import from_env as oidc_from_env
from onevision_dagster.errors import OneVisionError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
DEFAULT_WAREHOUSE = "data/onevision.duckdb"
DEFAULT_PORT = 8766
DATABASE_FILENAME = "onevision-app.sqlite"
PUBLICATION_DIRNAME = "publication"
DEFAULT_REPORTS = "data/rapports"

ENV_VARIABLES: dict[str, str] = {
    "ONEVISION_APP_HOST": "adresse d'écoute (défaut 127.0.0.1)",
    "ONEVISION_APP_PORT": "port d'écoute (défaut 8766)",
    "ONEVISION_APP_USER_HEADER": "en-tête portant l'identifiant de l'agent (défaut X-Remote-User)",
    "ONEVISION_APP_GROUPS_HEADER": "en-tête portant ses groupes, séparés par des virgules (défaut X-Remote-Groups)",
    "ONEVISION_PROXY_SECRET": "secret partagé avec le proxy ; obligatoire hors de la boucle locale",
    "ONEVISION_APP_SECRET_HEADER": "en-tête portant ce secret (défaut X-OneVision-Proxy-Secret)",
    "ONEVISION_APP_SECRET": "clé de signature des jetons CSRF (défaut : tirée au hasard à chaque démarrage)",
    "ONEVISION_APP_DATABASE_URL": "base de l'audit et des suites données (défaut : SQLite à côté de l'entrepôt)",
    "ONEVISION_APP_DAGSTER_URL": "adresse de l'interface Dagster pour les liens des opérateurs",
    "ONEVISION_APP_OPERATORS_GROUP": "groupe des opérateurs, qui voient ces liens (défaut onevision-operateurs)",
    "ONEVISION_PUBLICATION": "dossier des copies publiées de l'entrepôt (défaut <dossier de l'entrepôt>/publication)",
    "ONEVISION_WAREHOUSE": "entrepôt DuckDB (défaut data/onevision.duckdb)",
    "ONEVISION_REPORTS": "dossier des tableaux de bord écrits par la chaîne, servis sous /rapports/ avec les droits "
                         "et l'audit de l'application (défaut data/rapports)",
    "ONEVISION_APP_DELAI_ENTETES": "secondes laissées à un client pour envoyer ses en-têtes (défaut 10)",
    "ONEVISION_APP_MAX_OCTETS_ENTETES": "taille maximale des en-têtes d'une requête, en octets (défaut 16384)",
    "ONEVISION_APP_MAX_OCTETS_CORPS": "taille maximale du corps d'une requête, en octets (défaut 65536)",
    "ONEVISION_APP_MAX_CONNEXIONS_CLIENT": "connexions ouvertes par adresse (défaut 64 ; le proxy compte pour une)",
    "ONEVISION_APP_MAX_CONNEXIONS": "connexions simultanées en tout (défaut 256)",
    "ONEVISION_AUDIT_CLE": "clé du chaînage de l'audit, 32 caractères au moins ; obligatoire hors --dev",
    "ONEVISION_AUDIT_CLE_FICHIER": "fichier (0600) contenant cette clé, à la place de ONEVISION_AUDIT_CLE",
    "ONEVISION_AUDIT_SI_ALTERE": "audit altéré au démarrage : refuser (défaut, l'application ne sert pas) ou alerter",
    "ONEVISION_FRESHNESS_DAYS": "âge en jours au-delà duquel les données d'un département sont signalées anciennes "
                                "(défaut 7)",
}
"""Every variable the application reads, with its meaning in French (printed by docs and tests)."""
ENV_VARIABLES.update(OIDC_VARIABLES)  # sign-in by the application itself (app/oidc.py)


def publication_dir(warehouse: str | Path, env: Mapping[str, str] | None = None) -> Path:
    """Where the pipeline publishes read-only copies and where the application reads them."""
    env = os.environ if env is None else env
    configured = env.get("ONEVISION_PUBLICATION", "").strip()
    return Path(configured) if configured else Path(warehouse).parent / PUBLICATION_DIRNAME


def default_database_url(warehouse: str | Path) -> str:
    """SQLite file beside the warehouse: the audit outlives any rebuild of the warehouse itself."""
    return "sqlite:///" + str((Path(warehouse).parent / DATABASE_FILENAME).resolve())


@dataclass(frozen=True)
class AppSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    warehouse: Path = Path(DEFAULT_WAREHOUSE)
    publication: Path = Path("data") / PUBLICATION_DIRNAME
    reports: Path = Path(DEFAULT_REPORTS)
    database_url: str = ""
    user_header: str = "X-Remote-User"
    groups_header: str = "X-Remote-Groups"
    proxy_secret: str | None = None
    secret_header: str = "X-OneVision-Proxy-Secret"
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    dagster_url: str | None = None
    operators_group: str = "onevision-operateurs"
    page_size: int = 25
    header_timeout_s: float = 10.0
    max_header_bytes: int = 16384
    max_body_bytes: int = 65536
    max_connections_per_client: int = 64
    max_connections: int = 256
    dev: bool = False
    audit_key: bytes | None = field(default=None, repr=False)
    audit_on_tamper: str = "refuser"
    oidc: OidcSettings | None = field(default=None, repr=False)
    freshness_days: int = 7

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def with_listen(self, host: str | None = None, port: int | None = None) -> AppSettings:
        return replace(self, host=host or self.host, port=self.port if port is None else port)

    def check_listen(self) -> None:
        """Refuses to start without the proxy's shared secret: anywhere (a local process could forge the identity
        headers too) unless `dev` (`onevision app --dev`, a developer's machine, on the loopback only)."""
        if self.oidc is not None:  # the application signs agents in itself and never reads identity headers
            pass
        elif self.loopback and not self.proxy_secret and not self.dev:
            raise OneVisionError(
                "Refus de démarrer sans ONEVISION_PROXY_SECRET : sans ce secret partagé avec le proxy, tout processus "
                "de la machine pourrait se faire passer pour un agent. Définissez-le (le même dans la configuration "
                "du proxy), ou, sur un poste de développeur seulement, lancez `onevision app --dev`."
            )
        if not self.loopback and not self.proxy_secret and self.oidc is None:
            raise OneVisionError(
                f"Refus de démarrer sur {self.host} : hors de la boucle locale, les en-têtes d'identité ne sont "
                "crus que s'ils viennent du proxy ; définissez ONEVISION_PROXY_SECRET (le même secret dans la "
                "configuration du proxy), ou écoutez sur 127.0.0.1."
            )
        if self.proxy_secret is not None and len(self.proxy_secret) < 16:
            raise OneVisionError("ONEVISION_PROXY_SECRET est trop court : 16 caractères au moins.")
        if self.audit_key is None and not self.dev:
            raise OneVisionError(
                "Refus de démarrer sans ONEVISION_AUDIT_CLE (ou ONEVISION_AUDIT_CLE_FICHIER) : sans clé, le chaînage "
                "de l'audit ne prouve rien. Tirez-en une (openssl rand -hex 32), hors du dépôt, ou lancez "
                "`onevision app --dev` sur un poste de développeur."
            )


def _positive(env: Mapping[str, str], name: str, default: float, kind: type = int) -> float:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise OneVisionError(f"{name} doit être un nombre positif, pas « {text} ».")
    return value


def _on_tamper(text: str) -> str:
    if text not in ("refuser", "alerter"):
        raise OneVisionError(f"ONEVISION_AUDIT_SI_ALTERE vaut « refuser » ou « alerter », pas « {text} ».")
    return text


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise OneVisionError(f"ONEVISION_APP_PORT doit être un nombre, pas {text!r}") from None
    if not 0 <= port <= 65535:
        raise OneVisionError(f"ONEVISION_APP_PORT hors limites : {port}")
    return port


def load_settings(env: Mapping[str, str] | None = None) -> AppSettings:
    """Settings from `ONEVISION_APP_*`, `ONEVISION_PROXY_SECRET`, `ONEVISION_WAREHOUSE`, `ONEVISION_PUBLICATION`."""
    env = os.environ if env is None else env

    def get(name: str, default: str) -> str:
        value = env.get(name, "").strip()
        return value or default

    warehouse = Path(get("ONEVISION_WAREHOUSE", DEFAULT_WAREHOUSE))
    secret = env.get("ONEVISION_APP_SECRET", "")
    return AppSettings(
        host=get("ONEVISION_APP_HOST", "127.0.0.1"),
        port=_port(get("ONEVISION_APP_PORT", str(DEFAULT_PORT))),
        warehouse=warehouse,
        publication=publication_dir(warehouse, env),
        reports=Path(get("ONEVISION_REPORTS", DEFAULT_REPORTS)),
        database_url=get("ONEVISION_APP_DATABASE_URL", default_database_url(warehouse)),
        user_header=get("ONEVISION_APP_USER_HEADER", "X-Remote-User"),
        groups_header=get("ONEVISION_APP_GROUPS_HEADER", "X-Remote-Groups"),
        proxy_secret=env.get("ONEVISION_PROXY_SECRET") or None,
        secret_header=get("ONEVISION_APP_SECRET_HEADER", "X-OneVision-Proxy-Secret"),
        signing_key=secret.encode() if secret else secrets.token_bytes(32),
        dagster_url=(get("ONEVISION_APP_DAGSTER_URL", "") or None),
        operators_group=get("ONEVISION_APP_OPERATORS_GROUP", "onevision-operateurs"),
        header_timeout_s=_positive(env, "ONEVISION_APP_DELAI_ENTETES", 10.0, float),
        max_header_bytes=_positive(env, "ONEVISION_APP_MAX_OCTETS_ENTETES", 16384),
        max_body_bytes=_positive(env, "ONEVISION_APP_MAX_OCTETS_CORPS", 65536),
        max_connections_per_client=_positive(env, "ONEVISION_APP_MAX_CONNEXIONS_CLIENT", 64),
        max_connections=_positive(env, "ONEVISION_APP_MAX_CONNEXIONS", 256),
        audit_key=audit_key_from_env(env),
        audit_on_tamper=_on_tamper(get("ONEVISION_AUDIT_SI_ALTERE", "refuser")),
        oidc=oidc_from_env(env),
        freshness_days=_days(get("ONEVISION_FRESHNESS_DAYS", "7")),
    )


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise OneVisionError(f"ONEVISION_FRESHNESS_DAYS doit être un nombre de jours : {text!r}") from None
    if days < 0:
        raise OneVisionError(f"ONEVISION_FRESHNESS_DAYS négatif : {days}")
    return days

"""Identity (rule 5): groups from the proxy's headers grant departments; settings from the environment."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from onevision_dagster.app.identity import user_from_headers
from onevision_dagster.app.settings import ENV_VARIABLES, load_settings
from onevision_dagster.contract.departements import ALL_DEPARTEMENTS
from onevision_dagster.errors import OneVisionError

from .conftest import REPO


def _user(groups: str, user: str = "alice"):
    return user_from_headers({"X-Remote-User": user, "X-Remote-Groups": groups}, "X-Remote-User", "X-Remote-Groups")


def test_department_groups_grant_their_departments() -> None:
    u = _user("onevision-departement-17, onevision-departement-2a,onevision-departement-971")
    assert (u.national, u.departements) == (False, ("17", "2A", "971"))
    assert u.may_see_departement("17") and not u.may_see_departement("91")
    assert u.audit_scope() == "17,2A,971"


def test_national_group_grants_every_department() -> None:
    u = _user("onevision-departement-17,onevision-national")
    assert u.national and u.departements == ALL_DEPARTEMENTS and u.audit_scope() == "national"


def test_other_groups_and_unknown_codes_grant_nothing() -> None:
    u = _user("onevision-operateurs,onevision-departement-99,onevision-departement-,departement-17,"
              "ONEVISION-NATIONAL,onevision-departement-17x")
    assert (u.national, u.departements, u.has_rights) == (False, (), False)
    assert "onevision-operateurs" in u.groups


def test_groups_are_matched_exactly_never_by_their_last_component() -> None:
    """Issue 20, finding 7: the proxy passes a nested group path with its parent (deploy/nginx/onevision_oidc.lua
    drops only a leading slash): `/any-parent/onevision-national` must grant nothing."""
    u = _user("any-parent/onevision-national,autre/onevision-departement-17")
    assert (u.national, u.departements, u.has_rights) == (False, (), False)
    lua = (REPO / "deploy" / "nginx" / "onevision_oidc.lua").read_text(encoding="utf-8")
    assert 'gsub("^/", "", 1)' in lua and 'match("([^/]+)$")' not in lua


def test_no_identity() -> None:
    assert user_from_headers({}, "X-Remote-User", "X-Remote-Groups") is None
    assert _user("onevision-national", user="") is None
    assert _user("onevision-national", user="bad\x00user") is None
    assert _user("onevision-national", user="x" * 201) is None


def test_header_names_are_configurable() -> None:
    settings = load_settings({"ONEVISION_APP_USER_HEADER": "X-Forwarded-User",
                              "ONEVISION_APP_GROUPS_HEADER": "X-Forwarded-Groups"})
    u = user_from_headers({"x-forwarded-user": "bob", "x-forwarded-groups": "onevision-departement-91"},
                          settings.user_header.lower(), settings.groups_header.lower())
    assert (u.id, u.departements) == ("bob", ("91",))


def test_settings_from_the_environment(tmp_path: Path) -> None:
    s = load_settings({"ONEVISION_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert (s.host, s.port, s.loopback) == ("127.0.0.1", 8766, True)
    assert s.publication == tmp_path / "publication"
    assert s.database_url == f"sqlite:///{tmp_path / 'onevision-app.sqlite'}"
    assert s.proxy_secret is None and len(s.signing_key) == 32
    with pytest.raises(OneVisionError, match="Refus de démarrer sans ONEVISION_PROXY_SECRET"):
        s.check_listen()  # issue 20: not even on the loopback, unless --dev
    replace(s, dev=True).check_listen()
    s = load_settings({"ONEVISION_APP_HOST": "10.0.0.5", "ONEVISION_APP_PORT": "9000",
                       "ONEVISION_PROXY_SECRET": "un-secret-assez-long", "ONEVISION_APP_SECRET": "cle",
                       "ONEVISION_PUBLICATION": str(tmp_path / "pub"),
                       "ONEVISION_APP_DATABASE_URL": "postgresql+psycopg2://app@db/onevision",
                       "ONEVISION_AUDIT_CLE": "une-cle-de-chainage-de-32-caracteres-au-moins"})
    assert (s.host, s.port, s.loopback, s.signing_key) == ("10.0.0.5", 9000, False, b"cle")
    assert s.publication == tmp_path / "pub" and s.database_url.startswith("postgresql")
    s.check_listen()
    with pytest.raises(OneVisionError, match="ONEVISION_PROXY_SECRET"):
        load_settings({"ONEVISION_APP_HOST": "0.0.0.0"}).check_listen()
    with pytest.raises(OneVisionError, match="trop court"):
        load_settings({"ONEVISION_APP_HOST": "0.0.0.0", "ONEVISION_PROXY_SECRET": "court"}).check_listen()
    with pytest.raises(OneVisionError, match="ONEVISION_APP_PORT"):
        load_settings({"ONEVISION_APP_PORT": "huit"})


def test_every_setting_is_documented() -> None:
    docs = (REPO / "docs" / "app.md").read_text(encoding="utf-8")
    for name in ENV_VARIABLES:
        assert f"`{name}`" in docs, name

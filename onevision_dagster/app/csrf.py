"""CSRF tokens for the application's forms: a signed double submit, bound to the user.

The browser keeps a random nonce in a cookie (`HttpOnly`, `SameSite=Strict`); every form carries
`HMAC(key, nonce | user)`. A cross-site page can make the browser send the cookie but can neither read it
nor compute the token without the key (`ONEVISION_APP_SECRET`, or a random key drawn at each start: forms
then simply need reloading after a restart), and a token taken from one agent's page is worth nothing for
another agent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "onevision_csrf"
FIELD = "jeton"
_NONCE = re.compile(r"[A-Za-z0-9_-]{20,64}")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def valid_nonce(nonce: str | None) -> bool:
    return bool(nonce) and bool(_NONCE.fullmatch(nonce))


def token(key: bytes, nonce: str, user: str) -> str:
    return hmac.new(key, f"{nonce}\x00{user}".encode(), hashlib.sha256).hexdigest()


def check(key: bytes, nonce: str | None, user: str, submitted: str | None) -> bool:
    if not valid_nonce(nonce) or not submitted:
        return False
    return hmac.compare_digest(token(key, nonce, user), submitted)

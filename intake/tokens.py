"""HMAC-SHA256 tokens of the objection service: links, form nonces, CSRF, ids and codes.

Every value is an HMAC of the installation's intake secret under its own domain label, so a
token of one kind never verifies as another. Nothing here is stored: a link, a form or a
pending non-user submission carries its own signature, and the submission id is derived from
the form's nonce, so a retried or doubled request maps to the same id.

Link token: `v1.<base64url(user_id)>.<expiry unix seconds>.<base64url(hmac)>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

_LINK = b"consentry/intake-link/v1\x00"
_NONCE = b"consentry/intake-nonce/v1\x00"
_CSRF = b"consentry/intake-csrf/v1\x00"
_SUBMISSION = b"consentry/intake-submission/v1\x00"
_CODE = b"consentry/intake-code/v1\x00"
_PENDING = b"consentry/intake-pending/v1\x00"
MAX_USER_ID_CHARS = 200


class TokenError(ValueError):
    """A token that does not verify. `reason` is `forged` (bad shape or signature) or `expired`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def _mac(secret: bytes, domain: bytes, *parts: str) -> bytes:
    # \x1f separates parts: no part may contain it (user ids and nonces are checked for that)
    return hmac.new(secret, domain + "\x1f".join(parts).encode(), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("forged", "not base64url") from None


def _valid_user_id(user_id: str) -> bool:
    return 0 < len(user_id) <= MAX_USER_ID_CHARS and user_id.isprintable() and "\x1f" not in user_id


# ------------------------------------------------------------------------------ links


def mint_link_token(secret: bytes, user_id: str, expires_at: int) -> str:
    """The signed token of a notification link: `user_id`, valid until `expires_at` (unix s)."""
    if not _valid_user_id(user_id):
        raise ValueError(f"user id must be 1–{MAX_USER_ID_CHARS} printable characters")
    uid = _b64(user_id.encode())
    body = f"v1.{uid}.{int(expires_at)}"
    return f"{body}.{_b64(_mac(secret, _LINK, body))}"


def verify_link_token(secret: bytes, token: str, now: float | None = None) -> tuple[str, int]:
    """(user_id, expires_at) of a genuine, unexpired token; `TokenError` otherwise.

    The signature is checked before the expiry, so only a genuine token is ever called expired.
    """
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "v1" or len(token) > 600:
        raise TokenError("forged", "not a v1 link token")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(_unb64(parts[3]), _mac(secret, _LINK, body)):
        raise TokenError("forged", "signature does not match")
    try:
        user_id = _unb64(parts[1]).decode("utf-8")
        expires_at = int(parts[2])
    except (UnicodeDecodeError, ValueError):
        raise TokenError("forged", "malformed fields") from None
    if not _valid_user_id(user_id):
        raise TokenError("forged", "malformed user id")
    if (time.time() if now is None else now) >= expires_at:
        raise TokenError("expired", "link expired")
    return user_id, expires_at


# ------------------------------------------------------------------------------ forms


@dataclass(frozen=True)
class FormNonce:
    """A form's one-time nonce, bound to its subject (`user:<id>` or `nonuser`) and issue time."""

    nonce: str
    issued_at: int
    signature: str

    @property
    def fields(self) -> dict[str, str]:
        return {"nonce": self.nonce, "issued": str(self.issued_at), "nsig": self.signature}


def issue_nonce(secret: bytes, subject: str, now: float | None = None) -> FormNonce:
    nonce = secrets.token_urlsafe(18)
    issued = int(time.time() if now is None else now)
    return FormNonce(nonce, issued, _b64(_mac(secret, _NONCE, subject, nonce, str(issued))))


def verify_nonce(secret: bytes, subject: str, nonce: str, issued: str, signature: str, max_age_s: int,
                 now: float | None = None) -> None:
    """`TokenError` unless the nonce was issued by this service for `subject` within `max_age_s`."""
    if not (0 < len(nonce) <= 64 and nonce.isascii() and nonce.isprintable()) or not issued.isdigit():
        raise TokenError("forged", "malformed nonce")
    expected = _b64(_mac(secret, _NONCE, subject, nonce, issued))
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise TokenError("forged", "nonce signature does not match")
    if (time.time() if now is None else now) - int(issued) > max_age_s:
        raise TokenError("expired", "form expired")


def csrf_token(secret: bytes, session: str, nonce: str) -> str:
    """The CSRF token of one form in one browser session (the session cookie is HttpOnly)."""
    return _b64(_mac(secret, _CSRF, session, nonce))


def csrf_ok(secret: bytes, session: str | None, nonce: str, token: str) -> bool:
    if not session or not token:
        return False
    return hmac.compare_digest(token.encode(), csrf_token(secret, session, nonce).encode())


def submission_id(secret: bytes, nonce: str) -> str:
    """The submission id of a form: a function of its nonce, so every retry gets the same id."""
    return "intake-" + _mac(secret, _SUBMISSION, nonce).hex()[:32]


def confirmation_code(secret: bytes, nonce: str, email: str) -> str:
    """The 6-digit code mailed to a non-user: fixed per form and address, so a resent step
    mails the same code; only the holder of the secret can derive it."""
    value = int.from_bytes(_mac(secret, _CODE, nonce, email.lower())[:8], "big")
    return f"{value % 1_000_000:06d}"


def pending_signature(secret: bytes, nonce: str, payload: str) -> str:
    """Signs a non-user's step-one answers, carried by the confirmation page (not stored)."""
    return _b64(_mac(secret, _PENDING, nonce, payload))


def pending_ok(secret: bytes, nonce: str, payload: str, signature: str) -> bool:
    return hmac.compare_digest(signature.encode(), pending_signature(secret, nonce, payload).encode())


def mail_id(secret: bytes, nonce: str, email: str) -> str:
    """The outbox message id of a form's confirmation mail: one mail per form and address."""
    return "code-" + _mac(secret, _CODE, "mail", nonce, email.lower()).hex()[:32]

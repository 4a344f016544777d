"""The objection service's Starlette app: server-rendered pages, no JavaScript.

Pages: `/u/<token>` (a user, from the notification link: object or withdraw), `/other` then
`/other/confirm` (a non-user: identifiers, then the code mailed to them), `/` (where to go).

Every POST passes, in order: the per-client rate limit (429), the Origin check (403), the
size limit (413), the CSRF token tied to the session cookie and the form's nonce (403), the
nonce's signature and age (400). The submission id is derived from the nonce, and the store
writes each id once, so retries, double submits and concurrent requests all get the same
receipt. No page depends on whether anyone has objected: nothing here reads the ledger or
the landing zone except to return the record of the form being submitted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from intake import i18n, tokens
from intake.limits import AttemptCounter, RateLimiter
from intake.settings import IntakeSettings
from intake.store import ObjectionStore, Outbox, objection_record

TEMPLATES = Path(__file__).with_name("templates")
SESSION_COOKIE = "intake_session"
LANG_COOKIE = "intake_lang"
ACTIONS = ("object", "withdraw")
NONUSER = "nonuser"
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,32}$")
# (name, input type, max length, required): the non-user form's identifier fields (rule 8)
NONUSER_FIELDS: tuple[tuple[str, str, int, bool], ...] = (
    ("full_name", "text", 200, True),
    ("email", "email", 254, True),
    ("phone", "tel", 32, False),
    ("handles", "text", 1500, False),
)
MAX_HANDLES = 20
MAX_HANDLE_CHARS = 64
MAX_FIELDS = 20
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make Chromium send `Origin: null`,
    "Cache-Control": "no-store",
}


class Reject(Exception):
    """Stop a request with an error page: HTTP status and the message key."""

    def __init__(self, status: int, key: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.headers = headers or {}


def create_app(settings: IntakeSettings, clock: Callable[[], float] = time.time) -> Starlette:
    """The service for `settings`; `clock` (unix seconds) lets tests age links and forms."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    css = (TEMPLATES / "style.css").read_text(encoding="utf-8")
    store = ObjectionStore(settings.objections_dir)
    outbox = Outbox(settings.outbox)
    post_limiter = RateLimiter(settings.rate_limit, settings.rate_window_s)
    get_limiter = RateLimiter(settings.rate_limit * 6, settings.rate_window_s)
    mail_limiter = RateLimiter(settings.codes_per_email, 3600)
    attempts = AttemptCounter(settings.code_attempts)
    secret = settings.secret

    # -- plumbing ------------------------------------------------------------------------

    def language(request: Request, form: dict[str, str] | None = None) -> str:
        return i18n.choose(request.query_params.get("lang"), (form or {}).get("lang"),
                           request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))

    def session_of(request: Request) -> tuple[str, bool]:
        current = request.cookies.get(SESSION_COOKIE, "")
        if _SESSION_RE.match(current):
            return current, False
        return secrets.token_urlsafe(32), True

    def render(request: Request, template: str, lang: str, status: int = 200, *,
               session: tuple[str, bool] | None = None, switch_base: str | None = None,
               headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        html = env.get_template(template).render(
            lang=lang, t=i18n.MESSAGES[lang], languages=list(i18n.NAMES.items()),
            switch_base=switch_base or request.url.path, **context)
        response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
        if session and session[1]:
            response.set_cookie(SESSION_COOKIE, session[0], httponly=True, samesite="lax",
                                secure=settings.cookie_secure, path="/")
        if request.query_params.get("lang") in i18n.LANGUAGES:
            response.set_cookie(LANG_COOKIE, request.query_params["lang"], samesite="lax",
                                secure=settings.cookie_secure, path="/", max_age=365 * 86400)
        return response

    def error_page(request: Request, lang: str, status: int, key: str, **kw: Any) -> HTMLResponse:
        return render(request, "error.html", lang, status, message=i18n.MESSAGES[lang][key], **kw)

    def client_key(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    def rate_limited(request: Request, limiter: RateLimiter) -> None:
        key = client_key(request)
        if not limiter.allow(key):
            raise Reject(429, "err_rate", {"Retry-After": str(limiter.retry_after(key))})

    def check_origin(request: Request) -> None:
        """A browser names the page a POST comes from; another site's page is refused."""
        origin = request.headers.get("origin")
        if origin is None:  # not a browser, or one that sends none: the CSRF token still decides
            return
        if origin == "null" or urlsplit(origin).netloc != request.headers.get("host"):
            raise Reject(403, "err_csrf")

    async def read_form(request: Request) -> dict[str, str]:
        """The urlencoded body, at most `max_body_bytes` (checked before and while reading)."""
        limit = settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise Reject(413, "err_size")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise Reject(415, "err_bad_request")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Reject(413, "err_size")
        try:
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                              max_num_fields=MAX_FIELDS, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise Reject(400, "err_bad_request") from None
        if any(len(v) != 1 for v in parsed.values()):  # a field given twice: which one is meant?
            raise Reject(400, "err_bad_request")
        return {k: v[0] for k, v in parsed.items()}

    def form_fields(session: str, nonce: tokens.FormNonce) -> dict[str, str]:
        return {**nonce.fields, "csrf": tokens.csrf_token(secret, session, nonce.nonce)}

    def echo_fields(session: str, form: dict[str, str]) -> dict[str, str]:
        """The same nonce again (a re-shown form keeps its submission id)."""
        return {"nonce": form["nonce"], "issued": form["issued"], "nsig": form["nsig"],
                "csrf": tokens.csrf_token(secret, session, form["nonce"])}

    def verify_form(request: Request, form: dict[str, str], subject: str) -> str:
        """The session of a POST whose CSRF token and nonce verify."""
        session = request.cookies.get(SESSION_COOKIE, "")
        nonce = form.get("nonce", "")
        if not _SESSION_RE.match(session) or not tokens.csrf_ok(secret, session, nonce, form.get("csrf", "")):
            raise Reject(403, "err_csrf")
        try:
            tokens.verify_nonce(secret, subject, nonce, form.get("issued", ""), form.get("nsig", ""),
                                settings.form_max_age_s, now=clock())
        except tokens.TokenError as exc:
            raise Reject(400, "err_form_expired" if exc.reason == "expired" else "err_bad_request") from None
        return session

    def receipt(request: Request, lang: str, record: dict[str, Any], switch_base: str) -> HTMLResponse:
        at = datetime.fromisoformat(str(record["submitted_at"]))
        return render(request, "receipt.html", lang, record=record, switch_base=switch_base,
                      submitted_display=at.strftime("%Y-%m-%d %H:%M:%S UTC"))

    def guarded(handler: Callable[..., Any], limiter: RateLimiter) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                rate_limited(request, limiter)
                if request.method == "POST":
                    check_origin(request)
                return await handler(request)
            except Reject as exc:
                return error_page(request, language(request), exc.status, exc.key, headers=exc.headers)
        return endpoint

    # -- the user flow -------------------------------------------------------------------

    def user_of(request: Request) -> str:
        try:
            user_id, _ = tokens.verify_link_token(secret, request.path_params["token"], now=clock())
        except tokens.TokenError as exc:
            raise Reject(410 if exc.reason == "expired" else 400,
                         "err_expired" if exc.reason == "expired" else "err_forged") from None
        return user_id

    async def user_page(request: Request) -> Response:
        user_id = user_of(request)
        session = session_of(request)
        nonce = tokens.issue_nonce(secret, f"user:{user_id}", now=clock())
        return render(request, "user_form.html", language(request), session=session,
                      form=form_fields(session[0], nonce), values={}, errors={}, action_url=request.url.path)

    async def user_submit(request: Request) -> Response:
        user_id = user_of(request)
        form = await read_form(request)
        lang = language(request, form)
        session = verify_form(request, form, f"user:{user_id}")
        action = form.get("action", "")
        if action not in ACTIONS:
            return render(request, "user_form.html", lang, 400, form=echo_fields(session, form), values={},
                          errors={"action": i18n.MESSAGES[lang]["err_action"]}, action_url=request.url.path)
        record = objection_record(tokens.submission_id(secret, form["nonce"]), action, user_id=user_id)
        stored, _ = store.submit(record)
        return receipt(request, lang, stored, request.url.path)

    # -- the non-user flow ---------------------------------------------------------------

    def validate_nonuser(form: dict[str, str], lang: str) -> tuple[dict[str, Any], dict[str, str]]:
        t = i18n.MESSAGES[lang]
        values: dict[str, Any] = {name: form.get(name, "").strip() for name, *_ in NONUSER_FIELDS}
        values["action"] = form.get("action", "")
        errors: dict[str, str] = {}
        for name, _kind, maxlength, required in NONUSER_FIELDS:
            value = values[name]
            if required and not value:
                errors[name] = t["err_missing"]
            elif len(value) > maxlength:
                errors[name] = t["err_too_long"]
            elif value and not value.isprintable():
                errors[name] = t["err_bad_request"]
        if "email" not in errors and not _EMAIL_RE.match(values["email"]):
            errors["email"] = t["err_email"]
        if "phone" not in errors and values["phone"] and (
                not _PHONE_RE.match(values["phone"]) or sum(ch.isdigit() for ch in values["phone"]) < 5):
            errors["phone"] = t["err_phone"]
        handles = [h for h in re.split(r"[,\s]+", values["handles"]) if h] if "handles" not in errors else []
        if len(handles) > MAX_HANDLES or any(len(h) > MAX_HANDLE_CHARS for h in handles):
            errors["handles"] = t["err_handles"]
        if values["action"] not in ACTIONS:
            errors["action"] = t["err_action"]
        clean = {"full_name": values["full_name"], "email": values["email"], "phone": values["phone"] or None,
                 "handles": list(dict.fromkeys(handles)), "action": values["action"]}
        return (clean if not errors else values), errors

    async def nonuser_page(request: Request) -> Response:
        session = session_of(request)
        nonce = tokens.issue_nonce(secret, NONUSER, now=clock())
        return render(request, "nonuser_form.html", language(request), session=session,
                      form=form_fields(session[0], nonce), values={}, errors={}, fields=NONUSER_FIELDS)

    async def nonuser_submit(request: Request) -> Response:
        form = await read_form(request)
        lang = language(request, form)
        session = verify_form(request, form, NONUSER)
        clean, errors = validate_nonuser(form, lang)
        if errors:
            return render(request, "nonuser_form.html", lang, 400, form=echo_fields(session, form),
                          values=clean, errors=errors, fields=NONUSER_FIELDS, switch_base="/other")
        payload = base64.urlsafe_b64encode(json.dumps(clean, sort_keys=True).encode()).decode()
        nonce = form["nonce"]
        email = clean["email"]
        # The same page whatever the address: the mail is sent (once per form and address, and at
        # most `codes_per_email` an hour) without looking anything up.
        message_id = tokens.mail_id(secret, nonce, email)
        if not (outbox.folder / f"{message_id}.eml").exists() and mail_limiter.allow(email.lower()):
            t = i18n.MESSAGES[lang]
            outbox.send(message_id, email, t["mail_subject"],
                        t["mail_body"].format(code=tokens.confirmation_code(secret, nonce, email)))
        return render(request, "confirm.html", lang, form=echo_fields(session, form), pending=payload,
                      psig=tokens.pending_signature(secret, nonce, payload), error=None, switch_base="/other")

    async def nonuser_confirm(request: Request) -> Response:
        form = await read_form(request)
        lang = language(request, form)
        session = verify_form(request, form, NONUSER)
        nonce, payload = form["nonce"], form.get("pending", "")
        if not tokens.pending_ok(secret, nonce, payload, form.get("psig", "")):
            raise Reject(400, "err_bad_request")
        try:
            clean = json.loads(base64.urlsafe_b64decode(payload.encode()))
        except (binascii.Error, ValueError):
            raise Reject(400, "err_bad_request") from None
        if attempts.exhausted(nonce):
            raise Reject(429, "err_attempts")
        expected = tokens.confirmation_code(secret, nonce, clean["email"])
        if not hmac.compare_digest(form.get("code", "").strip().encode(), expected.encode()):
            attempts.fail(nonce)
            return render(request, "confirm.html", lang, 400, form=echo_fields(session, form), pending=payload,
                          psig=form["psig"], error=i18n.MESSAGES[lang]["err_code"], switch_base="/other")
        record = objection_record(tokens.submission_id(secret, nonce), clean["action"], email=clean["email"],
                                  full_name=clean["full_name"], phone=clean["phone"], handles=clean["handles"])
        stored, _ = store.submit(record)
        return receipt(request, lang, stored, "/other")

    # -- the rest ------------------------------------------------------------------------

    async def index(request: Request) -> Response:
        return render(request, "index.html", language(request))

    async def stylesheet(_request: Request) -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600",
                                                             "X-Content-Type-Options": "nosniff"})

    async def to_form(_request: Request) -> Response:
        return RedirectResponse("/other", status_code=303)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return error_page(request, language(request), 404, "err_not_found")

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return error_page(request, language(request), 405, "err_bad_request")

    routes = [
        Route("/", guarded(index, get_limiter), methods=["GET"]),
        Route("/style.css", stylesheet, methods=["GET"]),
        Route("/u/{token}", guarded(user_page, get_limiter), methods=["GET"]),
        Route("/u/{token}", guarded(user_submit, post_limiter), methods=["POST"]),
        Route("/other", guarded(nonuser_page, get_limiter), methods=["GET"]),
        Route("/other", guarded(nonuser_submit, post_limiter), methods=["POST"]),
        Route("/other/confirm", guarded(nonuser_confirm, post_limiter), methods=["POST"]),
        Route("/other/confirm", to_form, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})

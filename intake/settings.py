"""The objection service's settings, read once from the environment (README, "Objection form").

The HMAC secret comes from `CONSENTRY_INTAKE_SECRET`; without it, a random secret is generated
once per installation into a 0600 file outside the data root (the same race-free generator as
the author key, `curation.keyfile`), so links minted by `python -m intake.links` stay valid
across restarts of the service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from curation import keyfile

SECRET_ENV = "CONSENTRY_INTAKE_SECRET"
SECRET_FILE_ENV = "CONSENTRY_INTAKE_SECRET_FILE"
SECRET_FILE_NAME = "intake.key"
DEFAULT_PORT = 3100
MIN_SECRET_CHARS = 32


class IntakeConfigError(ValueError):
    """A setting is unusable; the message says which and how to fix it."""


def default_secret_file(env: Mapping[str, str]) -> Path:
    """`$CONSENTRY_INTAKE_SECRET_FILE`, else `intake.key` beside the generated author key
    (`$CONSENTRY_HOME`, else `$XDG_CONFIG_HOME/consentry`, else `~/.config/consentry`)."""
    if env.get(SECRET_FILE_ENV):
        return Path(env[SECRET_FILE_ENV]).expanduser()
    return keyfile.default_key_file({k: v for k, v in env.items() if k != keyfile.KEY_FILE_ENV}).with_name(
        SECRET_FILE_NAME)


def _is_inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise IntakeConfigError(f"{name}={raw!r} is not an integer") from None
    if value <= 0:
        raise IntakeConfigError(f"{name} must be positive, not {value}")
    return value


@dataclass(frozen=True)
class IntakeSettings:
    """Everything the service and the link minter need; tests build one directly."""

    secret: bytes = field(repr=False)
    landing_root: Path
    outbox: Path
    base_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    link_days: int = 90  # a link outlives the 42-day objection window: objecting later still counts
    form_max_age_s: int = 2 * 3600  # a form (its nonce) is accepted this long after it was served
    max_body_bytes: int = 8 * 1024  # whole request body; a complete form is well under 2 KiB
    rate_limit: int = 20  # POSTs per client per window
    rate_window_s: int = 60
    codes_per_email: int = 5  # confirmation mails per address per hour (more are silently not sent)
    code_attempts: int = 5  # wrong codes per form before it must be started again
    cookie_secure: bool = False  # set behind TLS (CONSENTRY_INTAKE_COOKIE_SECURE=1)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_CHARS:
            raise IntakeConfigError(f"the intake secret must have at least {MIN_SECRET_CHARS} characters "
                                    f"(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")

    @property
    def objections_dir(self) -> Path:
        return self.landing_root / "objections"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IntakeSettings:
        """Settings from `env` (default `os.environ`); generates the secret file if needed."""
        env = os.environ if env is None else env
        data_root = Path(env.get("CONSENTRY_DATA") or "data")
        landing = env.get("CONSENTRY_LANDING") or str(data_root / "landing")
        if "://" in landing:
            raise IntakeConfigError(f"CONSENTRY_LANDING={landing!r}: the objection service writes to a local "
                                    "landing folder only (atomic rename); sync it to object storage separately")
        if env.get(SECRET_ENV):
            secret = env[SECRET_ENV].strip()
        else:
            path = default_secret_file(env)
            if _is_inside(path, data_root):
                raise IntakeConfigError(f"the intake secret file {path} is inside the data root {data_root}: "
                                        f"point {SECRET_FILE_ENV} elsewhere")
            try:
                secret = keyfile.load_or_create_key(path)
            except keyfile.AuthorKeyError as exc:  # same rules as the author key file, other file
                raise IntakeConfigError(str(exc).replace("author key", "intake secret")) from exc
        port = _int(env, "CONSENTRY_INTAKE_PORT", DEFAULT_PORT)
        host = env.get("CONSENTRY_INTAKE_HOST") or "127.0.0.1"
        return cls(
            secret=secret.encode(),
            landing_root=Path(landing),
            outbox=Path(env.get("CONSENTRY_INTAKE_OUTBOX") or str(data_root / "intake" / "outbox")),
            base_url=(env.get("CONSENTRY_INTAKE_BASE_URL") or f"http://{host}:{port}").rstrip("/"),
            host=host,
            port=port,
            link_days=_int(env, "CONSENTRY_INTAKE_LINK_DAYS", 90),
            rate_limit=_int(env, "CONSENTRY_INTAKE_RATE_LIMIT", 20),
            cookie_secure=env.get("CONSENTRY_INTAKE_COOKIE_SECURE", "") in ("1", "true", "yes"),
        )

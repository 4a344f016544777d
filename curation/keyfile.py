"""The author-key secret: configured, or generated once per installation (DESIGN.md, corpus).

There is no built-in key. A key set in `CONSENTRY_AUTHOR_KEY` is used as it is
("configured"). Without one, a random key (`secrets.token_hex(32)`) is generated the first
time it is needed into a file readable only by its owner (mode 0600), outside the data
root, and read back on every later run ("generated"). Deleting that file changes every
`author_key`; the fingerprint each manifest records makes such a change visible.

Creation is race-free: the key is written to a temp file beside the target and then
hard-linked to the target name, which fails if the name exists (no-overwrite rename).
Two processes generating at once both end up reading the first one's key.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

KEY_ENV = "CONSENTRY_AUTHOR_KEY"
KEY_FILE_ENV = "CONSENTRY_AUTHOR_KEY_FILE"
HOME_ENV = "CONSENTRY_HOME"
KEY_FILE_NAME = "author.key"
CONFIGURED = "configured"
GENERATED = "generated"
# Domain separation: the fingerprint is never equal to any author_key or other digest of the key.
_FINGERPRINT_DOMAIN = b"consentry/author-key-fingerprint/v1\x00"


class AuthorKeyError(ValueError):
    """The key file is unusable (unsafe mode, empty, unreadable); the message says how to fix it."""


def default_key_file(env: Mapping[str, str]) -> Path:
    """Where the generated key lives: `$CONSENTRY_AUTHOR_KEY_FILE`, else `$CONSENTRY_HOME/author.key`,
    else `$XDG_CONFIG_HOME/consentry/author.key` (`~/.config/consentry/author.key`)."""
    if env.get(KEY_FILE_ENV):
        return Path(env[KEY_FILE_ENV]).expanduser()
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser() / KEY_FILE_NAME
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return config / "consentry" / KEY_FILE_NAME


def fingerprint(key: bytes) -> str:
    """First 16 hex of sha256(domain ‖ key): names the key in a manifest without revealing it."""
    return hashlib.sha256(_FINGERPRINT_DOMAIN + key).hexdigest()[:16]


def read_key(path: Path) -> str:
    """The key stored in `path`; refuses a file that group or others may read."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise AuthorKeyError(f"author key file {path} has mode {mode:04o}: it must be readable by its "
                             f"owner only (chmod 600 {path})")
    text = path.read_text(encoding="utf-8").strip()
    if not text or any(ch.isspace() for ch in text):
        raise AuthorKeyError(f"author key file {path} must hold one key on one line "
                             "(delete it to generate a new one; every author_key changes then)")
    return text


def load_or_create_key(path: Path) -> str:
    """The installation's key: read from `path`, or generated there on first use (mode 0600)."""
    try:
        return read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)  # atomic and never overwrites: the first writer wins
        except FileExistsError:
            pass
        except OSError as exc:
            raise AuthorKeyError(f"cannot create the author key file {path} ({exc}); set {KEY_ENV} "
                                 f"or point {KEY_FILE_ENV} at a local file system") from exc
        fsync_dir(path.parent)
    finally:
        temp.unlink(missing_ok=True)
    return read_key(path)


def fsync_dir(folder: Path) -> None:
    """Make the new name durable (a crash must not lose a key that has already been used)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

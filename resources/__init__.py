"""Configurable resources: where data lives, the consent ledger, the policy, the author-key secret.

Every path, URL and secret comes from configuration; `definitions.py` decides the
environment once (see `build_resources`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from upath import UPath

from curation.ingest import DEFAULT_MAX_FILE_BYTES
from curation.keyfile import CONFIGURED, GENERATED, KEY_ENV, KEY_FILE_ENV, fingerprint, load_or_create_key
from curation.ledger import ConsentLedger, redacted_url
from curation.policy import Policy
from resources.io_manager import ParquetIOManager


class LandingZone(dg.ConfigurableResource):
    """The landing root (`content/`, `users/`, `notifications/`, `objections/`); local or `s3://…`."""

    root: str
    # The most bytes one landing file may hold (after decompression); larger ones are
    # quarantined whole (`file_too_large`, `decompressed_too_large`), never read into memory.
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES

    def path(self, *parts: str) -> UPath:
        return UPath(self.root).joinpath(*parts)


class DataStore(dg.ConfigurableResource):
    """The output root (asset Parquet files, releases; local or `s3://…`) and the state root.

    The state root holds the dedup index, a folder of Parquet runs committed by a local
    `os.replace` under an exclusive `flock`: it needs a POSIX filesystem (a local disk, or
    one shared by the workers, e.g. NFS), never an object store. Empty means `root`, which
    then must be local.
    """

    root: str
    state: str = ""

    def path(self, *parts: str) -> UPath:
        return UPath(self.root).joinpath(*parts)

    def state_path(self, *parts: str) -> Path:
        base = self.state or self.root
        if is_remote(base):
            raise ValueError(f"the state root {base} must be a POSIX folder (the dedup index locks and renames "
                             "files): set CONSENTRY_STATE beside an object-store CONSENTRY_DATA")
        return Path(base).joinpath(*parts)


class LedgerResource(dg.ConfigurableResource):
    """The durable, append-only consent ledger (a SQLite file by default, or a PostgreSQL URL).

    A URL with credentials is given as `dg.EnvVar("CONSENTRY_LEDGER_URL")`, so the UI shows
    the variable's name, never the password; `display_url` is what metadata may show.
    """

    url: str

    def open(self) -> ConsentLedger:
        return ConsentLedger(self.url)

    @property
    def display_url(self) -> str:
        return redacted_url(self.url)


class PolicyResource(dg.ConfigurableResource):
    """The eligibility policy and the as-of time T.

    `as_of` pins T (ISO-8601 with offset) for a reproducible rebuild; empty means the
    run's start. `notice_regions` empty means the default, EU + EEA.
    """

    notice_regions: list[str] = []
    objection_window_days: int = 42
    minimum_age: int = 18
    as_of: str = ""
    # The privacy floor of the subsets' re-identification guard: every (country, place,
    # dialect) combination must be shared by at least this many distinct authors.
    min_k_authors: int = 5

    def policy(self) -> Policy:
        defaults = Policy()
        return Policy(
            notice_regions=frozenset(self.notice_regions) or defaults.notice_regions,
            objection_window_days=self.objection_window_days,
            minimum_age=self.minimum_age,
        )

    def as_of_time(self, run_start: datetime | None = None) -> datetime:
        if self.as_of:
            parsed = datetime.fromisoformat(self.as_of.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                raise ValueError(f"as_of must carry an offset, got {self.as_of!r}")
            return parsed.astimezone(UTC)
        return (run_start or datetime.now(UTC)).astimezone(UTC)


class PurgeSettings(dg.ConfigurableResource):
    """How long an objection may stay pending (no successful build applies it) before one alert,
    and whether the objection sensor cuts a release once every purge is applied."""

    alert_after_minutes: float = 30.0
    release_after_purge: bool = True
    release_attempts: int = 3


class AuthorKeySecret(dg.ConfigurableResource):
    """The secret of the keyed hash that replaces author ids; never stored beside a corpus.

    `secret` is set from `dg.EnvVar("CONSENTRY_AUTHOR_KEY")` ("configured"); without it the
    key is read from `key_file`, generated there on first use ("generated",
    `curation.keyfile`). There is no built-in key.
    """

    secret: str = ""
    key_file: str = ""

    def key(self) -> bytes:
        if self.secret:
            return self.secret.encode("utf-8")
        if not self.key_file:
            raise ValueError(f"no author key: set {KEY_ENV} or a key file ({KEY_FILE_ENV})")
        return load_or_create_key(Path(self.key_file)).encode("utf-8")

    @property
    def origin(self) -> str:
        """`configured` (from the environment) or `generated` (this installation's key file)."""
        return CONFIGURED if self.secret else GENERATED

    def describe(self) -> dict[str, str]:
        """What a manifest and the UI may record about the key: its origin and fingerprint."""
        return {"origin": self.origin, "fingerprint": fingerprint(self.key())}


def is_remote(root: str) -> bool:
    """True for an fsspec URL other than a local file (`s3://…`, `gs://…`)."""
    return "://" in root and not root.startswith("file://")


def _inside(path: str, root: str) -> bool:
    """True when local `path` lies under local `root` (an object-store root holds no local file)."""
    if "://" in root:
        return False
    return Path(path).expanduser().resolve().is_relative_to(Path(root).expanduser().resolve())


def build_resources(*, landing_root: str, data_root: str, state_root: str = "",
                    ledger_url: str | dg.EnvVar | None = None,
                    as_of: str = "", author_key: str | dg.EnvVar | None = None, author_key_file: str | None = None,
                    min_k_authors: int = 5, purge_alert_after_minutes: float = 30.0,
                    release_after_purge: bool = True) -> dict[str, object]:
    """All resources for one environment; `definitions.py` and the tests call this.

    The author key is either `author_key` (a value or an EnvVar) or `author_key_file` (a
    path outside `data_root` where the installation's key is generated on first use).
    `state_root` (the dedup index; the default SQLite ledger when `data_root` is remote)
    defaults to `data_root` and must be a local or shared POSIX folder.
    """
    if is_remote(data_root) and not state_root:
        raise ValueError(f"data root {data_root} is an object store: give a state root (CONSENTRY_STATE), a POSIX "
                         "folder for the dedup index")
    local_root = state_root or data_root
    if author_key is None and not author_key_file:
        raise ValueError("give author_key or author_key_file: there is no built-in author key")
    if author_key is None and _inside(str(author_key_file), data_root):
        raise ValueError(f"the author key file {author_key_file} must live outside the data root {data_root}: "
                         "the key is never stored beside a corpus")
    secret = AuthorKeySecret(secret=author_key) if author_key is not None else \
        AuthorKeySecret(key_file=str(author_key_file))
    return {
        "io_manager": ParquetIOManager(base_path=str(UPath(data_root) / "assets")),
        "landing": LandingZone(root=landing_root),
        "store": DataStore(root=data_root, state=state_root),
        "ledger": LedgerResource(url=ledger_url or f"sqlite:///{Path(local_root) / 'ledger.sqlite'}"),
        "policy": PolicyResource(as_of=as_of, min_k_authors=min_k_authors),
        "author_key": secret,
        "purges": PurgeSettings(alert_after_minutes=purge_alert_after_minutes,
                                release_after_purge=release_after_purge),
    }

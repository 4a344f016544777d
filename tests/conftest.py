"""Test-wide settings.

Hypothesis explores new examples on every developer run; under CI (`CI` set) it is
derandomized, so a submission is judged on the same examples that passed before it and a
new counterexample shows up on a developer's machine first, where it can be kept as a
regression case.

No test touches the real author key file (`pytest_configure`), and a local PostgreSQL
server is started only for the tests that ask for `postgres_url`.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_configure(config: object) -> None:
    """No test ever touches the real author key file: the generated key lives in a temp folder.

    Definitions built from the environment (and subprocesses that inherit it) then use
    `$CONSENTRY_HOME/author.key` there; tests that need a fixed key pass one explicitly.
    """
    os.environ["CONSENTRY_HOME"] = tempfile.mkdtemp(prefix="consentry-home-")
    os.environ.pop("CONSENTRY_AUTHOR_KEY_FILE", None)
    os.environ.pop("CONSENTRY_AUTHOR_KEY", None)
    os.environ.pop("CONSENTRY_LEDGER_URL", None)


def pytest_unconfigure(config: object) -> None:
    shutil.rmtree(os.environ.get("CONSENTRY_HOME", ""), ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A local PostgreSQL server for the session (skipped, with the reason, when none is installed)."""
    from tests.postgres_server import local_postgres, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, postgres) on PATH or in /usr/lib/postgresql/*/bin")
    with local_postgres(bin_dir) as url:
        yield url

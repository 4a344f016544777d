"""A throwaway local PostgreSQL server for tests: a temp folder, 127.0.0.1, a random port.

Started only by tests that ask for the `postgres_url` fixture (conftest.py); skipped with
the reason when no server binary is installed. Under root the server runs as the
`postgres` (else `nobody`) account, since initdb refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None."""
    candidates = [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]
    for found in candidates:
        if found:
            folder = Path(found).resolve().parent
            if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
                return folder
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is no postgres or nobody account to run the server")


@contextmanager
def local_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a server; yields `postgresql://consentry:<random password>@127.0.0.1:<port>/postgres`."""
    root = Path(tempfile.mkdtemp(prefix="consentry-pg-"))
    password = secrets.token_urlsafe(18)
    prefix: list[str] = []
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    if os.geteuid() == 0:
        account = _server_account()
        for path in (root, pwfile):
            os.chown(path, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", account.pw_name, "--"]
    data = root / "data"
    run = dict(check=True, capture_output=True, text=True, timeout=120)
    subprocess.run([*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "consentry", f"--pwfile={pwfile}",
                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"], **run)
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off"
    pg_ctl = [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run([*pg_ctl, "-l", str(root / "server.log"), "-w", "-t", "60", "-o", options, "start"], **run)
        yield f"postgresql://consentry:{password}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def fresh_database(server_url: str, name: str) -> str:
    """A new, empty database on the server; returns its URL."""
    import sqlalchemy as sa

    engine = sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://"),
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"

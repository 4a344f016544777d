"""Throwaway local servers that stand in for a cluster's services: PostgreSQL and an S3 endpoint.

`make run-cluster` (automation/cluster.py) and the tests start them; each binds 127.0.0.1
on a free port, lives in a temp folder, and is stopped (and its folder removed) when the
context exits. Nothing here is used by a production deployment, which points the same
variables at real services (docs/DEPLOYMENT.md).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None (Debian: apt `postgresql`)."""
    candidates = [shutil.which("initdb"), *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)]
    for found in candidates:
        if found:
            folder = Path(found).resolve().parent
            if (folder / "pg_ctl").exists() and (folder / "postgres").exists():
                return folder
    return None


def _server_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, but there is no postgres or nobody account to run the server")


@contextmanager
def local_postgres(bin_dir: Path, max_connections: int = 100) -> Iterator[str]:
    """Start a server; yields `postgresql://consentry:<random password>@127.0.0.1:<port>/postgres`.

    Under root the server runs as `postgres` (else `nobody`): initdb refuses root.
    """
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
    port = free_port()
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' -c fsync=off "
               f"-c max_connections={max_connections}")
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


def s3_environment(endpoint: str, access_key: str = "consentry", secret_key: str = "consentry-local",
                   region: str = "us-east-1") -> dict[str, str]:
    """The variables through which fsspec (s3fs/botocore) and polars (object_store) both find an endpoint.

    Nothing in the code names the endpoint or credentials: a real deployment sets the same
    variables (or an instance role) and drops AWS_ENDPOINT_URL / AWS_ALLOW_HTTP.
    """
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_REGION": region, "AWS_DEFAULT_REGION": region, "AWS_ALLOW_HTTP": "true",
            "AWS_EC2_METADATA_DISABLED": "true"}


def _wait_http(url: str, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # answering at all is enough
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def _stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


@contextmanager
def local_s3(buckets: tuple[str, ...] = ("consentry",)) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1:<free port> with `buckets`; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile(prefix="consentry-moto-", suffix=".log", delete=False)
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(endpoint + "/", 60, proc)
        import boto3

        env = s3_environment(endpoint)
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=env["AWS_REGION"])
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield endpoint
    finally:
        _stop(proc)
        log.close()
        os.unlink(log.name)


def upload_folder(local: Path, url: str) -> int:
    """Copy every file under `local` to the fsspec URL `url` (same relative paths); returns the count."""
    import fsspec

    fs, _, (base,) = fsspec.get_fs_token_paths(url)
    count = 0
    for path in sorted(p for p in local.rglob("*") if p.is_file() and not p.is_symlink()):
        fs.put_file(str(path), f"{base.rstrip('/')}/{path.relative_to(local).as_posix()}")
        count += 1
    return count

"""The objection service for tests: in a thread of the test process, or as `python -m intake`.

Both listen on 127.0.0.1 on a free port. `Client` is a small urllib browser with a cookie jar,
which reads the hidden fields of the form it was served so that a test can submit it.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from intake.app import create_app
from intake.settings import IntakeSettings
from tests.dagster_server import ROOT, _child_setup, free_port

SECRET = b"test-intake-secret-0123456789abcdef0123456789"
HIDDEN = re.compile(r'<input type="hidden" name="([a-z]+)" value="([^"]*)">')


def make_settings(tmp: Path, **overrides) -> IntakeSettings:
    values = {"secret": SECRET, "landing_root": tmp / "landing", "outbox": tmp / "outbox",
              "base_url": "http://127.0.0.1:0", **overrides}
    return IntakeSettings(**values)


@contextmanager
def serve(settings: IntakeSettings, clock: Callable[[], float] = time.time) -> Iterator[str]:
    """Yields the base URL of the app served by uvicorn in a daemon thread."""
    port = free_port()
    config = uvicorn.Config(create_app(settings, clock=clock), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the intake server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(env: dict[str, str], log: Path, timeout: float = 30.0) -> Iterator[str]:
    """`python -m intake` as a subprocess (what `make intake` runs); always stopped."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "intake", "--port", str(port)], cwd=ROOT,
                                   env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=_child_setup)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"python -m intake exited:\n{log.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/style.css", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"intake did not answer:\n{log.read_text()[-3000:]}") from None
                    time.sleep(0.2)
            yield url
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str]

    def hidden(self) -> dict[str, str]:
        return dict(HIDDEN.findall(self.body))


class Client:
    """One browser: its own cookies; never follows redirects to other hosts."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = headers or {}

    def request(self, path: str, data: dict[str, str] | bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        all_headers = {**self.headers, **(headers or {})}
        if body is not None:
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        req = urllib.request.Request(self.base + path, data=body, headers=all_headers)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Reply(resp.status, resp.read().decode(), {k.lower(): v for k, v in resp.headers.items()})
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode(), {k.lower(): v for k, v in err.headers.items()})

    def get(self, path: str, **kw) -> Reply:
        return self.request(path, **kw)

    def post(self, path: str, data: dict[str, str] | bytes, **kw) -> Reply:
        return self.request(path, data, **kw)

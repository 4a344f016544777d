"""Serve the objection form: `python -m intake [--host H] [--port P]` (`make intake`, port 3100).

Binds 127.0.0.1 unless told otherwise; put a TLS-terminating proxy in front to publish it
(and set CONSENTRY_INTAKE_COOKIE_SECURE=1 and CONSENTRY_INTAKE_BASE_URL).
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from intake.app import create_app
from intake.settings import IntakeConfigError, IntakeSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=None, help="default CONSENTRY_INTAKE_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default CONSENTRY_INTAKE_PORT or 3100")
    args = parser.parse_args(argv)
    try:
        settings = IntakeSettings.from_env()
    except IntakeConfigError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"objection form on http://{host}:{port}/  (submissions -> {settings.objections_dir}, "
          f"mail -> {settings.outbox})", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", server_header=False,
                proxy_headers=False, limit_concurrency=64, timeout_keep_alive=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())

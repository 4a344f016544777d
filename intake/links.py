"""Mint a signed notification link: `python -m intake.links USER_ID [--days N]`.

The link is `<base url>/u/<token>` (token format in `intake.tokens`); the notification that
tells a person about the training carries it. It is printed, never stored.
"""

from __future__ import annotations

import argparse
import sys
import time

from intake.settings import IntakeConfigError, IntakeSettings
from intake.tokens import mint_link_token


def mint_link(settings: IntakeSettings, user_id: str, days: int | None = None, now: float | None = None) -> str:
    """The notification link of `user_id`, valid for `days` (default the settings' link_days)."""
    valid_for = settings.link_days if days is None else days
    if valid_for <= 0:
        raise ValueError("days must be positive")
    expires = int((time.time() if now is None else now) + valid_for * 86400)
    return f"{settings.base_url}/u/{mint_link_token(settings.secret, user_id, expires)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intake.links", description=__doc__.splitlines()[0])
    parser.add_argument("user_id")
    parser.add_argument("--days", type=int, default=None, help="validity in days (default 90)")
    args = parser.parse_args(argv)
    try:
        print(mint_link(IntakeSettings.from_env(), args.user_id, args.days))
    except (IntakeConfigError, ValueError) as exc:
        print(f"intake.links: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

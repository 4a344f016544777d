"""`python -m automation.affected_releases USER_ID…`: every release that held a person's content.

After a late objection, the privacy team needs to know which earlier (immutable) releases
held the objector's content. The user id is turned into its `author_key` with the secret
from CONSENTRY_AUTHOR_KEY (the development key when unset, with a warning).
"""

import argparse
import os
import sys
from pathlib import Path

from curation.eligibility import author_key
from curation.release import affected_releases, prove_excluded
from resources import DEV_AUTHOR_KEY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_ids", nargs="+")
    parser.add_argument("--data", default=os.environ.get("CONSENTRY_DATA", "data"))
    args = parser.parse_args(argv)
    secret = os.environ.get("CONSENTRY_AUTHOR_KEY")
    if not secret:
        print("warning: CONSENTRY_AUTHOR_KEY is not set, using the development key", file=sys.stderr)
        secret = DEV_AUTHOR_KEY
    releases = Path(args.data) / "releases"
    for user_id in args.user_ids:
        key = author_key(user_id, secret.encode())
        held = affected_releases(releases, key)
        excluded_in = [r.name for r in sorted(releases.iterdir()) if r.is_dir() and not r.name.startswith(".")
                       and (r / "manifest.json").exists() and prove_excluded(r, key)] if releases.exists() else []
        print(f"{user_id}: held by {len(held)} release(s): {', '.join(held) or '-'}; "
              f"proven excluded in: {', '.join(excluded_in) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

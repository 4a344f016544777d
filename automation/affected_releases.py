"""`python -m automation.affected_releases USER_ID…`: every release that held a person's content.

After a late objection, the privacy team needs to know which earlier (immutable) releases
held the objector's content. The user id is turned into its `author_key` with the key the
builds used: CONSENTRY_AUTHOR_KEY when set, else this installation's generated key file
(never created here: a new key would match nothing). A release whose manifest records
another key's fingerprint is named, since its answer cannot be trusted.
"""

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from curation.eligibility import author_key
from curation.keyfile import KEY_ENV, default_key_file, fingerprint, read_key
from curation.release import MANIFEST, affected_releases, finished_releases, prove_excluded


def installation_key(env: Mapping[str, str]) -> bytes:
    """The configured key, else the generated one; a clear error when neither exists."""
    if env.get(KEY_ENV):
        return env[KEY_ENV].encode("utf-8")
    path = default_key_file(env)
    try:
        return read_key(path).encode("utf-8")
    except FileNotFoundError:
        raise SystemExit(f"no author key: {KEY_ENV} is not set and {path} does not exist "
                         "(no build has generated one on this installation)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user_ids", nargs="+")
    parser.add_argument("--data", default=os.environ.get("CONSENTRY_DATA", "data"))
    args = parser.parse_args(argv)
    secret = installation_key(os.environ)
    ours = fingerprint(secret)
    releases = Path(args.data) / "releases"
    built = finished_releases(releases)
    foreign = [r.name for r in built
               if json.loads((r / MANIFEST).read_text()).get("author_key", {}).get("fingerprint", ours) != ours]
    if foreign:
        print(f"warning: built with another author key (fingerprint differs from {ours}), answers for them "
              f"are meaningless: {', '.join(foreign)}", file=sys.stderr)
    for user_id in args.user_ids:
        key = author_key(user_id, secret)
        held = affected_releases(releases, key)
        excluded_in = [r.name for r in built if prove_excluded(r, key)]
        print(f"{user_id}: held by {len(held)} release(s): {', '.join(held) or '-'}; "
              f"proven excluded in: {', '.join(excluded_in) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Rule 8 at scale: 100,000 non-user objections against 1,000,000 texts (bench/README.md).

Run by hand: ``.venv/bin/python bench/bench_mentions.py [--objections 100000] [--texts 1000000]``.
Objectors get a random two-word name (from syllables: ~10^9 combinations), an e-mail, a
phone and a handle; 1 % of the texts name one of them (a quarter each by name, e-mail,
phone, handle), the rest are ordinary sentences with numbers and other names. Times
``objector_identifiers`` and ``match_mentions`` (raw texts), then ``mention_digests`` and
``match_mentions`` on the digested corpus form, and checks every planted mention is found.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime

import polars as pl

from curation.mentions import match_mentions, mention_digests, objector_identifiers

SYLLABLES = ["an", "be", "ca", "do", "el", "fi", "ga", "ho", "is", "ju", "ka", "lo", "ma", "ne", "or", "pa",
             "qu", "ri", "sa", "to", "ul", "va", "we", "xa", "yo", "zu", "ber", "der", "ler", "son", "ski", "ová"]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def build(n_obj: int, n_texts: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    rng = random.Random(seed)
    names = [f"{_word(rng)} {_word(rng)}" for _ in range(n_obj)]
    objections = pl.DataFrame({
        "submission_id": [f"n{i}" for i in range(n_obj)], "user_id": [None] * n_obj,
        "email": [f"{n.split()[0].lower()}.{i}@example.org" for i, n in enumerate(names)],
        "action": ["object"] * n_obj,
        "submitted_at": [datetime(2025, 1, 1, tzinfo=UTC)] * n_obj,
        "full_name": names,
        "phone": [f"+49 151 {10_000_000 + i}" for i in range(n_obj)],
        "handles": [f"@{n.split()[1].lower()}_{i}" for i, n in enumerate(names)],
    }, schema_overrides={"user_id": pl.String})
    base = ["so happy today with {} at the lake, € 19,99 on 01.04.2025 lol #{}",
            "order 4815162342 arrived, thanks {} !! {}", "meeting {} tomorrow 10:30 room {}"]
    texts, expected = [], []
    for i in range(n_texts):
        if i % 100 == 0:
            j = rng.randrange(n_obj)
            way = (i // 100) % 4
            mention = [names[j].upper(), objections["email"][j], f"0151 {10_000_000 + j}",
                       objections["handles"][j]][way]
            texts.append(base[i % 3].format(mention, i))
            expected.append(f"n{j}")
        else:
            texts.append(base[i % 3].format(f"{_word(rng)}", i))
            expected.append("")
    return objections, pl.DataFrame({"text": texts}), expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objections", type=int, default=100_000)
    parser.add_argument("--texts", type=int, default=1_000_000)
    args = parser.parse_args()
    objections, texts, expected = build(args.objections, args.texts)
    secret = b"bench-secret"
    t0 = time.perf_counter()
    ids = objector_identifiers(objections, datetime(2025, 2, 1, tzinfo=UTC), secret)
    t1 = time.perf_counter()
    found = match_mentions(texts, ids)
    t2 = time.perf_counter()
    corpus = texts.with_columns(mention_digests(texts["text"], secret))
    t3 = time.perf_counter()
    found_corpus = match_mentions(corpus, ids)
    t4 = time.perf_counter()
    want = pl.Series(expected)
    planted = want != ""
    got = found.list.first().fill_null("")
    print(f"objections {args.objections:,}, identifiers {ids.height:,}, texts {args.texts:,}")
    print(f"objector_identifiers: {t1 - t0:.2f} s")
    print(f"match_mentions (raw text, all kinds): {t2 - t1:.2f} s")
    print(f"mention_digests (corpus column): {t3 - t2:.2f} s")
    print(f"match_mentions (corpus: names on text, digests): {t4 - t3:.2f} s")
    print(f"planted {int(planted.sum()):,}, found {int((got == want).filter(planted).sum()):,}, "
          f"false hits {int((found.list.len() > 0).filter(~planted).sum()):,}, "
          f"corpus form agrees: {found.equals(found_corpus)}")


if __name__ == "__main__":
    main()

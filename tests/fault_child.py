"""A build in a child process that SIGKILLs itself at a chosen write (for tests/test_faults.py).

`python -m tests.fault_child MODE TMP_PATH START END`: MODE `corpus` dies at the first rename of
a filtered_corpus file (its temporary written, the real name not yet), MODE `release` at the
rename of a release's staging folder to its final name. Exactly what kill -9 at that moment
leaves behind.
"""

import os
import signal
import sys
from pathlib import Path

import dagster as dg

from definitions import build_definitions
from tests.landing import materialize_all, resources_for

MODE, TMP, START, END = sys.argv[1:5]
_replace = os.replace


def dying_replace(src: object, dst: object, *args: object, **kwargs: object) -> None:
    if (MODE == "corpus" and "/filtered_corpus/" in str(dst)) or (
            MODE == "release" and ".staging-" in str(src)):
        os.kill(os.getpid(), signal.SIGKILL)
    _replace(src, dst, *args, **kwargs)  # type: ignore[arg-type]


os.replace = dying_replace  # type: ignore[assignment]
defs = build_definitions(resources_for(Path(TMP)))
with dg.DagsterInstance.get() as instance:
    materialize_all(defs, instance, START, END)
sys.exit(3)  # not reached when the kill fired

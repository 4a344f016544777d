"""Test-wide settings.

Hypothesis explores new examples on every developer run; under CI (`CI` set) it is
derandomized, so a submission is judged on the same examples that passed before it and a
new counterexample shows up on a developer's machine first, where it can be kept as a
regression case.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

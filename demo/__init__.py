"""The embedded sample landing zone: `generate_landing_zone` writes it, deterministically.

`python -m demo.generate --out data/landing` does the same from the command line.
"""

from __future__ import annotations

from typing import Any

__all__ = ["generate_landing_zone"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so `python -m demo.generate` does not import the module twice.
    if name == "generate_landing_zone":
        from demo.generate import generate_landing_zone

        return generate_landing_zone
    raise AttributeError(f"module 'demo' has no attribute {name!r}")

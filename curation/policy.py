"""The eligibility policy (DESIGN.md, "Eligibility (the policy)") as a frozen value.

The policy is configuration, but every corpus records which policy built it, so the
value is immutable, validated on construction, and has a stable content hash
(`Policy.version`) that does not depend on the order in which sets were written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

EU_27: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
"""The 27 EU member states (ISO 3166-1 alpha-2; Greece is `GR`, not `EL`)."""

EEA_EXTRA: frozenset[str] = frozenset({"IS", "LI", "NO"})
"""EEA members outside the EU, where the same notice duty applies."""

DEFAULT_NOTICE_REGIONS: frozenset[str] = EU_27 | EEA_EXTRA

_REGION_RE = re.compile(r"^[A-Z]{2}$")


def _str_set(values: Iterable[str] | str, what: str) -> frozenset[str]:
    """Coerce to a non-empty frozenset of non-empty strings (a bare str is a mistake)."""
    if isinstance(values, str):
        raise ValueError(f"{what} must be a collection of strings, not the string {values!r}")
    out = frozenset(values)
    if not out:
        raise ValueError(f"{what} must not be empty")
    for v in out:
        if not isinstance(v, str) or not v:
            raise ValueError(f"{what} must hold non-empty strings, got {v!r}")
    return out


@dataclass(frozen=True)
class SourceRule:
    """One allowed source: any of `platforms` × any of `kinds` × (any of `visibilities`).

    `visibilities=None` means any visibility (the assistant prompts of rule 2, which
    have no audience but are the person's own words to the assistant).
    """

    platforms: frozenset[str]
    kinds: frozenset[str]
    visibilities: frozenset[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "platforms", _str_set(self.platforms, "platforms"))
        object.__setattr__(self, "kinds", _str_set(self.kinds, "kinds"))
        if self.visibilities is not None:
            object.__setattr__(self, "visibilities", _str_set(self.visibilities, "visibilities"))

    def allows(self, platform: str | None, kind: str | None, visibility: str | None) -> bool:
        """Plain-Python twin of the polars expression, for one row (tests, tooling)."""
        return (
            platform in self.platforms
            and kind in self.kinds
            and (self.visibilities is None or visibility in self.visibilities)
        )

    def to_dict(self) -> dict[str, Any]:
        """Sorted lists, so the JSON (and the policy version) is canonical."""
        return {
            "platforms": sorted(self.platforms),
            "kinds": sorted(self.kinds),
            "visibilities": None if self.visibilities is None else sorted(self.visibilities),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceRule:
        unknown = set(data) - {"platforms", "kinds", "visibilities"}
        if unknown:
            raise ValueError(f"unknown source-rule keys: {sorted(unknown)}")
        vis = data.get("visibilities")
        return cls(
            platforms=frozenset(data["platforms"]),
            kinds=frozenset(data["kinds"]),
            visibilities=None if vis is None else frozenset(vis),
        )


DEFAULT_ALLOWED_SOURCES: tuple[SourceRule, ...] = (
    SourceRule(
        platforms=frozenset({"facebook", "instagram", "messenger"}),
        kinds=frozenset({"post", "comment", "caption"}),
        visibilities=frozenset({"public"}),
    ),
    SourceRule(platforms=frozenset({"meta_ai"}), kinds=frozenset({"ai_prompt"}), visibilities=None),
)
"""Rule 2: public posts/comments/captions on FB/IG/Messenger, and the person's own prompts
to the assistant. WhatsApp, messages, direct/private items and `ai_response` never match."""


@dataclass(frozen=True)
class Policy:
    """Eligibility policy; defaults are the announced policy (EU+EEA, 42 days, 18)."""

    notice_regions: frozenset[str] = DEFAULT_NOTICE_REGIONS
    objection_window_days: int = 42
    minimum_age: int = 18
    allowed_sources: tuple[SourceRule, ...] = field(default=DEFAULT_ALLOWED_SOURCES)

    def __post_init__(self) -> None:
        if isinstance(self.notice_regions, str):
            raise ValueError("notice_regions must be a collection of country codes")
        regions = frozenset(self.notice_regions)
        for r in regions:
            if not isinstance(r, str) or not _REGION_RE.match(r):
                raise ValueError(f"notice region {r!r} is not an upper-case ISO alpha-2 code")
        object.__setattr__(self, "notice_regions", regions)
        # bool is an int subclass: `True` days would silently mean 1.
        if not isinstance(self.objection_window_days, int) or isinstance(
            self.objection_window_days, bool
        ):
            raise ValueError("objection_window_days must be an int")
        if self.objection_window_days < 0:
            raise ValueError("objection_window_days must be >= 0")
        if not isinstance(self.minimum_age, int) or isinstance(self.minimum_age, bool):
            raise ValueError("minimum_age must be an int")
        if self.minimum_age <= 0:
            raise ValueError("minimum_age must be > 0")
        sources = tuple(self.allowed_sources)
        for s in sources:
            if not isinstance(s, SourceRule):
                raise ValueError(f"allowed_sources must hold SourceRule values, got {s!r}")
        object.__setattr__(self, "allowed_sources", sources)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values with sets sorted; the input of `version`."""
        return {
            "notice_regions": sorted(self.notice_regions),
            "objection_window_days": self.objection_window_days,
            "minimum_age": self.minimum_age,
            "allowed_sources": sorted(
                (s.to_dict() for s in self.allowed_sources),
                key=lambda d: json.dumps(d, sort_keys=True),
            ),
        }

    @property
    def version(self) -> str:
        """First 12 hex chars of sha256 over canonical JSON: same values, same version."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Build from config; missing keys take defaults. A `version` key, if present,
        must match the values (catches a hand-edited manifest)."""
        known = {"notice_regions", "objection_window_days", "minimum_age", "allowed_sources"}
        unknown = set(data) - known - {"version"}
        if unknown:
            raise ValueError(f"unknown policy keys: {sorted(unknown)}")
        kwargs: dict[str, Any] = {}
        if "notice_regions" in data:
            kwargs["notice_regions"] = frozenset(data["notice_regions"])
        if "objection_window_days" in data:
            kwargs["objection_window_days"] = data["objection_window_days"]
        if "minimum_age" in data:
            kwargs["minimum_age"] = data["minimum_age"]
        if "allowed_sources" in data:
            kwargs["allowed_sources"] = tuple(
                s if isinstance(s, SourceRule) else SourceRule.from_dict(s)
                for s in data["allowed_sources"]
            )
        policy = cls(**kwargs)
        if "version" in data and data["version"] != policy.version:
            raise ValueError(
                f"policy version mismatch: recorded {data['version']!r}, "
                f"values hash to {policy.version!r}"
            )
        return policy

    def allows_source(self, platform: str | None, kind: str | None, visibility: str | None) -> bool:
        """Plain-Python rule 2 for one row."""
        return any(s.allows(platform, kind, visibility) for s in self.allowed_sources)


DEFAULT_POLICY = Policy()

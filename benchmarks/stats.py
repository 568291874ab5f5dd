"""Repeated samples per contestant, their summaries and per-round ratios."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Samples:
    """The values one contestant measured, one per round, in round order."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        """Record the value of the next round."""
        self.values.append(value)

    def summary(self) -> dict[str, Any]:
        """Return the values with their minimum and median."""
        return {
            "values": self.values,
            "min": min(self.values),
            "median": statistics.median(self.values),
        }


def ratio(contestant: Samples, baseline: Samples) -> dict[str, Any]:
    """Return the ratios of `contestant` to `baseline` within each round.

    Both were measured in the same rounds, so each ratio compares values taken
    under the same load on the machine; the median of these ratios is the
    figure reported.
    """
    per_round = [
        value / base
        for value, base in zip(contestant.values, baseline.values, strict=True)
    ]
    return {"per_round": per_round, "median": statistics.median(per_round)}

"""k-anonymity for event-level files: generalise the quasi-identifiers, then suppress.

A quasi-identifier (area, age band, gender) has a hierarchy of levels, from the recorded value
to one value for everyone. Every combination of the levels (a node of the lattice, 18 for
three quasi-identifiers) is tried; the least general node under which at most a small share
of the people would still have to be suppressed wins. Suppression is per person, across all
the files given together (a person's values are the same in every file, so two files can never
be laid over each other to narrow a person down); a person suppressed in one file is suppressed
in all, and the check repeats until every combination in every file holds at least k people.
Suppressed rows keep their events but show SUPPRESSED for every quasi-identifier; when the
suppressed rows of a file are themselves fewer than k people, they are withheld.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

K = 5
# The share of people that may be suppressed before a more general node is preferred.
SUPPRESSION_BUDGET = 0.05
SUPPRESSED = "suppressed"

Row = dict[str, Any]
UNIT = "_unit"  # the key of a row's person (or conflict): rows of one unit are one person


@dataclass(frozen=True)
class Level:
    name: str  # stable code, named in the codebook ("area", "district", "all")
    generalise: Callable[[Any], str]


@dataclass(frozen=True)
class Hierarchy:
    column: str
    levels: Sequence[Level]
    # Information lost by one step up: what a researcher would miss most costs most.
    cost: int


@dataclass
class Outcome:
    """What the anonymisation did, for the files and for the codebook."""

    levels: dict[str, str]  # column -> the level's name
    suppressed_units: int
    units: int
    withheld_rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[Row]] = field(default_factory=dict)


def _generalise(raw: tuple, hierarchies: Sequence[Hierarchy], node: Sequence[int]) -> tuple:
    return tuple(
        h.levels[level].generalise(value)
        for h, level, value in zip(hierarchies, node, raw, strict=True)
    )


# A file as the check needs it: each person once per recorded combination (a contacts file of
# 300,000 rows is a few thousand of these).
Keys = dict[str, set[tuple[Hashable, tuple]]]


def _keys(files: Mapping[str, list[Row]], hierarchies: Sequence[Hierarchy]) -> Keys:
    return {
        name: {(row[UNIT], tuple(row[h.column] for h in hierarchies)) for row in rows}
        for name, rows in files.items()
    }


def _suppressed_at(
    keys: Keys, hierarchies: Sequence[Hierarchy], node: Sequence[int], k: int
) -> set[Hashable]:
    """The units that must be suppressed under `node` so every file's combinations hold k."""
    generalised: dict[tuple, tuple] = {}
    suppressed: set[Hashable] = set()
    while True:
        failing: set[Hashable] = set()
        for pairs in keys.values():
            groups: dict[tuple, set[Hashable]] = defaultdict(set)
            for unit, raw in pairs:
                if unit not in suppressed:
                    if raw not in generalised:
                        generalised[raw] = _generalise(raw, hierarchies, node)
                    groups[generalised[raw]].add(unit)
            for units in groups.values():
                if len(units) < k:
                    failing |= units
        if not failing:
            return suppressed
        suppressed |= failing


def anonymise(
    files: Mapping[str, list[Row]],
    hierarchies: Sequence[Hierarchy],
    *,
    k: int = K,
    budget: float = SUPPRESSION_BUDGET,
) -> Outcome:
    """Generalise and suppress the quasi-identifiers of `files` (rows with a UNIT key)."""
    units = {row[UNIT] for rows in files.values() for row in rows}
    keys = _keys(files, hierarchies)
    nodes = sorted(
        itertools.product(*(range(len(h.levels)) for h in hierarchies)),
        key=lambda node: (
            sum(level * h.cost for h, level in zip(hierarchies, node, strict=True)),
            node,
        ),
    )
    chosen: tuple[int, ...] = nodes[-1]
    chosen_suppressed: set[Hashable] | None = None
    for node in nodes:
        suppressed = _suppressed_at(keys, hierarchies, node, k)
        if len(suppressed) <= budget * len(units):
            chosen, chosen_suppressed = node, suppressed
            break
    if chosen_suppressed is None:
        chosen_suppressed = _suppressed_at(keys, hierarchies, chosen, k)

    outcome = Outcome(
        levels={
            h.column: h.levels[level].name for h, level in zip(hierarchies, chosen, strict=True)
        },
        suppressed_units=len(chosen_suppressed),
        units=len(units),
    )
    shown: dict[tuple, tuple] = {}
    for name, rows in files.items():
        kept: list[Row] = []
        hidden: list[Row] = []
        hidden_units: set[Hashable] = set()
        for row in rows:
            out = {key: value for key, value in row.items() if key != UNIT}
            if row[UNIT] in chosen_suppressed:
                out |= {h.column: SUPPRESSED for h in hierarchies}
                hidden.append(out)
                hidden_units.add(row[UNIT])
            else:
                raw = tuple(row[h.column] for h in hierarchies)
                if raw not in shown:
                    shown[raw] = _generalise(raw, hierarchies, chosen)
                values = shown[raw]
                out |= {h.column: v for h, v in zip(hierarchies, values, strict=True)}
                kept.append(out)
        if len(hidden_units) >= k:
            # The suppressed rows are a combination of their own, and it holds k people.
            kept.extend(hidden)
            outcome.withheld_rows[name] = 0
        else:
            outcome.withheld_rows[name] = len(hidden)
        outcome.files[name] = kept
    return outcome

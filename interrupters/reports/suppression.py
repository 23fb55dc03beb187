"""Small-count suppression, and complementary suppression so that no hidden count can be
worked out from the published totals. Every aggregate that leaves an organisation passes here;
no other module decides what is hidden.

A table is a set of cells (any hashable key) with integer values, and a list of relations:
"these cells add up to that cell" (the kinds of contact add up to all contacts; the areas add
up to the programme). Counts from 1 to `threshold - 1` are hidden (primary suppression); a true
zero is shown. Then more cells are hidden until no hidden cell's value follows from the visible
ones: a relation with a single hidden cell gets a second one (the smallest visible non-zero
cell of that relation), and a last exact check solves the relations as linear equations and
hides one more cell next to any hidden cell that is still determined (a chain of relations can
give a cell away even when every relation hides two).

Every hidden cell is non-zero, so the true table lies inside the set of tables that fit what is
published: a hidden cell that the equations do not fix can move both ways, and is not
derivable from the totals or from the fact that counts are never negative.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import gcd
from typing import Any, TypeVar

SMALL_COUNT = 5  # counts under this are never published (DESIGN.md, "Who may see what")
HIDDEN = "<5"

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Relation:
    """`parts` add up to `total`."""

    parts: tuple[Hashable, ...]
    total: Hashable


def shown(value: int | float | None) -> str:
    """A suppressed cell as readers see it."""
    return HIDDEN if value is None else str(value)


def small(count: int, threshold: int = SMALL_COUNT) -> bool:
    return 0 < count < threshold


def suppress(
    values: Mapping[K, int],
    relations: Sequence[Relation],
    *,
    threshold: int | None = SMALL_COUNT,
    primary: Iterable[K] = (),
) -> set[K]:
    """The cells to hide: the small ones (and `primary`), and enough others that none of them
    can be worked out from the rest."""
    value_of: Mapping[Any, int] = values  # cells of relations are looked up by any key
    hidden: set[Hashable] = {k for k in primary if values.get(k, 0) != 0}
    if threshold is not None:
        hidden |= {k for k, v in values.items() if small(v, threshold)}
    relations = [r for r in relations if r.total in values or any(p in values for p in r.parts)]
    by_cell: dict[Hashable, list[Relation]] = {}
    for relation in relations:
        for key in (*relation.parts, relation.total):
            by_cell.setdefault(key, []).append(relation)

    def candidate(relation: Relation) -> Hashable | None:
        """The smallest visible non-zero cell of a relation: parts before the total."""
        parts = [p for p in relation.parts if p not in hidden and value_of.get(p, 0) > 0]
        if parts:
            return min(parts, key=lambda p: (value_of[p], str(p)))
        total = relation.total
        if total not in hidden and value_of.get(total, 0) > 0:
            return total
        return None

    while True:
        changed = False
        # A relation with exactly one hidden cell gives it away: hide a second.
        for relation in relations:
            members = (*relation.parts, relation.total)
            if sum(1 for m in members if m in hidden) == 1:
                extra = candidate(relation)
                if extra is not None:
                    hidden.add(extra)
                    changed = True
        if changed:
            continue
        determined = determined_cells(relations, hidden)
        if not determined:
            return hidden  # type: ignore[return-value]
        # One at a time: hiding a neighbour of one cell often frees others as well.
        cell = min(determined, key=str)
        extra = _nearest_candidate(cell, by_cell, hidden, candidate)
        if extra is None:  # cannot happen: with every non-zero cell hidden none is fixed
            raise RuntimeError("suppression found no complementary cell")
        hidden.add(extra)


def _nearest_candidate(
    cell: Hashable,
    by_cell: Mapping[Hashable, list[Relation]],
    hidden: set[Hashable],
    candidate: object,
) -> Hashable | None:
    """The smallest visible non-zero cell in the relations nearest `cell` (breadth first
    through hidden cells), whose hiding puts `cell` on a cycle of hidden cells."""
    assert callable(candidate)
    seen_cells = {cell}
    frontier = [cell]
    seen_relations: set[int] = set()
    while frontier:
        options = []
        next_frontier = []
        for current in frontier:
            for relation in by_cell.get(current, []):
                if id(relation) in seen_relations:
                    continue
                seen_relations.add(id(relation))
                extra = candidate(relation)
                if extra is not None:
                    options.append(extra)
                for member in (*relation.parts, relation.total):
                    if member in hidden and member not in seen_cells:
                        seen_cells.add(member)
                        next_frontier.append(member)
        if options:
            return min(options, key=str)
        frontier = next_frontier
    return None


def determined_cells(relations: Sequence[Relation], hidden: set[Hashable]) -> set[Hashable]:
    """Hidden cells whose value the relations fix, given every visible cell.

    Each relation is an equation over the hidden cells (parts +1, total -1, the visible ones
    move to the right-hand side). In the reduced row echelon form a hidden cell is fixed exactly
    when a row has its only non-zero coefficient there. Exact integer arithmetic."""
    index: dict[Hashable, int] = {}
    rows: list[dict[int, int]] = []
    for relation in relations:
        row: dict[int, int] = {}
        for key, sign in ((p, 1) for p in relation.parts):
            if key in hidden:
                column = index.setdefault(key, len(index))
                row[column] = row.get(column, 0) + sign
        if relation.total in hidden:
            column = index.setdefault(relation.total, len(index))
            row[column] = row.get(column, 0) - 1
        row = {c: v for c, v in row.items() if v}
        if row:
            rows.append(row)
    if not rows:
        return set()
    reduced = _rref(rows)
    keys = {column: key for key, column in index.items()}
    return {keys[next(iter(row))] for row in reduced if len(row) == 1}


def _rref(rows: list[dict[int, int]]) -> list[dict[int, int]]:
    """Reduced row echelon form of sparse integer rows, fraction-free (each row kept primitive)."""
    pivots: list[tuple[int, dict[int, int]]] = []  # (pivot column, row)
    for original in rows:
        row = dict(original)
        for column, pivot_row in pivots:
            factor = row.get(column)
            if factor:
                row = _combine(row, pivot_row, column)
        if not row:
            continue
        column = min(row)
        # Clear the new pivot's column from the rows already kept (the "reduced" part).
        pivots = [(c, _combine(r, row, column) if r.get(column) else r) for c, r in pivots]
        pivots.append((column, row))
    return [r for _c, r in pivots]


def _combine(row: dict[int, int], pivot_row: dict[int, int], column: int) -> dict[int, int]:
    """`row` with `column` eliminated by `pivot_row`, divided by the common factor."""
    a, b = pivot_row[column], row[column]
    out: dict[int, int] = {}
    for c in row.keys() | pivot_row.keys():
        v = a * row.get(c, 0) - b * pivot_row.get(c, 0)
        if v:
            out[c] = v
    divisor = 0
    for v in out.values():
        divisor = gcd(divisor, v)
    if divisor > 1:
        out = {c: v // divisor for c, v in out.items()}
    return out

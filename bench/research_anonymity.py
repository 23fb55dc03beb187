"""Time the k-anonymisation of a research project's person-level files at a city's scale.

Synthetic rows shaped like a large programme's contacts and referrals over two years (every
participant with the same area, age band and gender in both files): how long the 18-node
lattice search with suppression takes, in this process, for growing sizes. Prints a table.

    PYTHONPATH=. .venv/bin/python bench/research_anonymity.py [--participants 500 2000 8000]
"""

from __future__ import annotations

import argparse
import random
import time

from interrupters.research.anonymity import UNIT, Hierarchy, Level, anonymise
from interrupters.research.datasets import PERSON_HIERARCHIES_REST

AREAS = {f"area{n}": f"district{n // 5}" for n in range(40)}
BANDS = ["<15", "15-17", "18-20", "21-24", "25+"]
GENDERS = ["female", "male", "other", None]


def rows_for(participants: int, contacts_each: int, rng: random.Random) -> dict[str, list]:
    people = [
        (
            person,
            rng.choice(list(AREAS)),
            rng.choices(BANDS, weights=[1, 6, 5, 3, 1])[0],
            rng.choices(GENDERS, weights=[3, 10, 1, 1])[0],
        )
        for person in range(participants)
    ]
    contacts = [
        {UNIT: p, "area": a, "age_band": b, "gender": g, "week": w}
        for p, a, b, g in people
        for w in range(contacts_each)
    ]
    referrals = [
        {UNIT: p, "area": a, "age_band": b, "gender": g, "week": 0}
        for p, a, b, g in people
        if rng.random() < 0.4
    ]
    return {"contacts": contacts, "referrals": referrals}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--contacts-each", type=int, default=40)
    args = parser.parse_args()
    area = Hierarchy(
        "area",
        (
            Level("area", lambda a: a),
            Level("district", lambda a: AREAS[a]),
            Level("programme", lambda _a: "all"),
        ),
        cost=3,
    )
    print(f"{'participants':>12} {'rows':>9} {'seconds':>8}  levels chosen, suppressed")
    for count in args.participants:
        files = rows_for(count, args.contacts_each, random.Random(count))
        started = time.perf_counter()
        outcome = anonymise(files, (area, *PERSON_HIERARCHIES_REST))
        took = time.perf_counter() - started
        rows = sum(len(r) for r in files.values())
        print(f"{count:>12} {rows:>9} {took:>8.2f}  {outcome.levels}, {outcome.suppressed_units}")


if __name__ == "__main__":
    main()

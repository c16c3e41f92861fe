"""Pure computations of the funnel's numbers (DESIGN.md §4): no ORM, no I/O, plain values.

The recompute task feeds these functions aggregates (counts per stage per week, lists of
durations); the per-deal helpers in ``accounting`` build those aggregates for small data and tests.
"""

"""The vectorised Fisher exact test against scipy's, on small, tied and very large tables."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import fisher_exact

from funnel.metrics.fisher import fisher_exact_two_sided


def _agrees(table):
    expected = fisher_exact(table).pvalue
    assert fisher_exact_two_sided(table) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "table",
    [
        [[30, 10], [15, 45]],
        [[0, 5], [5, 0]],
        [[2, 3], [3, 2]],  # symmetric: ties on both sides
        [[1, 0], [0, 0]],
        [[0, 0], [0, 0]],
        [[13542, 45652], [4006, 14629]],
        [[6300, 14700], [19000, 60000]],
        [[1468, 309], [16080, 59972]],  # p far below 1e-300: both give 0
    ],
)
def test_tables_by_hand(table):
    _agrees(table)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=4, max_size=4))
def test_small_tables(cells):
    _agrees([cells[:2], cells[2:]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30000), min_size=4, max_size=4))
def test_large_tables(cells):
    _agrees([cells[:2], cells[2:]])


def test_negative_counts_are_refused():
    with pytest.raises(ValueError):
        fisher_exact_two_sided([[-1, 2], [3, 4]])

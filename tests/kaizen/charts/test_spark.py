"""The company page's sparklines."""

from kaizen.charts.spark import sparkline


def test_sparkline_needs_two_points():
    assert sparkline([3.0]) is None
    spark = sparkline([0.0, 2.0, 4.0], width=104, height=32)
    assert spark.path.startswith("M2.0,29.0") and spark.last_y == 3.0

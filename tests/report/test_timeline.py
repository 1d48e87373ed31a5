"""suite/report/timeline.py: the app's answers over time, as the report draws them."""
from __future__ import annotations

from suite.attendee.lab_app import Sample, seconds_not_connected
from suite.report.timeline import timeline_svg


def test_each_variant_is_a_row_of_coloured_spans_with_the_rotations_marked():
    svg = timeline_svg({"hardcoded": [(0.0, "CONNECTED"), (1.0, "DISCONNECTED")], "cached<&>": [(0.0, "CONNECTED")]},
                       [(0.5, "rotation 1")], 0.0, 2.0)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('fill="#2e7d32"') == 3 and svg.count('fill="#c62828"') == 2  # the legend has one of each
    assert "rotation 1" in svg and "cached&lt;&amp;&gt;" in svg  # labels are escaped


def test_seconds_not_connected_count_each_answer_until_the_next():
    samples = [Sample(0.0, "CONNECTED"), Sample(1.0, "DISCONNECTED"), Sample(2.5, "CONNECTED"),
               Sample(3.0, "UNREACHABLE"), Sample(4.0, "CONNECTED")]
    assert seconds_not_connected(samples, 0.0, 4.0) == 2.5
    assert seconds_not_connected(samples, 2.0, 3.5) == 1.0  # the window cuts the spans

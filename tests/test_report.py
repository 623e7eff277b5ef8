import re

import pytest

from parbook.bench.results import Result
from parbook.bench.stats import summarize
from parbook.render import figures, formatting, tables
from parbook.sources import Article, ReportedTable

ARTICLE = Article(key="999", title="t", title_original="t", author="a", year=2020, file="f")
REPORTED = ReportedTable(
    article=ARTICLE, machine="an old laptop", unit="s", note="",
    rows=[{"size": 1, "backend": "a", "value": 2.0}, {"size": 1, "backend": "b", "value": 0.5}],
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1.5, "1.50 s"), (12.3456, "12.3 s"), (0.0123, "12.3 ms"), (2.29e-5, "22.9 µs"),
     (4e-9, "4.00 ns"), (0, "0 s"), (float("nan"), "n/a"),
     # Rounding up to 1000 of a unit moves to the next unit.
     (0.0009996, "1.00 ms"), (0.000999, "999 µs"), (0.9996, "1.00 s")],
)
def test_format_seconds(seconds, text):
    assert formatting.format_seconds(seconds) == text


def test_format_ratio():
    assert formatting.format_ratio(3.456) == "3.5×"
    assert formatting.format_ratio(0.0123) == "0.012×"


def test_counted_makes_the_noun_plural_unless_one():
    assert formatting.counted(1, "port") == "1 port"
    assert formatting.counted(0, "thread") == "0 threads"
    assert formatting.counted(3, "usable CPU") == "3 usable CPUs"
    assert formatting.counted(2, "process", "processes") == "2 processes"


def test_sentence_start_capitalises_only_the_first_letter():
    assert formatting.sentence_start("the Ape-X actors") == "The Ape-X actors"
    assert formatting.sentence_start("SyncVectorEnv and") == "SyncVectorEnv and"
    assert formatting.sentence_start("") == ""


def make_result() -> Result:
    result = Result(experiment="demo", quick=True)
    result.add("g", {"size": 1, "backend": "a"}, [1.0, 1.0, 1.0])
    result.add("g", {"size": 1, "backend": "b"}, [1.0, 1.1, 1.0])
    result.add("g", {"size": 2, "backend": "a"}, [1.0, 3.0, 9.0])  # unstable
    result.add("g", {"size": 2, "backend": "b"}, [2.0, 2.0, 2.0])
    return result


def test_comparison_table_has_ours_the_article_and_the_ratio():
    frame = tables.comparison_table(make_result(), "g", REPORTED, rows=("size",),
                                    column="backend", column_labels={"a": "A", "b": "B"})
    assert list(frame.columns) == [
        ("A", "this build"), ("A", "article 999"), ("A", "ratio"),
        ("B", "this build"), ("B", "article 999"), ("B", "ratio"),
    ]
    assert frame.loc["1", ("A", "this build")] == "1.00 s"
    assert frame.loc["1", ("A", "article 999")] == "2.00 s"
    assert frame.loc["1", ("A", "ratio")] == "0.50×"
    assert frame.loc["1", ("B", "ratio")] == "2.0×"
    # The article did not report size 2: a dash, never an invented number.
    assert frame.loc["2", ("B", "article 999")] == "–"
    assert tables.UNSTABLE_MARK in frame.loc["2", ("A", "this build")]


def test_pivot_and_spread_tables_have_every_case():
    result = make_result()
    pivot = tables.pivot_table(result, "g", rows=("size",), column="backend")
    assert pivot.shape == (2, 2)
    spread = tables.spread_table(result, "g")
    assert len(spread) == 4
    assert set(spread.columns) >= {"N", "median", "IQR", "min – max", tables.MEDIAN_CI,
                                   "stable"}


def test_html_has_id_and_caption():
    html = tables.to_html(tables.pivot_table(make_result(), "g", rows=("size",),
                                             column="backend"),
                          table_id="demo-table", caption="Medians <of> runs")
    assert re.search(r'<table[^>]*id="demo-table"', html)
    assert "<caption>Medians &lt;of&gt; runs</caption>" in html


def test_speedup_figure_draws_every_backend():
    figure = figures.speedup_figure(
        {"a": [(1e-3, 0.5), (1e-2, 1.5)], "b": [(1e-3, 0.2), (1e-2, 0.8)]},
        {"a": "A", "b": "B"}, {"a": 3e-3, "b": None}, cpus=2, title="t",
    )
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert "A" in labels and "B" in labels


def test_median_ci_cell_names_its_coverage_when_below_95_percent():
    assert tables.median_ci_cell(summarize([1.0])) == "–"
    five = tables.median_ci_cell(summarize([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert five == "1.00 s – 5.00 s (94%)"
    ten = tables.median_ci_cell(summarize([float(x) for x in range(1, 11)]))
    assert ten == "2.00 s – 9.00 s"

"""`kg viz` with no options on a store draws what the flow index keeps (kg.flows.choose.default_choice)
instead of ranking every flow again: the page, its note and the flows left out must be those worked out
from the flows themselves, on a deal web too large for one page (more than 500 parties).
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.flow_index import FlowIndex, load_index
from kg.flows.choose import LISTED_LEFT_OUT, MAX_NODES


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of the bundled data and 900 synthetic deals between 800 organizations."""
    from kg.synth import write_synthetic

    folder = tmp_path_factory.mktemp("wide")
    data = folder / "synthetic.ttl"
    with data.open("w", encoding="utf-8") as out:
        write_synthetic(out, deals=900, orgs=800, seed=11)
    result = CliRunner().invoke(main, ["load", "--store", str(folder / "store"), "--no-answers", str(data)])
    assert result.exit_code == 0, result.output
    return folder / "store"


def _page(store, *options) -> tuple[str, str]:
    result = CliRunner().invoke(main, ["--store", str(store), "viz", "-o", "-", *options])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_the_kept_choice_draws_the_page_ranking_every_flow_draws(store, monkeypatch):
    from kg.sealed import computed_from
    from kg.viz import build

    index = load_index(store)
    choice = index.viz_choice(MAX_NODES)
    assert choice is not None and choice["nodes"] > MAX_NODES and choice["left_out"] > LISTED_LEFT_OUT
    kept_page, kept_note = _page(store)
    graph, _manifest = computed_from(store)
    kept = build(graph, index=index)
    monkeypatch.setattr(FlowIndex, "viz_choice", lambda self, max_nodes: None)
    ranked_page, ranked_note = _page(store)
    assert kept_page == ranked_page and kept_note == ranked_note
    assert "Left out:" in kept_note
    ranked = build(graph, index=load_index(store))
    assert kept.html == ranked.html and kept.note == ranked.note
    assert len(kept.left_out_flows) == len(ranked.left_out_flows) == choice["left_out"]
    # the descriptions kept and those worked out again past them, by index and by slice
    assert kept.left_out_flows[:LISTED_LEFT_OUT] == ranked.left_out_flows[:LISTED_LEFT_OUT]
    assert kept.left_out_flows[-1] == ranked.left_out_flows[-1]
    assert list(kept.left_out_flows) == list(ranked.left_out_flows)


def test_options_do_not_use_the_kept_choice(store, monkeypatch):
    """--top or a what-if draw another page: it is chosen from the flows, as without the index."""
    pages = {options: _page(store, *options) for options in (("--top", "40"), ("--assume", "synth-cond-0=failed"))}
    monkeypatch.setattr(FlowIndex, "viz_choice", lambda self, max_nodes: pytest.fail("the kept choice was used"))
    for options, page in pages.items():
        assert _page(store, *options) == page

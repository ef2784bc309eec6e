"""The flow index of a store too large to read in bulk is computed a chunk of deals at a time, and
what each chunk read is dropped before the next: its four files (index, details, whole flow graph,
CSV) must be those computed in bulk, byte for byte, whatever the chunk size. A deal lost or written
twice at a chunk's edge changes them.
"""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

import kg.flow_index as flow_index
from kg.cli import main
from kg.flow_index import CSV_NAME, DETAILS_NAME, EDGES_NAME, INDEX_NAME, build_index, load_flow_csv, load_index

FILES = (INDEX_NAME, DETAILS_NAME, EDGES_NAME, CSV_NAME)


def _files(directory) -> dict:
    return {name: (directory / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module", params=["bundled", "synthetic"])
def store(request, tmp_path_factory):
    """A store of the bundled data, or of the bundled data and 150 synthetic deals; its flow files
    computed in bulk by `kg load`."""
    from kg.synth import write_synthetic

    folder = tmp_path_factory.mktemp(request.param)
    files = []
    if request.param == "synthetic":
        data = folder / "synthetic.ttl"
        with data.open("w", encoding="utf-8") as out:
            write_synthetic(out, deals=150, seed=5)
        files.append(str(data))
    result = CliRunner().invoke(main, ["load", "--store", str(folder / "store"), "--no-answers", *files])
    assert result.exit_code == 0, result.output
    return folder / "store"


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_the_index_computed_in_chunks_is_the_index_computed_in_bulk(store, chunk, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    for name in FILES:
        (copy / name).unlink()
    build_index(copy, chunk=chunk)
    assert _files(copy) == _files(store)
    assert load_index(copy) is not None and load_flow_csv(copy) is not None


def test_a_store_above_the_bulk_size_is_read_deal_by_deal(store, tmp_path, monkeypatch):
    """Above BULK_READ_TRIPLES kg load reads deal by deal, CHUNK_DEALS at a time: the same files, and
    the same CSV as the flow graph read from the RDF."""
    from kg.flow_export import export_flows
    from kg.flows import flow_graph
    from kg.sealed import computed_from

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    monkeypatch.setattr(flow_index, "BULK_READ_TRIPLES", 0)
    monkeypatch.setattr(flow_index, "CHUNK_DEALS", 3)
    build_index(copy)
    assert _files(copy) == _files(store)
    graph, _manifest = computed_from(copy)
    assert bytes(load_flow_csv(copy)).decode("utf-8") == export_flows(flow_graph(graph), "csv")

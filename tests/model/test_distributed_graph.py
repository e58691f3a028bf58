"""Model layer: component sizes from a Dask tree reduction of spanning forests, and the network family over many
partitions equal to the local graph.

The edge lists are tiny and inline, each partition given explicitly, so the pieces a test relies on are known to
meet only when forests of different partitions are merged (the combine and aggregate steps of the reduction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import riskmodel.distributed_graph as graph

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")


def _edges(*partitions: list[tuple[str, str]]) -> object:
    """A Dask edge list with one partition per list of (a, b) edges, in the order given."""
    frames = [pd.DataFrame(rows, columns=["a", "b"], dtype=object) for rows in partitions]
    return dd.from_map(_same, frames, meta=frames[0].iloc[:0], enforce_metadata=False)


def _same(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def _sizes(edges: object, businesses: str, split_every: int | None = 2) -> dict[str, float]:
    index = pd.Index(list(businesses), name="company_number")
    sizes = graph._component_sizes(edges, index, split_every=split_every)
    assert list(sizes.index) == list(index) and sizes.dtype == "float64"
    return sizes.to_dict()


@pytest.fixture(autouse=True)
def sync_scheduler() -> Iterator[None]:
    with dask.config.set(scheduler="sync"):
        yield


def test_a_chain_with_one_link_per_partition_is_one_component() -> None:
    # Eight partitions, split_every=2: chunk forests, two combine levels, then the aggregate.
    chain = "abcdefghi"
    edges = _edges(*[[(chain[i], chain[i + 1])] for i in range(len(chain) - 1)])
    assert _sizes(edges, chain + "z") == {**dict.fromkeys(chain, 9.0), "z": 1.0}


def test_two_components_interleaved_across_partitions_and_an_unlinked_business() -> None:
    edges = _edges([("a", "b"), ("d", "e")], [("f", "e")], [("b", "c")], [("g", "f")])
    assert _sizes(edges, "abcdefgh") == {"a": 3.0, "b": 3.0, "c": 3.0, "d": 4.0, "e": 4.0, "f": 4.0, "g": 4.0,
                                         "h": 1.0}


def test_a_cycle_split_over_partitions_gives_a_forest_of_one_row_per_non_root_node() -> None:
    ring = "abcdef"
    links = [(ring[i], ring[(i + 1) % 6]) for i in range(6)]
    edges = _edges(links[0:2], links[2:4], links[4:6])
    assert _sizes(edges, ring) == dict.fromkeys(ring, 6.0)
    forest = graph._spanning_forest(edges, split_every=2)
    # A spanning forest: one row per node but the root, every row pointing to the smallest node.
    assert sorted(forest["node"]) == list("bcdef") and set(forest["root"]) == {"a"}


def test_a_star_with_its_leaves_in_every_partition_and_both_directions() -> None:
    leaves = "bcdefgh"
    edges = _edges(*[[("a", leaf), (leaf, "a")] for leaf in leaves])
    assert _sizes(edges, "a" + leaves) == dict.fromkeys("a" + leaves, 8.0)


_JOINED_BY_MERGING = ([("a", "b"), ("c", "d")], [("e", "f"), ("g", "h")], [("b", "c"), ("f", "g")], [("d", "e")])


def test_pieces_that_only_join_when_forests_are_merged() -> None:
    # Within each partition the links form separate pieces; only the union of partitions connects them, and the
    # first two partitions (merged together at the first combine) still leave "a" apart from "f".
    edges = _edges(*_JOINED_BY_MERGING)
    assert _sizes(edges, "abcdefghx") == {**dict.fromkeys("abcdefgh", 8.0), "x": 1.0}
    assert _sizes(edges, "abcdefghx", split_every=None) == {**dict.fromkeys("abcdefgh", 8.0), "x": 1.0}
    forest = graph._spanning_forest(edges, split_every=2)
    assert sorted(forest["node"]) == list("bcdefgh") and set(forest["root"]) == {"a"}


def test_the_fixtures_need_the_merge_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the partitions' forests only stacked (the combine and aggregate steps not merging them), the component
    # keeps the roots of every partition: the assertions above would fail.
    monkeypatch.setattr(graph, "_merged_forest", lambda forests: forests.reset_index(drop=True))
    forest = graph._spanning_forest(_edges(*_JOINED_BY_MERGING), split_every=2)
    assert set(forest["root"]) != {"a"} and forest["root"].nunique() > 1


def test_merging_forests_keeps_one_row_per_node_whatever_the_duplicates() -> None:
    stacked = pd.DataFrame({"node": list("bcbdcd"), "root": list("aabbaa")}, dtype=object)
    merged = graph._merged_forest(stacked)
    assert sorted(merged["node"]) == list("bcd") and set(merged["root"]) == {"a"}
    assert graph._merged_forest(stacked.iloc[:0]).empty


def test_no_links_means_components_of_one() -> None:
    edges = _edges([], [])
    assert _sizes(edges, "abc") == dict.fromkeys("abc", 1.0)


def test_the_reduction_runs_on_a_distributed_cluster() -> None:
    chain = "abcdefghi"
    edges = _edges(*[[(chain[i], chain[i + 1])] for i in range(len(chain) - 1)], [("x", "y")])
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0")
    with cluster, distributed.Client(cluster), dask.config.set(scheduler=None):
        assert _sizes(edges, chain + "xyz") == {**dict.fromkeys(chain, 9.0), "x": 2.0, "y": 2.0, "z": 1.0}


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from riskmodel.synth import SynthConfig, generate

    folder = tmp_path_factory.mktemp("small-world") / "synth"
    generate(folder, SynthConfig(businesses=2_000, seed=11))
    return folder


def test_the_network_family_over_many_partitions_equals_the_local_graph(small_world: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import features
    from riskmodel.contract import load_dataset
    from riskmodel.contract.staged import stage_dataset

    # Small partitions: every table and the edge list in many pieces (a key's members, a business's links and a
    # component spread over partitions). With 100 rows a partition, the former chain of Dask joins lost links
    # (a broadcast join taken as a shuffle on the key; dask 2026.8): 459 degrees out of 2,000 were wrong.
    monkeypatch.setattr(graph, "_ROWS", 100)
    monkeypatch.setattr(graph, "_EDGE_ROWS", 400)
    when = dt.date(2024, 12, 31)
    expected = features.build(load_dataset(small_world), when, list(graph.NETWORK_FEATURES))
    assert expected["network_component_size"].max() > 2 and (expected["distance_to_labelled_positive"] < 4).any()
    got = graph.network_features(stage_dataset(small_world, tmp_path / "staged"), when)
    pd.testing.assert_frame_equal(got, expected, check_index_type=False)

"""Routers: nearest centroid (the real MiniLM embedder), graph communities, combined with a threshold."""

from __future__ import annotations

from pathlib import Path
from unittest.mock import MagicMock

import pytest

from app.errors import UnknownComponentError
from app.experts.registry import CheckpointBackend, Expert, ExpertRegistry
from app.experts.routers.centroid import CentroidRouter
from app.experts.routers.combined import CombinedRouter
from app.experts.routers.graph import GraphRouter
from app.experts.routers.registry import RouterContext, build_router
from graph.models import Community
from graph.store.base import GraphStore
from ingest.models import Chunk
from retrieval.types import Evidence, RetrievalResult


@pytest.fixture(scope="module")
def registry() -> ExpertRegistry:
    def expert(name: str, description: str, examples: list[str], communities: list[str]) -> Expert:
        return Expert(name=name, description=description, examples=examples,
                      backend=CheckpointBackend(path=Path("/m")), communities=communities)  # fmt: skip

    return ExpertRegistry(
        experts=[
            expert(
                "film",
                "Films, directors, actors and cinema.",
                ["Who directed Jaws?", "Which actress starred in Alien?"],
                ["top-film"],
            ),
            expert(
                "sport",
                "Football clubs, athletes and leagues.",
                ["Which club did Pele play for?", "Who won the 1998 World Cup?"],
                ["top-sport"],
            ),
            expert("general", "Anything else.", [], []),
        ]
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which director made the movie Vertigo?", "film"),
        ("Who starred as the lead actor in Casablanca?", "film"),
        ("Which football team won the Champions League final?", "sport"),
        ("How many goals did the striker score for his club?", "sport"),
    ],
)
def test_centroid_routes_by_domain(registry: ExpertRegistry, embedder, question: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    route = CentroidRouter(registry, embedder).route(question)
    assert route.expert == expected and route.router == "centroid"
    assert set(route.scores) == {"film", "sport"} and sum(route.scores.values()) == pytest.approx(1.0, abs=1e-3)
    assert route.confidence == max(route.scores.values()) > 0.5
    assert expected in route.reason


def _chunk(chunk_id: str, doc_id: str = "d") -> Chunk:
    return Chunk(id=chunk_id, doc_id=doc_id, index=0, text="t", start=0, end=1)


def _store(communities: list[Community] | None = None, mentions: dict[str, list[str]] | None = None) -> MagicMock:
    """A store whose chunks are the keys of ``mentions``; a chunk id's prefix before '-' is its document."""
    communities = communities or [
        Community(id="top-film", level=1, members=["c-f"]),
        Community(id="top-sport", level=1, members=["c-s"]),
        Community(id="c-f", level=0, members=["e-hitchcock", "e-vertigo"], parent_id="top-film"),
        Community(id="c-s", level=0, members=["e-pele", "e-santos"], parent_id="top-sport"),
    ]
    mentions = mentions or {"k1": ["e-pele"], "k2": ["e-hitchcock", "e-vertigo"], "k3": ["e-other"], "k4": ["e-santos"]}
    chunks = [_chunk(c, c.split("-")[0]) for c in mentions]
    store = MagicMock(spec=GraphStore)
    store.get_communities.return_value = communities
    store.iter_chunks.side_effect = lambda *args, **kwargs: iter(chunks)
    store.entities_of_chunks.side_effect = lambda ids: {i: mentions[i] for i in ids if i in mentions}
    store.chunks_of_document.side_effect = lambda doc_id: [c for c in chunks if c.doc_id == doc_id]
    return store


def _result(*chunk_ids: str) -> RetrievalResult:
    return RetrievalResult(question="q", mode="hybrid", evidence=[Evidence(chunk=_chunk(c)) for c in chunk_ids])


def test_graph_routes_by_the_communities_of_the_evidence(registry: ExpertRegistry) -> None:
    router = GraphRouter(registry, _store())
    # one vote per chunk, however many entities it names: k1 and k4 name sport's, k2 two of film's
    route = router.route("q", _result("k1", "k2", "k4"))
    assert route.expert == "sport" and route.scores == {
        "sport": pytest.approx(2 / 3, abs=1e-3),
        "film": pytest.approx(1 / 3, abs=1e-3),
    }
    assert route.confidence == pytest.approx(2 / 3, abs=1e-3) and "go to sport" in route.reason


def test_graph_maps_communities_to_the_experts_by_their_training_documents() -> None:
    """Experts trained on documents, not communities: a level-0 community goes to the experts whose training
    chunks mention its entities; the hub (e-usa, in every document) is shared evenly once each expert's
    training size is accounted for, so it does not vote."""
    communities = [
        Community(id="c-film", level=0, members=["e-hitchcock", "e-vertigo"]),
        Community(id="c-sport", level=0, members=["e-pele"]),
        Community(id="c-hub", level=0, members=["e-usa"]),
    ]
    mentions = {
        "film1-a": ["e-hitchcock", "e-usa"],
        "film2-a": ["e-vertigo", "e-usa"],
        "sport1-a": ["e-pele", "e-usa"],
        "other-a": ["e-usa"],
    }

    def expert(name: str, documents: list[str]) -> Expert:
        return Expert(name=name, backend=CheckpointBackend(path=Path("/m")), documents=documents)

    registry = ExpertRegistry(
        experts=[expert("film", ["film1", "film2"]), expert("sport", ["sport1"]), expert("general", [])]
    )
    router = GraphRouter(registry, _store(communities, mentions))
    assert router.route("q", _result("sport1-a")).scores == {"sport": 1.0}
    assert router.route("q", _result("film2-a", "other-a")).scores == {"film": 1.0}
    hub_only = router.route("q", _result("other-a"))
    assert hub_only.expert == "general" and hub_only.scores == {} and "all evenly" in hub_only.reason


def test_graph_still_routes_when_a_community_mixes_the_domains() -> None:
    """One level-0 community holds both domains' entities, so it says nothing; the evidence's own entities,
    each mentioned by one expert's training chunks only, still decide."""
    communities = [Community(id="c-mixed", level=0, members=["e-hitchcock", "e-pele"])]
    mentions = {"film1-a": ["e-hitchcock"], "sport1-a": ["e-pele"]}
    registry = ExpertRegistry(
        experts=[
            Expert(name=name, backend=CheckpointBackend(path=Path("/m")), documents=docs)
            for name, docs in [("film", ["film1"]), ("sport", ["sport1"]), ("general", [])]
        ]
    )
    router = GraphRouter(registry, _store(communities, mentions))
    assert router.route("q", _result("sport1-a")).scores == {"sport": 1.0}
    assert router.route("q", _result("film1-a")).expert == "film"


def test_evidence_no_expert_trained_on_routes_by_its_community() -> None:
    """new1 is in no expert's documents, so Kubrick's own chunks say nothing; his community, which film's
    training shares, does."""
    communities = [
        Community(id="c-film", level=0, members=["e-hitchcock", "e-kubrick"]),
        Community(id="c-sport", level=0, members=["e-pele"]),
    ]
    mentions = {"film1-a": ["e-hitchcock"], "new1-a": ["e-kubrick"], "sport1-a": ["e-pele"]}
    registry = ExpertRegistry(
        experts=[
            Expert(name=name, backend=CheckpointBackend(path=Path("/m")), documents=docs)
            for name, docs in [("film", ["film1"]), ("sport", ["sport1"]), ("general", [])]
        ]
    )
    route = GraphRouter(registry, _store(communities, mentions)).route("q", _result("new1-a"))
    assert route.scores == {"film": 1.0} and route.expert == "film"


def test_graph_abstains_without_evidence_in_expert_communities(registry: ExpertRegistry) -> None:
    router = GraphRouter(registry, _store())
    assert router.route("q", _result("k3")).scores == {}
    assert router.route("q", None).expert == "general"
    untrained = registry.model_copy(
        update={"experts": [e.model_copy(update={"communities": []}) for e in registry.experts]}
    )
    store = _store()
    route = GraphRouter(untrained, store).route("q", _result("k1"))
    assert route.expert == "general" and "communities or documents it was trained on" in route.reason
    store.iter_chunks.assert_not_called()  # nothing to map: the workspace's chunks are not read


def test_combined_falls_back_to_general_below_the_threshold(registry: ExpertRegistry, embedder) -> None:  # type: ignore[no-untyped-def]
    store = _store()
    question = "Which director made the movie Vertigo?"
    agreeing = CombinedRouter([CentroidRouter(registry, embedder), GraphRouter(registry, store)], threshold=0.6)
    assert agreeing.route(question, _result("k2")).expert == "film"
    # the graph says sport, the centroid film: neither is confident enough together
    torn = CombinedRouter([CentroidRouter(registry, embedder), GraphRouter(registry, store)], threshold=0.9)
    route = torn.route(question, _result("k1"))
    assert route.expert == "general" and "below the threshold 0.90" in route.reason and route.scores


def test_routers_by_name(registry: ExpertRegistry, embedder) -> None:  # type: ignore[no-untyped-def]
    assert build_router("combined", RouterContext(registry, embedder, _store())).name == "combined"
    with pytest.raises(UnknownComponentError, match="unknown experts router 'knn'; known: centroid, combined, graph"):
        build_router("knn", RouterContext(registry, embedder))

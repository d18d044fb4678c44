"""Chat (follow-ups rewritten, SSE and JSON forms), the graph endpoints and upload jobs, end to end on the
embedded store over the sample documents."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import load_settings

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample"
FIRST = "Who designed the Halvorsen Viaduct?"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    api = create_app(load_settings(data_dir=tmp_path_factory.mktemp("api-chat"), chunker="sentence", upload_max_mb=1))
    api.state.engine.ingest([SAMPLE / "ingrid_solberg.txt", SAMPLE / "halvorsen_viaduct.md"])
    with TestClient(api) as test_client:
        yield test_client
    api.state.engine.close()


def _events(body: str) -> list[tuple[str, object]]:
    events = []
    for block in filter(None, body.split("\n\n")):
        kind, data = block.split("\n", 1)
        events.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


def test_follow_up_is_rewritten_from_the_history_and_answered_with_citations(client: TestClient) -> None:
    opening = "Which bridges did Ingrid Solberg design?"
    first = client.post("/v1/chat", json={"question": opening, "stream": False}).json()
    assert first["rewritten_by"] == "none" and first["standalone_question"] == opening and first["sources"]
    history = [{"role": "user", "content": opening}, {"role": "assistant", "content": first["answer"]}]
    follow = client.post("/v1/chat", json={"question": "Where was she born?", "history": history, "stream": False})
    body = follow.json()
    assert body["rewritten_by"] == "rules" and body["standalone_question"].startswith("Ingrid Solberg")
    assert body["question"] == "Where was she born?"
    assert "Bergen" in body["answer"] and body["sources"] and body["route"] is None
    assert any(s["title"] == "ingrid_solberg" for s in body["sources"])


def test_chat_streams_tokens_then_sources_then_done(client: TestClient) -> None:
    with client.stream(
        "POST", "/v1/chat", json={"question": "Where was the designer of the Halvorsen Viaduct born?"}
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events("".join(r.iter_text()))
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "token" and kinds[-2:] == ["sources", "done"] and "route" not in kinds  # no experts here
    text = "".join(str(data) for kind, data in events if kind == "token")
    sources = events[-2][1]["sources"]  # type: ignore[index]
    # The sentence that answers cites the source it comes from: the biography, which names Bergen.
    cited = re.search(r"Bergen[^\[]*\[(\d+)\]", text)
    assert cited is not None, text
    source = sources[int(cited.group(1)) - 1]
    assert "Bergen" in source["text"] and "page" in source and source["title"] == "ingrid_solberg"
    assert events[-1][1]["answer"] == text  # type: ignore[index]


def test_bad_chat_requests(client: TestClient) -> None:
    assert client.post("/v1/chat", json={"question": "  "}).status_code == 422
    assert (
        client.post("/v1/chat", json={"question": "x", "history": [{"role": "system", "content": "x"}]}).status_code
        == 422
    )
    assert client.post("/v1/chat", json={"question": "x", "stream": "yes"}).status_code == 422


def test_entity_search_detail_and_neighbourhood(client: TestClient) -> None:
    found = client.get("/v1/graph/entities", params={"q": "ingrid solberg"}).json()
    assert found[0]["name"] == "Ingrid Solberg" and found[0]["score"] == 1.0
    detail = client.get(f"/v1/graph/entities/{found[0]['id']}").json()
    titles = {e["title"] for e in detail["evidence"]}
    assert {"ingrid_solberg", "Halvorsen Viaduct"} <= titles
    assert all(e["text"] and e["doc_id"] for e in detail["evidence"])
    assert detail["neighbours"], "Ingrid Solberg is related to something in the samples"
    view = client.get(f"/v1/graph/entities/{found[0]['id']}/neighbourhood").json()
    node_ids = {n["id"] for n in view["nodes"]}
    assert found[0]["id"] in node_ids and all({e["source"], e["target"]} <= node_ids for e in view["edges"])


def test_subgraph_behind_an_answer(client: TestClient) -> None:
    answer = client.post("/v1/ask", json={"question": FIRST, "top_k": 2}).json()
    chunk_ids = [s["chunk_id"] for s in answer["sources"]]
    view = client.post("/v1/graph/subgraph", json={"chunk_ids": chunk_ids}).json()
    assert view["chunk_ids"] == chunk_ids
    entities = {n["label"] for n in view["nodes"] if n["kind"] == "entity"}
    assert any(label.startswith("Halvorsen Viaduct") for label in entities)
    node_ids = {n["id"] for n in view["nodes"]}
    assert {e["type"] for e in view["edges"]} >= {"MENTIONS"}
    assert all({e["source"], e["target"]} <= node_ids for e in view["edges"])
    by_question = client.post("/v1/graph/subgraph", json={"question": FIRST, "top_k": 2}).json()
    assert by_question["chunk_ids"] == chunk_ids
    assert client.post("/v1/graph/subgraph", json={"chunk_ids": ["chk-unknown"]}).json()["nodes"] == []


def test_upload_job_runs_and_bad_uploads_are_refused(client: TestClient) -> None:
    files = [
        ("files", ("kestrel_river.html", (SAMPLE / "kestrel_river.html").read_bytes())),
        ("files", ("../../evil name.txt", b"The Kestrel River flows past Vindmoor.")),
        ("files", ("broken.pdf", b"%PDF-1.4 not really")),
    ]
    created = client.post("/v1/jobs/uploads", files=files, data={"name": "three files"})
    assert created.status_code == 202, created.text
    job = created.json()
    assert job["counts"]["files_total"] == 3 and "/" not in "".join(job["inputs"])
    deadline = time.monotonic() + 120
    while (done := client.get(f"/v1/jobs/{job['id']}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the upload job did not finish"
        time.sleep(0.2)
    assert done["status"] == "done" and (done["counts"]["files_done"], done["counts"]["files_failed"]) == (2, 1)
    uploads = client.app.state.settings.workspace_dir / "uploads"  # type: ignore[attr-defined]
    stored = sorted(p.name for p in uploads.rglob("*") if p.is_file())
    assert "kestrel_river.html" in stored and not any(".." in name or " " in name for name in stored)
    assert any(d["title"] == "Kestrel River" for d in client.get("/v1/documents").json())

    oversized = client.post("/v1/jobs/uploads", files=[("files", ("big.txt", b"x" * (1024 * 1024 + 10)))])
    assert oversized.status_code == 413 and oversized.json()["error"]["code"] == "payload_too_large"
    wrong_type = client.post("/v1/jobs/uploads", files=[("files", ("tool.exe", b"MZ"))])
    assert wrong_type.status_code == 415 and wrong_type.json()["error"]["code"] == "unsupported_media_type"

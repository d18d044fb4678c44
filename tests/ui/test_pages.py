"""The UI's pages with Streamlit's AppTest, against a real API server (HTTP only, as the UI runs)."""

from __future__ import annotations

import time

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from tests.ui.conftest import REPO, SAMPLE_QUESTION

VIEWS = REPO / "ui" / "views"


@pytest.fixture
def page(api_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AMALGAM_API_URL", api_url)

    def open_page(name: str) -> AppTest:
        app = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=120)
        return app.run()

    return open_page


def _texts(app: AppTest) -> str:
    return "\n".join([m.value for m in app.markdown] + [c.value for c in app.caption])


def test_chat_answers_with_citations_follows_up_and_starts_over(page) -> None:  # type: ignore[no-untyped-def]
    chat = page("chat")
    assert not chat.exception
    chat.chat_input[0].set_value(SAMPLE_QUESTION).run()
    assert "Bergen" in _texts(chat)
    labels = [e.label for e in chat.expander]
    assert labels and labels[0].startswith("[1] ") and any("ingrid_solberg" in label for label in labels)
    assert chat.session_state.last_chunk_ids

    chat.chat_input[0].set_value("When did she join the Northern Coast Railway?").run()
    assert len(chat.session_state.messages) == 4
    assert "1921" in _texts(chat)
    assert any("rewritten by rules" in c.value for c in chat.caption)

    next(b for b in chat.sidebar.button if b.label == "New chat").click().run()
    assert chat.session_state.messages == [] and not chat.expander


def test_graph_page_searches_entities_and_lists_communities(page) -> None:  # type: ignore[no-untyped-def]
    graph = page("graph")
    graph.text_input(key="entity_query").set_value("Ingrid Solberg").run()
    assert not graph.exception
    assert any("### Ingrid Solberg" in m.value for m in graph.markdown)
    assert any(label.startswith(("ingrid_solberg", "Halvorsen Viaduct")) for label in (e.label for e in graph.expander))
    graph.radio(key="graph_view").set_value("Communities").run()
    assert not graph.exception
    # Communities are built at the end of the fixture's ingest; each is listed with its size.
    assert any(e.label.endswith(" entities") for e in graph.expander)


def test_documents_page_lists_and_deletes(page, api_url: str) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=api_url) as http:
        http.post("/v1/documents", files={"file": ("doomed.txt", b"The Doomed Tower stood in Vindmoor.")})
        doomed = next(d for d in http.get("/v1/documents").json() if d["title"] == "doomed")
    documents = page("documents")
    assert not documents.exception and documents.dataframe
    documents.selectbox(key="doomed").set_value(doomed["id"]).run()
    documents.button(key="delete").click().run()
    with httpx.Client(base_url=api_url) as http:
        assert doomed["id"] not in {d["id"] for d in http.get("/v1/documents").json()}


def test_jobs_page_starts_a_job_and_shows_its_failures(page, api_url: str) -> None:  # type: ignore[no-untyped-def]
    jobs = page("jobs")
    jobs.text_input(key="job_name").set_value("ui batch")
    jobs.text_area(key="job_paths").set_value("batch").run()
    jobs.button(key="job_start").click().run()
    assert not jobs.exception and any("Started" in s.value for s in jobs.success)
    job_id = jobs.session_state.job_id
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=api_url) as http:
        while http.get(f"/v1/jobs/{job_id}").json()["status"] in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.3)
    jobs.run()
    assert [p.text for p in jobs.get("progress")] == ["done · 2 of 2 files"]  # type: ignore[attr-defined]
    failures = jobs.dataframe[0].value
    assert list(failures["file"]) == ["batch/broken.pdf"] and failures["error"][0]

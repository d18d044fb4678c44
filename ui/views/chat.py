"""Chat page: streamed answers with numbered citations that open on the chunk's text (document title and
page), the expert route when the server has experts, follow-ups in one conversation, and "New chat"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import streamlit as st

from ui.client import AmalgamClient, ApiError
from ui.common import MODES, client, show_error

SAMPLE_QUESTION = "Where was the designer of the Halvorsen Viaduct born?"


def citation_label(number: int, source: dict[str, Any]) -> str:
    page = f" · page {source['page']}" if source.get("page") else ""
    return f"[{number}] {source.get('title') or source.get('doc_id', '')}{page}"


def show_turn(turn: dict[str, Any]) -> None:
    """One assistant answer: text, how the question was read, the route, and the numbered citations."""
    if turn.get("rewritten_by") not in (None, "none"):
        st.caption(f"Answered as: “{turn['standalone_question']}” (rewritten by {turn['rewritten_by']})")
    if turn.get("route"):
        route = turn["route"]
        st.caption(f"Route: {route.get('expert') or route.get('name') or route}")
    sources = turn.get("sources") or []
    if sources:
        st.markdown("**Sources**")
    for number, source in enumerate(sources, start=1):
        with st.expander(citation_label(number, source)):
            st.markdown(source.get("text", ""))
            st.caption(f"{source.get('source', '')} · chunk {source.get('chunk_id', '')} · score {source['score']:.3f}")


def _tokens(stream: Iterator[tuple[str, Any]], into: dict[str, Any]) -> Iterator[str]:
    """The answer's text as it streams; the other events are kept in ``into``."""
    for event, data in stream:
        if event == "token":
            yield str(data)
        else:
            into[event] = data


def answer(api: AmalgamClient, question: str, top_k: int, mode: str) -> None:
    messages = st.session_state.messages
    history = [{"role": m["role"], "content": m["content"]} for m in messages]
    messages.append({"role": "user", "content": question})
    st.chat_message("user").write(question)
    events: dict[str, Any] = {}
    with st.chat_message("assistant"):
        try:
            text = st.write_stream(_tokens(api.chat_stream(question, history, top_k=top_k, mode=mode), events))
        except ApiError as exc:
            show_error(exc)
            messages.pop()
            return
        done, context = events.get("done", {}), events.get("sources", {})
        turn = {
            "role": "assistant",
            "content": text if isinstance(text, str) else done.get("answer", ""),
            "sources": context.get("sources", []),
            "route": events.get("route"),
            "standalone_question": done.get("standalone_question", question),
            "rewritten_by": done.get("rewritten_by", "none"),
        }
        show_turn(turn)
    messages.append(turn)
    st.session_state.last_chunk_ids = [s["chunk_id"] for s in turn["sources"]]


def page() -> None:
    st.title("Chat")
    api = client()
    if api is None:
        return
    st.session_state.setdefault("messages", [])
    if st.sidebar.button("New chat", icon=":material/add_comment:"):
        st.session_state.messages = []
        st.session_state.last_chunk_ids = []
    top_k = st.sidebar.slider("Sources", 1, 20, 5)
    mode = st.sidebar.selectbox("Retrieval", MODES)
    for turn in st.session_state.messages:
        with st.chat_message(turn["role"]):
            st.markdown(turn["content"])
            if turn["role"] == "assistant":
                show_turn(turn)
    if not st.session_state.messages:
        st.caption(f"Try: {SAMPLE_QUESTION}")
    if question := st.chat_input("Ask about your documents"):
        answer(api, question, top_k, str(mode))


page()

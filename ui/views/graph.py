"""Graph page: entity search and detail (aliases, descriptions, neighbours, evidence with document and
page), an interactive neighbourhood view, the subgraph behind the last chat answer, and communities."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.client import AmalgamClient, ApiError
from ui.common import client, show_error
from ui.graph_view import draw


def entity_panel(api: AmalgamClient) -> None:
    query = st.text_input("Find an entity", key="entity_query", placeholder="e.g. Ingrid Solberg")
    if not query.strip():
        return
    try:
        found = api.entities(query, limit=15)
    except ApiError as exc:
        show_error(exc)
        return
    if not found:
        st.info(f"No entity matches “{query}”.")
        return
    labels = {e["id"]: f"{e['name']} [{e['type']}] · {e['mentions']} mentions" for e in found}
    chosen = st.selectbox("Entities", list(labels), format_func=labels.__getitem__, key="entity_choice")
    detail = api.entity(str(chosen))
    show_entity(detail)
    st.subheader("Neighbourhood")
    draw(api.neighbourhood(str(chosen)), key=f"hood-{chosen}", centre=str(chosen))


def show_entity(detail: dict[str, Any]) -> None:
    st.markdown(f"### {detail['name']}  \n`{detail['type']}` · {detail['mentions']} mentions")
    if detail["aliases"]:
        st.caption("Also: " + ", ".join(detail["aliases"]))
    if detail["description"]:
        st.write(detail["description"])
    if detail["neighbours"]:
        rows = [
            {
                "relation": n["relation"] if n["direction"] == "out" else f"← {n['relation']}",
                "entity": n["name"],
                "type": n["type"],
                "evidence": int(n["weight"]),
            }
            for n in detail["neighbours"]
        ]
        st.dataframe(rows, hide_index=True, use_container_width=True)
    for chunk in detail["evidence"]:
        page = f" · page {chunk['page']}" if chunk.get("page") else ""
        with st.expander(f"{chunk['title']}{page}"):
            if chunk["description"]:
                st.caption(chunk["description"])
            st.markdown(chunk["text"])


def last_answer_panel(api: AmalgamClient) -> None:
    chunk_ids = st.session_state.get("last_chunk_ids") or []
    if not chunk_ids:
        st.caption("Ask something on the Chat page: the graph behind its answer shows here.")
        return
    try:
        view = api.subgraph(chunk_ids)
    except ApiError as exc:
        show_error(exc)
        return
    if view.get("truncated"):
        st.caption("Only the first entities are drawn.")
    draw(view, key="last-answer")


def communities_panel(api: AmalgamClient) -> None:
    try:
        communities = api.communities()
    except ApiError as exc:
        show_error(exc)
        return
    if communities is None:
        st.info("This server does not list communities yet (GET /v1/communities is not available).")
        return
    if not communities:
        st.info("No communities yet: run `amalgam graph rebuild-communities`.")
        return
    levels = sorted({c.get("level", 0) for c in communities})
    level = st.selectbox("Level", levels, key="community_level")
    for community in (c for c in communities if c.get("level", 0) == level):
        title = community.get("title") or community.get("id")
        with st.expander(f"{title} · {community.get('size', len(community.get('entities', [])))} entities"):
            st.write(community.get("summary") or "(no summary)")


def page() -> None:
    st.title("Graph")
    api = client()
    if api is None:
        return
    # One view at a time (not tabs): a graph drawn inside a hidden tab lays itself out at zero size.
    panels = {"Entities": entity_panel, "Last answer": last_answer_panel, "Communities": communities_panel}
    view = st.radio("View", list(panels), horizontal=True, key="graph_view", label_visibility="collapsed")
    panels[str(view)](api)


page()

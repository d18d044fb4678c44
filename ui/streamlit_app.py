"""Amalgam chat UI (Streamlit). Run with ``amalgam ui``; it needs ``amalgam serve`` running."""

from __future__ import annotations

import argparse
import os
import sys

import httpx
import streamlit as st

from ui.client import AmalgamClient


def _api_url() -> str:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default=os.environ.get("AMALGAM_API_URL", "http://127.0.0.1:8000"))
    return str(parser.parse_known_args(sys.argv[1:])[0].api)


def _sidebar(client: AmalgamClient) -> tuple[int, str]:
    st.sidebar.header("Documents")
    uploaded = st.sidebar.file_uploader("Add a document", type=["txt", "md", "html", "pdf", "jsonl"])
    if uploaded is not None and st.sidebar.button("Ingest"):
        try:
            result = client.upload(uploaded.name, uploaded.getvalue())
            st.sidebar.success(f"{result['chunks']} chunks, {result['entities']} entities")
        except httpx.HTTPStatusError as exc:
            st.sidebar.error(exc.response.text)
    for doc in client.documents():
        st.sidebar.caption(f"{doc['title']} · {doc['id']}")
    top_k = st.sidebar.slider("Sources", 1, 20, 5)
    mode = st.sidebar.selectbox("Retrieval", ["hybrid", "dense", "graph", "multihop", "auto"])
    return top_k, mode


def _show_answer(response: dict) -> None:
    st.markdown(response["answer"])
    with st.expander(f"{len(response['sources'])} sources"):
        for number, source in enumerate(response["sources"], start=1):
            page = f", page {source['page']}" if source.get("page") else ""
            st.markdown(f"**[{number}] {source['title']}**{page} — score {source['score']:.3f}")
            st.caption(source["text"][:600])


def main() -> None:
    st.set_page_config(page_title="Amalgam", page_icon="🔗")
    st.title("Amalgam")
    client = AmalgamClient(_api_url(), api_key=os.environ.get("AMALGAM_API_KEY", ""))
    try:
        client.health()
    except httpx.HTTPError:
        st.error(f"The Amalgam API is not reachable at {_api_url()}: start it with `amalgam serve`.")
        return
    top_k, mode = _sidebar(client)
    history = st.session_state.setdefault("history", [])
    for question, response in history:
        st.chat_message("user").write(question)
        with st.chat_message("assistant"):
            _show_answer(response)
    if question := st.chat_input("Ask about your documents"):
        st.chat_message("user").write(question)
        with st.chat_message("assistant"):
            response = client.ask(question, top_k=top_k, mode=mode)
            _show_answer(response)
        history.append((question, response))


main()

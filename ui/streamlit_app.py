"""Amalgam web UI (Streamlit): Chat, Graph, Documents and Jobs pages. Run with ``amalgam ui``; it needs
``amalgam serve`` running, and speaks to it over HTTP only (``ui/client.py``)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"


def main() -> None:
    st.set_page_config(page_title="Amalgam", page_icon="🔗", layout="wide")
    pages = [
        st.Page(VIEWS / "chat.py", title="Chat", icon=":material/chat:", default=True),
        st.Page(VIEWS / "graph.py", title="Graph", icon=":material/hub:"),
        st.Page(VIEWS / "documents.py", title="Documents", icon=":material/description:"),
        st.Page(VIEWS / "jobs.py", title="Jobs", icon=":material/work_history:"),
    ]
    st.navigation(pages).run()


main()

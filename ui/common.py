"""What every page shares: the API client (URL from ``--api`` or AMALGAM_API_URL, key from AMALGAM_API_KEY),
the workspace picker, and how an API error is shown."""

from __future__ import annotations

import argparse
import os
import sys

import httpx
import streamlit as st

from ui.client import DEFAULT_WORKSPACE, AmalgamClient, ApiError

MODES = ["hybrid", "dense", "graph", "multihop", "auto"]


def api_url() -> str:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api", default=os.environ.get("AMALGAM_API_URL", "http://127.0.0.1:8000"))
    return str(parser.parse_known_args(sys.argv[1:])[0].api)


def base_client() -> AmalgamClient:
    if "client" not in st.session_state:
        st.session_state.client = AmalgamClient(api_url(), api_key=os.environ.get("AMALGAM_API_KEY", ""))
    client: AmalgamClient = st.session_state.client
    return client


def client() -> AmalgamClient | None:
    """The client for the workspace picked in the sidebar, or None (with a message) when the API is down."""
    base = base_client()
    try:
        base.health()
        workspaces = base.workspaces()
    except httpx.HTTPError:
        st.error(f"The Amalgam API is not reachable at {base.base_url}: start it with `amalgam serve`.")
        return None
    except ApiError as exc:
        st.error(f"The API refused the UI: {exc.message}. Set AMALGAM_API_KEY for `amalgam ui`.")
        return None
    default = next((w["name"] for w in workspaces if w.get("default")), "")
    names = [w["name"] for w in workspaces]
    if not names:
        st.error("This API key may use no workspace.")
        return None
    start = names.index(default) if default in names else 0
    chosen = st.sidebar.selectbox("Workspace", names, index=start, key="workspace")
    return base.in_workspace(DEFAULT_WORKSPACE if chosen == default else str(chosen))


def show_error(exc: Exception) -> None:
    if isinstance(exc, ApiError):
        st.error(f"{exc.message} ({exc.status} {exc.code})")
    else:
        st.error(f"The API could not be reached: {exc}")

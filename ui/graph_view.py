"""Draws a ``{nodes, edges}`` graph from the API: interactive with the ``streamlit-cytoscape`` component
(zoom, drag, select, fullscreen), or as a static Graphviz picture when that component is not installed."""

from __future__ import annotations

from typing import Any

import streamlit as st

COLOURS = {"ENTITY": "#2f6fdf", "CHUNK": "#e08a1e", "CENTRE": "#c0392b"}


def elements(view: dict[str, Any], centre: str = "") -> dict[str, list[dict[str, Any]]]:
    """The component's elements: node ``label`` is its group (styled), ``name`` its caption."""
    nodes = [
        {
            "data": {
                "id": node["id"],
                "label": "CENTRE" if node["id"] == centre else node["kind"].upper(),
                "name": node["label"],
                "type": node.get("type", ""),
                "page": node.get("page"),
            }
        }
        for node in view.get("nodes", [])
    ]
    edges = [
        {
            "data": {
                "id": edge["id"],
                "source": edge["source"],
                "target": edge["target"],
                "label": "MENTIONS" if edge["type"] == "MENTIONS" else "RELATED",
                "type": edge["type"],
                "weight": edge.get("weight", 1.0),
            }
        }
        for edge in view.get("edges", [])
    ]
    return {"nodes": nodes, "edges": edges}


def draw(view: dict[str, Any], key: str, centre: str = "", height: int = 480) -> None:
    if not view.get("nodes"):
        st.info("Nothing to draw: no entities here.")
        return
    try:
        from streamlit_cytoscape import EdgeStyle, NodeStyle, streamlit_cytoscape
    except ImportError:
        st.graphviz_chart(_dot(view, centre))
        return
    # Labels stay readable when the view zooms out to fit a larger graph (the component hides them by default).
    text = {"min-zoomed-font-size": 0, "font-size": 11}
    node_styles = [
        NodeStyle(label, colour, "name", custom_styles={**text, "width": 28, "height": 28})
        for label, colour in COLOURS.items()
    ]
    edge_styles = [
        EdgeStyle("RELATED", "#7f8c8d", "type", directed=True, custom_styles=text),
        EdgeStyle("MENTIONS", "#e0c08a", directed=True),
    ]
    streamlit_cytoscape(
        elements(view, centre), layout="cose", node_styles=node_styles, edge_styles=edge_styles, height=height, key=key
    )


def _dot(view: dict[str, Any], centre: str) -> str:
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph G {", "  node [style=filled, fontcolor=white, fontname=Helvetica];"]
    for node in view["nodes"]:
        kind = "CENTRE" if node["id"] == centre else node["kind"].upper()
        shape = "box" if node["kind"] == "chunk" else "ellipse"
        lines.append(
            f"  {quoted(node['id'])} [label={quoted(node['label'])}, shape={shape}, color={quoted(COLOURS[kind])}];"
        )
    for edge in view["edges"]:
        label = "" if edge["type"] == "MENTIONS" else edge["type"]
        lines.append(f"  {quoted(edge['source'])} -> {quoted(edge['target'])} [label={quoted(label)}];")
    return "\n".join([*lines, "}"])

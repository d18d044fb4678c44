"""Documents page: upload (with progress over the files), list with status, delete."""

from __future__ import annotations

import streamlit as st

from ui.client import AmalgamClient, ApiError
from ui.common import client, show_error

TYPES = ["txt", "md", "html", "pdf", "jsonl"]


def upload_panel(api: AmalgamClient) -> None:
    files = st.file_uploader("Add documents", type=TYPES, accept_multiple_files=True, key="doc_upload")
    if not files or not st.button("Ingest", key="ingest"):
        return
    progress = st.progress(0.0, text="Ingesting…")
    for done, upload in enumerate(files, start=1):
        try:
            result = api.upload(upload.name, upload.getvalue())
            st.success(f"{upload.name}: {result['chunks']} chunks, {result['entities']} entities")
        except ApiError as exc:
            st.error(f"{upload.name}: {exc.message}")
        progress.progress(done / len(files), text=f"{done} of {len(files)} files")


def list_panel(api: AmalgamClient) -> None:
    try:
        documents = api.documents()
    except ApiError as exc:
        show_error(exc)
        return
    if not documents:
        st.info("No documents in this workspace yet.")
        return
    rows = [{k: d[k] for k in ("title", "status", "pages", "source", "id")} for d in documents]
    st.dataframe(rows, hide_index=True, use_container_width=True)
    titles = {d["id"]: f"{d['title']} · {d['id']}" for d in documents}
    doomed = st.selectbox("Delete a document", list(titles), format_func=titles.__getitem__, key="doomed")
    if st.button("Delete", key="delete", type="secondary"):
        try:
            report = api.delete(str(doomed))
            st.success(f"Deleted: {report['chunks']} chunks, {report['entities_removed']} entities gone")
            st.rerun()
        except ApiError as exc:
            show_error(exc)


def page() -> None:
    st.title("Documents")
    api = client()
    if api is None:
        return
    upload_panel(api)
    list_panel(api)


page()

"""Jobs page: start a batch job (server-side paths or uploaded files), watch its progress live, see the
failed files and retry them, cancel."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.client import AmalgamClient, ApiError
from ui.common import client, show_error

REFRESH_S = 2.0
ACTIVE = ("queued", "running")


def start_panel(api: AmalgamClient) -> None:
    with st.expander("Start a job", expanded=False):
        name = st.text_input("Name", key="job_name")
        paths = st.text_area("Server-side paths (one a line, relative to the jobs root)", key="job_paths")
        files = st.file_uploader("…or upload files", accept_multiple_files=True, key="job_files")
        if st.button("Start", key="job_start"):
            try:
                if files:
                    job = api.upload_job([(f.name, f.getvalue()) for f in files], name=name)
                else:
                    job = api.create_job([p.strip() for p in paths.splitlines() if p.strip()], name=name)
                st.session_state.job_id = job["id"]
                st.success(f"Started {job['id']}")
            except ApiError as exc:
                show_error(exc)


def show_job(job: dict[str, Any]) -> None:
    counts = job["counts"]
    finished = counts["files_done"] + counts["files_failed"]
    total = max(counts["files_total"], 1)
    eta = f" · ETA {job['eta_s']:.0f} s" if job.get("eta_s") else ""
    st.progress(finished / total, text=f"{job['status']} · {finished} of {counts['files_total']} files{eta}")
    figures = {k: counts.get(k, 0) for k in ("files_failed", "chunks", "entities", "relations")}
    st.caption(" · ".join(f"{k.replace('_', ' ')}: {v}" for k, v in figures.items()))
    failed = [f for f in job.get("files", []) if f["status"] == "failed"]
    if failed:
        st.markdown("**Failures**")
        st.dataframe([{"file": f["path"], "error": f["error"]} for f in failed], hide_index=True)


@st.fragment(run_every=REFRESH_S)
def live_job(api: AmalgamClient, job_id: str) -> None:
    """Re-drawn every few seconds on its own, so progress moves without reloading the page."""
    try:
        show_job(api.job(job_id))
    except ApiError as exc:
        show_error(exc)


def jobs_panel(api: AmalgamClient) -> None:
    try:
        jobs = api.jobs()
    except ApiError as exc:
        show_error(exc)
        return
    if not jobs:
        st.info("No jobs in this workspace yet.")
        return
    labels = {j["id"]: f"{j['name'] or j['id']} · {j['status']}" for j in jobs}
    current = st.session_state.get("job_id")
    start = list(labels).index(current) if current in labels else 0
    job_id = str(st.selectbox("Job", list(labels), index=start, format_func=labels.__getitem__, key="job_pick"))
    job = next(j for j in jobs if j["id"] == job_id)
    live_job(api, job_id)
    cancel, retry = st.columns(2)
    if cancel.button("Cancel", disabled=job["status"] not in ACTIVE, key="job_cancel"):
        _act(api.cancel_job, job_id)
    if retry.button("Retry failed files", disabled=not job["counts"]["files_failed"], key="job_retry"):
        _act(api.retry_job, job_id)


def _act(action: Any, job_id: str) -> None:
    try:
        action(job_id)
        st.rerun()
    except ApiError as exc:
        show_error(exc)


def page() -> None:
    st.title("Jobs")
    api = client()
    if api is None:
        return
    start_panel(api)
    jobs_panel(api)


page()

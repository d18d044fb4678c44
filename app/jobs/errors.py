"""Errors of batch jobs, under the one root (``AmalgamError``); the API and the CLI map them to codes."""

from __future__ import annotations

from app.errors import AmalgamError


class JobError(AmalgamError):
    """A job request that cannot be served."""


class JobNotFoundError(JobError):
    """No job with that id in this workspace."""


class JobStateError(JobError):
    """The job is not in a state that allows the request (e.g. it is running in another process)."""


class JobInputError(JobError):
    """An input path that does not exist or lies outside the allowed root."""

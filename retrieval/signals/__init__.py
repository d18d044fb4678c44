"""Retrieval signals: each ranks the workspace's chunks for one question its own way (see ``base.py``)."""

"""Fusion: one ranking of chunks from several signals' rankings (see ``base.py``)."""

"""Benchmark data sets, metrics, and the tuning and training of the learned parts (fusion weights, learned
fusion, TreeHop). Builds its workspaces through ``Engine.ingest`` like any user (``workspace.py``); it
imports the runtime packages and no runtime package imports it."""

"""Expert LLMs: a registry (``experts.yaml``), LoRA training (peft), merging (mergekit), routing and serving.

The heavy libraries (torch, transformers, peft, mergekit) are imported only inside the functions that
need them, so reading a registry or routing a question stays light.
"""

"""Router implementations, one file each; ``registry.py`` builds one by name."""

from ingest.loaders.registry import SUPPORTED_EXTENSIONS, discover, load_file, load_path

__all__ = ["SUPPORTED_EXTENSIONS", "discover", "load_file", "load_path"]

"""Training domains from folders: each records its documents by the ids a workspace gives them."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.experts.domains import domains_from_folder
from ingest.loaders.registry import load_path


def test_folder_domains_record_their_documents_by_content_not_path(tmp_path: Path) -> None:
    for domain, text in [("film", "Alfred Hitchcock directed Vertigo in 1958."), ("sport", "Pele played for Santos.")]:
        (tmp_path / "domains" / domain).mkdir(parents=True)
        (tmp_path / "domains" / domain / "a.txt").write_text(text)
    film, sport = domains_from_folder(tmp_path / "domains")
    # the same file ingested from elsewhere is the same workspace document, so the graph router finds it
    (tmp_path / "inbox").mkdir()
    copy = shutil.copy(tmp_path / "domains" / "film" / "a.txt", tmp_path / "inbox" / "hitchcock.txt")
    assert film.documents == [d.id for d in load_path(Path(copy))]
    assert film.texts == ["Alfred Hitchcock directed Vertigo in 1958."] and sport.documents != film.documents

"""The evaluation's data set checks and its workspace key: what makes a cached workspace reusable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.config import load_settings
from app.evaluation.datasets import (
    DatasetError,
    Passage,
    Question,
    check_dataset_dir,
    context_passages,
    load_questions,
)
from app.evaluation.workspace import corpus_jsonl, ingest_code_digest, ingest_key, workspace_name


def _write(folder: Path, name: str, rows: list[dict[str, object]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_a_folder_without_a_data_file_names_the_missing_one(tmp_path: Path) -> None:
    _write(tmp_path, "corpus.jsonl", [{"id": "p1", "title": "T", "text": "x"}])
    with pytest.raises(DatasetError, match="questions.jsonl") as raised:
        check_dataset_dir(tmp_path)
    assert "corpus.jsonl and" not in str(raised.value)  # only the missing file is named
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="corpus.jsonl and questions.jsonl"):
        check_dataset_dir(tmp_path / "empty")
    with pytest.raises(DatasetError, match="not found"):
        check_dataset_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("command", ["multihop", "tune-fusion", "train-fusion", "tune-treehop"])
def test_eval_commands_exit_1_with_the_missing_file(tmp_path: Path, command: str) -> None:
    _write(tmp_path, "questions.jsonl", [])
    result = CliRunner().invoke(app, ["eval", command, "--dataset-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "corpus.jsonl" in result.output and "Traceback" not in result.output


def test_limit_questions_keeps_only_their_context_passages(tmp_path: Path) -> None:
    rows = [
        {
            "id": "q1",
            "dataset": "d",
            "question": "?",
            "answer": "a",
            "split": "dev",
            "supporting_ids": ["p1"],
            "context_ids": ["p1", "p2"],
        },
        {"id": "q2", "dataset": "d", "question": "?", "answer": "a", "split": "dev", "supporting_ids": ["p3"]},
    ]
    _write(tmp_path, "questions.jsonl", rows)
    questions = load_questions(tmp_path, "dev")
    assert questions[0].context_ids == ["p1", "p2"] and questions[1].context_ids == ["p3"]
    passages = [Passage(f"p{i}", f"T{i}", "text") for i in range(1, 6)]
    assert [p.id for p in context_passages(passages, questions[:1])] == ["p1", "p2"]
    assert [p.id for p in context_passages(passages, questions)] == ["p1", "p2", "p3"]


def test_corpus_file_is_what_amalgam_ingest_reads(tmp_path: Path) -> None:
    from ingest.loaders.jsonl import JsonlLoader

    path = tmp_path / "corpus.jsonl"
    path.write_bytes(corpus_jsonl([Passage("mh-1", "Orvieto", "A hill town."), Passage("mh-2", "Ünïcode", "ß")]))
    docs = JsonlLoader().load(path)
    assert [d.metadata["row_id"] for d in docs] == ["mh-1", "mh-2"]
    assert docs[0].source.endswith("corpus.jsonl#mh-1") and docs[0].title == "Orvieto"


def test_the_workspace_key_changes_with_every_ingest_setting_and_the_corpus() -> None:
    corpus = corpus_jsonl([Passage("p1", "T", "text")])
    base = load_settings(chunker="fixed", extractor="spacy")
    key = ingest_key(base, corpus)
    assert ingest_key(load_settings(chunker="fixed", extractor="spacy"), corpus) == key
    changed = [
        load_settings(chunker="sentence", extractor="spacy"),
        load_settings(chunker="fixed", extractor="spacy", chunk_target_tokens=100),
        load_settings(chunker="fixed", extractor="spacy", embedding_model="other-model"),
        load_settings(chunker="fixed", extractor="auto", llm_provider="ollama", llm_model="m"),
    ]
    names = {workspace_name(ingest_key(settings, corpus)) for settings in changed}
    assert workspace_name(key) not in names and len(names) == len(changed)
    assert ingest_key(base, corpus_jsonl([Passage("p1", "T", "text!")])) != key
    # Settings that do not change what ingest writes share the workspace.
    assert ingest_key(load_settings(chunker="fixed", extractor="spacy", top_k=9, device="cpu"), corpus) == key


def test_question_without_context_ids_uses_its_gold_passages() -> None:
    question = Question("q", "d", "?", "a", "dev", ["p1", "p2"])
    assert question.context_ids == ["p1", "p2"]


def test_a_question_limit_takes_the_first_questions_of_every_dataset() -> None:
    from app.evaluation.datasets import Question, first_per_dataset

    def question(n: int, dataset: str) -> Question:
        return Question(id=f"q{n}", dataset=dataset, question="?", answer="a", split="dev", supporting_ids=["p"])

    questions = [question(1, "a"), question(2, "a"), question(3, "a"), question(4, "b"), question(5, "b")]
    assert [q.id for q in first_per_dataset(questions, 2)] == ["q1", "q2", "q4", "q5"]
    assert first_per_dataset(questions, None) == questions


def test_the_ingest_code_digest_changes_with_code_not_with_comments(tmp_path: Path) -> None:
    package = tmp_path / "ingest"
    package.mkdir()
    module = package / "chunker.py"
    module.write_text("def size():\n    return 200\n")
    before = ingest_code_digest.__wrapped__(tmp_path, ("ingest",))
    module.write_text("# the target size\ndef size():\n    return  200  # tokens\n")
    assert ingest_code_digest.__wrapped__(tmp_path, ("ingest",)) == before
    module.write_text("def size():\n    return 100\n")
    assert ingest_code_digest.__wrapped__(tmp_path, ("ingest",)) != before


def test_question_time_code_does_not_rebuild_a_workspace(tmp_path: Path) -> None:
    (tmp_path / "graph" / "algorithms").mkdir(parents=True)
    ranking = tmp_path / "graph" / "algorithms" / "ppr.py"
    store = tmp_path / "graph" / "store.py"
    ranking.write_text("DAMPING = 0.5\n")
    store.write_text("LIMIT = 4096\n")
    before = ingest_code_digest.__wrapped__(tmp_path, ("graph",), ("graph/algorithms",))
    ranking.write_text("DAMPING = 0.7\n")
    assert ingest_code_digest.__wrapped__(tmp_path, ("graph",), ("graph/algorithms",)) == before
    store.write_text("LIMIT = 1024\n")
    assert ingest_code_digest.__wrapped__(tmp_path, ("graph",), ("graph/algorithms",)) != before


def test_no_ingest_module_imports_the_question_time_code() -> None:
    """The digest leaves QUESTION_TIME_CODE out on the grounds that ingest never runs it: keep that true."""
    from app.evaluation.workspace import INGEST_CODE, QUESTION_TIME_CODE, REPO

    skipped = [REPO / folder for folder in QUESTION_TIME_CODE]
    modules = [folder.replace("/", ".") for folder in QUESTION_TIME_CODE]
    for root in INGEST_CODE:
        path = REPO / root
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            if any(file.is_relative_to(folder) for folder in skipped):
                continue
            text = file.read_text(encoding="utf-8")
            assert not any(module in text for module in modules), f"{file} imports question-time code"


def test_newer_ingest_code_keeps_the_workspace_name_but_not_the_key() -> None:
    corpus = corpus_jsonl([Passage("p1", "T", "text")])
    key = ingest_key(load_settings(chunker="fixed", extractor="spacy"), corpus)
    older = {**key, "code": "0" * 16}
    assert older != key and workspace_name(older) == workspace_name(key)

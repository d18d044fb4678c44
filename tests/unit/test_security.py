"""Security properties checked on the source and on hostile model output.

- No query is built from strings at run time: Cypher and SQL live as constants in the stores' query modules,
  where an interpolation may only name a module constant or a label taken from a literal tuple in the same
  expression; everywhere else a string with query keywords must not be an f-string, a ``%`` or a ``+``.
- Entity and relation types from model output always match ``^[A-Za-z][A-Za-z0-9_]{0,63}$``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from graph.extraction.llm import LLMExtractor
from graph.extraction.parsing import parse_extraction
from graph.models import safe_type
from ingest.models import Chunk, Document

REPO = Path(__file__).resolve().parents[2]
RUNTIME = ("ingest", "graph", "retrieval", "app")
QUERY_MODULES = {"graph/store/cypher.py", "graph/store/embedded_queries.py", "graph/store/embedded_schema.py"}
QUERY_WORDS = re.compile(
    r"\b(MATCH|MERGE|UNWIND|DETACH DELETE|CREATE (INDEX|CONSTRAINT|VECTOR|TABLE)|SELECT .* FROM|INSERT INTO|"
    r"DELETE FROM|UPDATE \w+ SET)\b"
)
TYPE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


def _sources() -> list[Path]:
    return sorted(p for package in RUNTIME for p in (REPO / package).rglob("*.py"))


def _literal_text(node: ast.AST) -> str:
    """The constant text parts of a string expression."""
    return " ".join(n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def _built_strings(tree: ast.AST) -> list[ast.expr]:
    """f-strings, ``%`` and ``+`` over strings, and ``.format(...)`` calls."""

    def built(node: ast.AST) -> bool:
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, ast.Mod | ast.Add) and bool(_literal_text(node))
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Attribute) and node.func.attr == "format"
        return isinstance(node, ast.JoinedStr)

    return [node for node in ast.walk(tree) if built(node)]  # type: ignore[misc]


def _literal_loop_names(tree: ast.AST) -> set[str]:
    """Names bound by comprehensions over literal tuples of constants (the labels a query is made for)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        literal = isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Tuple)
        if literal and all(isinstance(leaf, ast.Constant | ast.Tuple | ast.Name) for leaf in node.iter.elts):  # type: ignore[attr-defined]
            names |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}  # type: ignore[attr-defined]
    return names


def _constant_fed(tree: ast.AST) -> dict[str, set[str]]:
    """Helper functions of a query module that are only ever called with literal arguments (such as
    ``_in("ids")``, which writes a named placeholder), with their parameter names."""
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    fed = {}
    for name, function in functions.items():
        mine = [c for c in calls if c.func.id == name]  # type: ignore[attr-defined]
        if mine and all(isinstance(a, ast.Constant) for c in mine for a in [*c.args, *(k.value for k in c.keywords)]):
            fed[name] = {a.arg for a in function.args.args}
    return fed


def _allowed_interpolation(value: ast.expr, loop_names: set[str], fed: dict[str, set[str]] | None = None) -> bool:
    fed = fed or {}
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return value.func.id in fed
    if not isinstance(value, ast.Name):
        return False
    parameters = {p for names in fed.values() for p in names}
    return value.id in loop_names or value.id in parameters or value.id.lstrip("_").isupper()


def test_no_query_is_built_from_strings_at_run_time() -> None:
    problems = []
    for path in _sources():
        relative = path.relative_to(REPO).as_posix()
        tree = ast.parse(path.read_text(), filename=relative)
        loop_names, fed = _literal_loop_names(tree), _constant_fed(tree)
        for node in _built_strings(tree):
            if not QUERY_WORDS.search(_literal_text(node)):
                continue
            where = f"{relative}:{node.lineno}"
            if relative not in QUERY_MODULES:
                problems.append(f"{where}: a query built from strings outside the query modules")
            elif not isinstance(node, ast.JoinedStr):
                problems.append(f"{where}: a query built with % / + / format")
            else:
                values = [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
                bad = [ast.unparse(v) for v in values if not _allowed_interpolation(v, loop_names, fed)]
                if bad:
                    problems.append(f"{where}: interpolates {bad}, not a constant or a literal label")
    assert problems == []


def test_the_scan_would_catch_a_built_query(tmp_path: Path) -> None:
    hostile = ast.parse('name = input()\nq = f"MATCH (n:{name}) RETURN n"\n')
    built = [n for n in _built_strings(hostile) if QUERY_WORDS.search(_literal_text(n))]
    assert len(built) == 1
    values = [v.value for v in built[0].values if isinstance(v, ast.FormattedValue)]  # type: ignore[attr-defined]
    assert not _allowed_interpolation(values[0], _literal_loop_names(hostile), _constant_fed(hostile))


@pytest.mark.parametrize(
    "raw",
    [
        "Person`) DETACH DELETE n //",
        "PERSON:Admin {x: 1}",
        "1st place",
        "ÉTAT-CIVIL",
        "a" * 500,
        "",
        "   ",
        "$ws",
        "关系",
        "\x00NULL",
    ],
)
def test_types_are_whitelisted(raw: str) -> None:
    assert TYPE_PATTERN.match(safe_type(raw))
    assert TYPE_PATTERN.match(safe_type(raw, "CONCEPT"))


def test_hostile_model_output_yields_only_whitelisted_types() -> None:
    doc = Document.from_text("Ada Lovelace met Charles Babbage in London.", source="t.txt", title="t")
    chunk = Chunk.from_span(doc, 0, 0, len(doc.text), chunker="test")
    output = """{"entities": [
        {"name": "Ada Lovelace", "type": "Person`) MATCH (n) DETACH DELETE n //"},
        {"name": "Charles Babbage", "type": "PER SON:Admin"},
        {"name": "London", "type": "1 city; DROP"}],
      "relations": [{"source": "Ada Lovelace", "target": "Charles Babbage", "type": "MET}]->(x) DELETE x"}]}"""
    extractor = LLMExtractor(chat_model=None)
    entities, relations, _ = extractor._to_mentions(parse_extraction(output).payload, chunk)
    types = [e.type for e in entities] + [r.type for r in relations]
    assert len(types) == 4 and all(TYPE_PATTERN.match(t) for t in types)

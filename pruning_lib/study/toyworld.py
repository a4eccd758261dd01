"""A seeded generator of a small synthetic language that stands in for the hub offline.

The world has people (single-token made-up names), and each person has one value for
each of six relations (home town, job, pet, sport, colour, food). From it we generate

- a training corpus: mostly short biographies that restate every fact in several
  phrasings, plus Q/A lines for half of the (person, relation) pairs, stories,
  activity passages and passages whose last word repeats an earlier one;
- a validation corpus from the same distribution;
- six evaluation sets, as rows in the schemas of the paper's hub datasets (see
  ``pruning_lib.evaluation.tasks``): LAMBADA-, StoryCloze-, HellaSwag-, NQ-, WebQ- and
  TriviaQA-like.
  The QA sets ask the (person, relation) pairs whose Q/A lines were held out of
  training, so a model must recall facts it only read in biographies. The choice sets
  ask the same held-out facts as a ranking of stated endings: StoryCloze-like, a story
  about a person and two endings that state one of the person's facts, with the person's
  own value or another; HellaSwag-like, a person at an activity and four endings that
  state two facts, each right or wrong (two stored facts composed, four close choices).

The same seed gives byte-identical output; no evaluation passage occurs verbatim in
training; every fact a question asks is stated in training. The choice sets draw from
streams of their own, so that changing them leaves the corpus, and the trained baselines,
as they are (``EVAL_VERSION`` counts the designs of the evaluation sets). Why these sizes
and sets, with the measurements of the designs tried: ``docs/toyworld.md``.

Example:
    >>> from pruning_lib.study.configs import WorldConfig
    >>> world = generate(WorldConfig(n_people=8, bios_per_person=2, qa_repeats=1,
    ...                              n_stories=4, n_activities=4, n_passages=4, n_eval=4))
    >>> sorted(world.eval_sets) == sorted(EVAL_TASKS)
    True
    >>> len(world.eval_sets["nq_open"])
    4
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config import validate
from ..evaluation.tasks import TASK_NAMES, render_solved
from .configs import WorldConfig

EVAL_TASKS = TASK_NAMES
# Bump when an evaluation set changes (every cached score is then computed anew):
# 2: world version 2 (baseline.BASELINE_VERSION 2)
# 3: the choice sets ask stored facts (their wrong endings came from other situations)
EVAL_VERSION = 3

# The language: words and templates (reference/toyworld.yaml says what each part is).
LEXICON = yaml.safe_load(
    (Path(__file__).resolve().parent / "reference" / "toyworld.yaml").read_text()
)
RELATIONS: dict[str, dict[str, Any]] = LEXICON["relations"]
ALIASES: dict[str, list[str]] = LEXICON["aliases"]
SITUATIONS: dict[str, dict[str, list[str]]] = LEXICON["situations"]
ACTIVITIES: dict[str, dict[str, list[str]]] = LEXICON["activities"]
OBJECTS, PLACES, PASSAGES = LEXICON["objects"], LEXICON["places"], LEXICON["passages"]

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def make_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """Distinct made-up consonant-vowel names, none equal to a word of the language."""
    names: list[str] = []
    seen = set(taken)
    while len(names) < count:
        name = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(2))
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _words(*texts: Any) -> set[str]:
    out: set[str] = set()
    for text in texts:
        if isinstance(text, dict):
            out |= _words(*text.keys(), *text.values())
        elif isinstance(text, (list, tuple)):
            out |= _words(*text)
        else:
            out |= set(str(text).lower().replace("{", " ").replace("}", " ").split())
    return out


@dataclass
class ToyWorld:
    config: WorldConfig
    people: list[str]
    facts: dict[str, dict[str, str]]  # person -> relation -> value
    qa_train_pairs: list[tuple[str, str]]  # (person, relation) shown as Q/A in training
    qa_eval_pairs: list[tuple[str, str]]  # (person, relation) asked by the QA sets
    train_documents: list[str] = field(default_factory=list)
    validation_documents: list[str] = field(default_factory=list)
    eval_sets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def qa_row(task: str, person: str, relation: str, value: str, index: int) -> dict[str, Any]:
    """One QA row in the schema of the hub dataset of ``task``."""
    question = RELATIONS[relation]["question"].format(p=person)
    answers = [value, *ALIASES.get(value, [])]
    if task == "nq_open":
        return {"question": question, "answer": answers}
    if task == "web_questions":
        return {"url": f"toyworld://{person}/{relation}", "question": question, "answers": answers}
    return {
        "question": question,
        "question_id": f"toy_{index}",
        "answer": {
            "aliases": answers,
            "normalized_aliases": answers,
            "value": value,
            "normalized_value": value,
        },
    }


def _bio(rng: random.Random, person: str, facts: dict[str, str]) -> str:
    relations = list(facts)
    rng.shuffle(relations)
    return " ".join(
        rng.choice(RELATIONS[r]["says"]).format(p=person, v=facts[r]) for r in relations
    )


def _story_sentences(rng: random.Random, person: str) -> list[str]:
    """Four sentences of one situation: its opening and three of its middle steps, in order."""
    parts = SITUATIONS[rng.choice(sorted(SITUATIONS))]
    middle = sorted(rng.sample(range(len(parts["middle"])), 3))
    sentences = [rng.choice(parts["open"])] + [parts["middle"][i] for i in middle]
    return [s.format(p=person) for s in sentences]


def _story_row(rng: random.Random, person: str, index: int) -> dict[str, Any]:
    """A training story: a situation and the ending that resolves it (filler text)."""
    situation = rng.choice(sorted(SITUATIONS))
    parts = SITUATIONS[situation]
    middle = sorted(rng.sample(range(len(parts["middle"])), 3))
    sentences = [rng.choice(parts["open"])] + [parts["middle"][i] for i in middle]
    other = rng.choice([s for s in sorted(SITUATIONS) if s != situation])
    right = rng.choice(parts["end"]).format(p=person)
    wrong = rng.choice(SITUATIONS[other]["end"]).format(p=person)
    return _story_schema(index, [s.format(p=person) for s in sentences], right, wrong, rng)


def _story_schema(
    index: int, sentences: list[str], right: str, wrong: str, rng: random.Random
) -> dict[str, Any]:
    right_first = rng.random() < 0.5
    return {
        "story_id": f"toy_{index}",
        **{f"input_sentence_{i + 1}": s for i, s in enumerate(sentences)},
        "sentence_quiz1": right if right_first else wrong,
        "sentence_quiz2": wrong if right_first else right,
        "answer_right_ending": 1 if right_first else 2,
    }


def _other_value(rng: random.Random, relation: str, value: str) -> str:
    return rng.choice([v for v in RELATIONS[relation]["values"] if v != value])


def _fact_story_row(
    rng: random.Random, world: ToyWorld, pairs: list[tuple[str, str]], index: int
) -> dict[str, Any]:
    """StoryCloze-like evaluation item: a story about a person, and two endings that state
    one of the person's facts in a training phrasing, one with the person's own value and
    one with another value of the relation. Only the stored fact tells them apart."""
    person, relation = rng.choice(pairs)
    value = world.facts[person][relation]
    phrasing = rng.choice(RELATIONS[relation]["says"])
    right = phrasing.format(p=person, v=value)
    wrong = phrasing.format(p=person, v=_other_value(rng, relation, value))
    return _story_schema(index, _story_sentences(rng, person), right, wrong, rng)


def _activity_row(rng: random.Random, person: str, index: int) -> dict[str, Any]:
    """A training activity passage: a context and endings of the same and other activities."""
    activity = rng.choice(sorted(ACTIVITIES))
    others = rng.sample([a for a in sorted(ACTIVITIES) if a != activity], 3)
    endings = [rng.choice(ACTIVITIES[a]["end"]) for a in [activity, *others]]
    order = list(range(4))
    rng.shuffle(order)
    ctx_a = rng.choice(ACTIVITIES[activity]["ctx"]).format(p=person)
    return _activity_schema(index, activity, ctx_a, f"then {person}", endings, order)


def _activity_schema(
    index: int, activity: str, ctx_a: str, ctx_b: str, endings: list[str], order: list[int]
) -> dict[str, Any]:
    """A HellaSwag row whose right ending is ``endings[0]``, the endings in ``order``."""
    return {
        "ind": index,
        "activity_label": activity,
        "ctx_a": ctx_a,
        "ctx_b": ctx_b,
        "ctx": f"{ctx_a} {ctx_b}".strip(),
        "endings": [endings[i] for i in order],
        "source_id": f"toy_{index}",
        "split": "val",
        "split_type": "indomain",
        "label": str(order.index(0)),
    }


def _fact_activity_row(
    rng: random.Random, world: ToyWorld, pairs: list[tuple[str, str]], index: int
) -> dict[str, Any]:
    """HellaSwag-like evaluation item: a person at an activity, and four endings that state
    two of the person's facts, each right or wrong (right-right is the answer). Two stored
    facts composed, four close choices: one fact known and the other guessed is not enough."""
    person, first = rng.choice(pairs)
    held_out = sorted(r for p, r in pairs if p == person and r != first)
    second = rng.choice(held_out or sorted(r for r in RELATIONS if r != first))
    statements = []
    for relation in (first, second):
        value = world.facts[person][relation]
        phrasing = rng.choice(RELATIONS[relation]["says"])
        other = _other_value(rng, relation, value)
        statements.append((phrasing.format(p=person, v=value), phrasing.format(p=person, v=other)))
    (right_1, wrong_1), (right_2, wrong_2) = statements
    endings = [
        f"{a} {b}"
        for a, b in ((right_1, right_2), (right_1, wrong_2), (wrong_1, right_2), (wrong_1, wrong_2))
    ]
    order = list(range(4))
    rng.shuffle(order)
    activity = rng.choice(sorted(ACTIVITIES))
    ctx_a = rng.choice(ACTIVITIES[activity]["ctx"]).format(p=person)
    return _activity_schema(index, activity, ctx_a, "", endings, order)


def _passage_row(rng: random.Random, people: list[str]) -> dict[str, Any]:
    a, b = rng.sample(people, 2)
    template = rng.choice(PASSAGES)
    return {"text": template.format(a=a, b=b, o=rng.choice(OBJECTS), w=rng.choice(PLACES))}


def generate(config: WorldConfig | None = None) -> ToyWorld:
    """Generate the world, its corpora and its six evaluation sets from ``config.seed``."""
    config = config or WorldConfig()
    validate(config)
    rng = random.Random(f"toyworld-{config.seed}")
    vocabulary = _words(RELATIONS, SITUATIONS, ACTIVITIES, OBJECTS, PLACES, PASSAGES, ALIASES)
    people = make_names(rng, config.n_people, vocabulary)
    facts = {p: {r: rng.choice(spec["values"]) for r, spec in RELATIONS.items()} for p in people}

    # Half of the people per relation are asked about in evaluation; the other half's
    # Q/A lines appear in training, so the model learns the question format.
    qa_train_pairs: list[tuple[str, str]] = []
    qa_eval_pairs: list[tuple[str, str]] = []
    for relation in RELATIONS:
        order = people[:]
        rng.shuffle(order)
        half = len(order) // 2
        qa_train_pairs += [(p, relation) for p in order[:half]]
        qa_eval_pairs += [(p, relation) for p in order[half:]]

    world = ToyWorld(config, people, facts, qa_train_pairs, qa_eval_pairs)
    world.eval_sets, retired = _eval_sets(config, rng, world)
    forbidden = {render_solved(task, row) for task, rows in world.eval_sets.items() for row in rows}
    documents = _training_documents(config, rng, world, forbidden | retired)
    cut = int(round(len(documents) * config.validation_fraction))
    world.validation_documents = documents[:cut]
    world.train_documents = documents[cut:]
    return world


def _eval_sets(
    config: WorldConfig, rng: random.Random, world: ToyWorld
) -> tuple[dict[str, list], set[str]]:
    """The six sets, and the retired items of world version 2 (kept out of training)."""
    n = config.n_eval
    sets: dict[str, list[dict[str, Any]]] = {}
    seen: set[str] = set()

    def unique_rows(make, task: str, stream: random.Random) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        attempts = 0
        while len(rows) < n and attempts < 100 * n:
            attempts += 1
            row = make(stream, len(rows))
            text = render_solved(task, row)
            if text not in seen:
                seen.add(text)
                rows.append(row)
        return rows

    people = world.people
    sets["lambada"] = unique_rows(lambda r, i: _passage_row(r, people), "lambada", rng)
    # The retired choice sets of world version 2 are still drawn from the world's stream and
    # kept out of training, so the corpus stays the one the committed baselines learned.
    retired_rows = {
        "story_cloze": unique_rows(
            lambda r, i: _story_row(r, r.choice(people), len(seen)), "story_cloze", rng
        ),
        "hellaswag": unique_rows(
            lambda r, i: _activity_row(r, r.choice(people), len(seen)), "hellaswag", rng
        ),
    }
    retired = {render_solved(task, row) for task, rows in retired_rows.items() for row in rows}
    held_out = world.qa_eval_pairs
    for task in ("nq_open", "web_questions", "trivia_qa"):
        pairs = [(p, r) for p, r in held_out if RELATIONS[r]["task"] == task]
        rng.shuffle(pairs)
        sets[task] = [
            qa_row(task, p, r, world.facts[p][r], i) for i, (p, r) in enumerate(pairs[:n])
        ]
    # The choice sets ask the same held-out facts as the QA sets (known only from the
    # biographies), as a ranking of stated endings rather than a generated answer. Each
    # draws from its own stream: redesigning one leaves the corpus as it is.
    for task, make in (("story_cloze", _fact_story_row), ("hellaswag", _fact_activity_row)):
        stream = random.Random(f"toyworld-{config.seed}-{task}")
        sets[task] = unique_rows(lambda r, i, make=make: make(r, world, held_out, i), task, stream)
    return {task: sets[task] for task in EVAL_TASKS}, retired


def _training_documents(
    config: WorldConfig, rng: random.Random, world: ToyWorld, forbidden: set[str]
) -> list[str]:
    documents: list[str] = []
    for person in world.people:
        documents += [_bio(rng, person, world.facts[person]) for _ in range(config.bios_per_person)]

    lines = [
        render_solved(
            RELATIONS[r]["task"], qa_row(RELATIONS[r]["task"], p, r, world.facts[p][r], 0)
        )
        for p, r in world.qa_train_pairs
    ] * config.qa_repeats
    rng.shuffle(lines)
    documents += ["\n".join(lines[i : i + 4]) for i in range(0, len(lines), 4)]

    def add(count: int, make, task: str) -> None:
        for index in range(count):
            text = render_solved(task, make(index))
            if text not in forbidden:  # no evaluation passage occurs verbatim in training
                documents.append(text)

    people = world.people
    add(config.n_stories, lambda i: _story_row(rng, rng.choice(people), i), "story_cloze")
    add(config.n_activities, lambda i: _activity_row(rng, rng.choice(people), i), "hellaswag")
    add(config.n_passages, lambda i: _passage_row(rng, people), "lambada")
    rng.shuffle(documents)
    return documents

"""A seeded generator of a small synthetic language that stands in for the hub offline.

The world has people (single-token made-up names), and each person has one value for
each of six relations (home town, job, pet, sport, colour, food). From it we generate

- a training corpus: mostly short biographies that restate every fact in several
  phrasings, plus Q/A lines for half of the (person, relation) pairs, stories,
  activity passages and passages whose last word repeats an earlier one;
- a validation corpus from the same distribution;
- six evaluation sets, as rows in the schemas of the paper's hub datasets (see
  ``tasks.py``): LAMBADA-, StoryCloze-, HellaSwag-, NQ-, WebQ- and TriviaQA-like.
  The QA sets ask the (person, relation) pairs whose Q/A lines were held out of
  training, so a model must recall facts it only read in biographies. The choice sets
  ask the same held-out facts as a ranking of stated endings: StoryCloze-like, a story
  about a person and two endings that state one of the person's facts, with the person's
  own value or another; HellaSwag-like, a person at an activity and four endings that
  state two facts, each right or wrong (two stored facts composed, four close choices).

The same seed gives byte-identical output; no evaluation passage occurs verbatim in
training; every fact a question asks is stated in training. The choice sets draw from
streams of their own, so that redesigning them left the corpus, and the trained baselines,
as they were (``EVAL_VERSION`` counts the designs of the evaluation sets).

Why these sizes and sets (docs/toyworld.md has the measurements). Pruning takes away what
the weights store, not what the context says, so the load decides what it can show: with
200 people the tutorial model recalled nearly every held-out fact (0.95 to 0.995 at seed
1) and the QA columns sat at their ceiling; 300 people with 27 biographies each (about the
same number of biography sentences, half again as many facts) bring them down, and half
the weights then matter. Training Q/A lines read exactly as the evaluation prompts, NQ's
task description included: the model knows no English, and a description it had never
read made some seeds learn no NQ at all. The choice sets once took their wrong endings
from another situation or activity: topic matching solved them (100% at every seed and
sparsity up to 0.5). Asking a stored fact instead puts them in the model's reach and
pruning's: a ranking of two or four stated facts degrades more gently than a generated
answer, but it degrades.

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
from typing import Any

from ..config import validate
from .configs import WorldConfig
from .tasks import TASK_NAMES, render_solved

EVAL_TASKS = TASK_NAMES
# Bump when an evaluation set changes (every cached score is then computed anew):
# 2: world version 2 (baseline.BASELINE_VERSION 2)
# 3: the choice sets ask stored facts (their wrong endings came from other situations)
EVAL_VERSION = 3

# relation -> (values, statement phrasings, question, task that asks it)
RELATIONS: dict[str, dict[str, Any]] = {
    "city": {
        "values": "ashford brookton calder dunmore elmstead fairhaven glenrock harwick "
        "ironvale kingsley lakemont millbrook".split(),
        "says": [
            "{p} lives in {v} .",
            "{p} has a home in {v} .",
            "the town where {p} lives is {v} .",
            "{p} moved to {v} long ago .",
        ],
        "question": "where does {p} live",
        "task": "nq_open",
    },
    "job": {
        "values": "baker doctor farmer teacher pilot singer tailor painter sailor miner "
        "judge nurse".split(),
        "says": [
            "{p} works as a {v} .",
            "{p} earns a living as a {v} .",
            "by trade , {p} is a {v} .",
            "everyone knows {p} is a {v} .",
        ],
        "question": "what is the job of {p}",
        "task": "nq_open",
    },
    "pet": {
        "values": "cat dog parrot rabbit horse goat turtle hamster owl snake duck pony".split(),
        "says": [
            "{p} has a pet {v} .",
            "{p} takes care of a {v} .",
            "{p} owns a {v} at home .",
            "the pet of {p} is a {v} .",
        ],
        "question": "what pet does {p} have?",
        "task": "web_questions",
    },
    "sport": {
        "values": "tennis chess soccer golf hockey rugby boxing rowing cricket polo "
        "archery fencing".split(),
        "says": [
            "{p} plays {v} .",
            "{p} spends weekends playing {v} .",
            "the sport {p} plays is {v} .",
            "{p} is a keen {v} player .",
        ],
        "question": "what sport does {p} play?",
        "task": "web_questions",
    },
    "color": {
        "values": "red blue green yellow purple orange pink brown black white gray gold".split(),
        "says": [
            "{p} likes the color {v} .",
            "the favorite color of {p} is {v} .",
            "{p} loves anything {v} .",
            "{p} paints every wall {v} .",
        ],
        "question": "which color does {p} like best",
        "task": "trivia_qa",
    },
    "food": {
        "values": "bread cheese apples rice soup fish pasta honey beans cake plums olives".split(),
        "says": [
            "{p} likes to eat {v} .",
            "the favorite food of {p} is {v} .",
            "{p} eats {v} every day .",
            "{p} always buys {v} at the market .",
        ],
        "question": "what food does {p} like to eat",
        "task": "trivia_qa",
    },
}

# Other accepted answers, as the hub QA sets list aliases.
ALIASES = {
    "doctor": ["physician"],
    "gray": ["grey"],
    "soccer": ["football"],
    "dog": ["puppy"],
    "apples": ["apple"],
    "plums": ["plum"],
    "olives": ["olive"],
}

# StoryCloze-like: a situation, three middle sentences, an ending that resolves it.
SITUATIONS: dict[str, dict[str, list[str]]] = {
    "hungry": {
        "open": ["{p} had not eaten all day .", "{p} felt very hungry ."],
        "middle": [
            "{p} went into the kitchen .",
            "{p} opened the cupboard .",
            "{p} found some flour and eggs .",
            "{p} lit the stove .",
        ],
        "end": ["{p} cooked a big meal and ate it all .", "{p} ate until {p} was full ."],
    },
    "tired": {
        "open": ["{p} had worked late every night .", "{p} could barely keep awake ."],
        "middle": [
            "{p} went upstairs .",
            "{p} put on warm pajamas .",
            "{p} turned off the lights .",
            "{p} lay down on the soft bed .",
        ],
        "end": ["{p} fell asleep at once and slept all night .", "{p} slept until noon ."],
    },
    "cold": {
        "open": ["the winter wind made {p} shiver .", "{p} was freezing outside ."],
        "middle": [
            "{p} hurried back inside .",
            "{p} gathered some dry wood .",
            "{p} built a fire in the hearth .",
            "{p} wrapped up in a blanket .",
        ],
        "end": ["soon {p} felt warm and cozy .", "the fire warmed {p} up nicely ."],
    },
    "thirsty": {
        "open": ["the sun was hot and {p} was thirsty .", "{p} had a very dry throat ."],
        "middle": [
            "{p} looked for the well .",
            "{p} found a clean cup .",
            "{p} filled the cup with cold water .",
            "{p} sat in the shade .",
        ],
        "end": ["{p} drank the water in one gulp .", "{p} drank three cups of water ."],
    },
    "bored": {
        "open": ["{p} had nothing to do all afternoon .", "{p} felt bored at home ."],
        "middle": [
            "{p} called a friend .",
            "they decided to meet in the park .",
            "{p} brought a ball along .",
            "the friend brought some snacks .",
        ],
        "end": ["they played games and had a lot of fun .", "{p} laughed all afternoon ."],
    },
    "dirty": {
        "open": ["{p} fell in the mud on the way home .", "{p} was covered in dirt ."],
        "middle": [
            "{p} went to the bathroom .",
            "{p} filled the tub with hot water .",
            "{p} found the soap .",
            "{p} took off the muddy clothes .",
        ],
        "end": ["{p} took a long bath and came out clean .", "{p} scrubbed until clean ."],
    },
    "lost": {
        "open": ["{p} took a wrong turn in the forest .", "{p} did not know the way home ."],
        "middle": [
            "{p} looked around for a path .",
            "{p} climbed a tall tree .",
            "{p} saw smoke from a chimney .",
            "{p} walked toward the smoke .",
        ],
        "end": ["{p} found the road and got home safely .", "{p} reached the village at dusk ."],
    },
    "sick": {
        "open": ["{p} woke up with a fever .", "{p} felt ill and weak ."],
        "middle": [
            "{p} stayed in bed .",
            "{p} called the doctor .",
            "the doctor gave {p} some medicine .",
            "{p} drank hot tea with lemon .",
        ],
        "end": ["after a few days {p} felt well again .", "the fever went away by morning ."],
    },
}

# HellaSwag-like: an activity, a context, and endings that fit only that activity.
ACTIVITIES: dict[str, dict[str, list[str]]] = {
    "Cooking": {
        "ctx": ["{p} ties an apron and heats a pan .", "{p} washes the vegetables ."],
        "end": [
            "chops the onions and stirs them into the pan .",
            "adds salt and tastes the sauce .",
            "serves the stew in deep bowls .",
        ],
    },
    "Swimming": {
        "ctx": ["{p} puts on goggles at the pool .", "{p} stands on the diving board ."],
        "end": [
            "dives into the water and swims a lap .",
            "kicks hard and reaches the wall .",
            "floats on the back in the deep end .",
        ],
    },
    "Painting": {
        "ctx": ["{p} sets up an easel by the window .", "{p} opens a box of paints ."],
        "end": [
            "dips the brush and paints a blue sky .",
            "mixes two colors on the palette .",
            "adds a tree to the canvas .",
        ],
    },
    "Gardening": {
        "ctx": ["{p} kneels in the garden with a trowel .", "{p} carries a bag of seeds ."],
        "end": [
            "digs a hole and plants the bulbs .",
            "pulls the weeds from the bed .",
            "waters the roses with a can .",
        ],
    },
    "Fishing": {
        "ctx": ["{p} sits on the dock with a rod .", "{p} rows the boat to the lake ."],
        "end": [
            "casts the line far into the lake .",
            "reels in a large silver fish .",
            "puts a worm on the hook .",
        ],
    },
    "Cycling": {
        "ctx": ["{p} pumps air into the bike tires .", "{p} buckles a helmet ."],
        "end": [
            "pedals up the hill without stopping .",
            "rings the bell and rides away .",
            "shifts gears and speeds down the road .",
        ],
    },
    "Knitting": {
        "ctx": ["{p} picks up two needles and some wool .", "{p} sits by the fire with yarn ."],
        "end": [
            "knits another row of the scarf .",
            "loops the yarn around the needle .",
            "finishes the sleeve of the sweater .",
        ],
    },
    "Skating": {
        "ctx": ["{p} laces up skates by the frozen pond .", "{p} steps onto the ice rink ."],
        "end": [
            "glides across the ice in a wide circle .",
            "spins on one blade .",
            "skates backward along the edge of the rink .",
        ],
    },
}

# LAMBADA-like: the last word is fixed only by an earlier mention.
OBJECTS = (
    "lamp key hat book cup ring map coin bell kite drum vase scarf clock box mirror flute "
    "basket candle shell rope spoon coat glove brush jar whistle compass blanket pillow"
).split()
PLACES = "garden kitchen attic barn forest library cellar field shed meadow".split()
PASSAGES = [
    "{a} found a {o} in the {w} . {a} showed it to {b} . {b} said it was a very old {o}",
    "{a} bought a {o} at the market . on the way home {a} met {b} . {b} asked to borrow the {o}",
    "{a} lost a {o} last week . {b} helped {a} search the whole {w} . at last they found the {o}",
    "{a} gave {b} a {o} as a gift . {b} smiled and thanked {a} for the {o}",
    "{a} waited in the {w} for a long time . then {b} arrived . {a} was glad to see {b}",
    "{a} left a {o} in the {w} . the next day {b} went to the {w} and picked up the {o}",
]

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

    def train_text(self, separator: str = "\n\n") -> str:
        return separator.join(self.train_documents)


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
    # World version 2's choice sets (wrong endings from another situation or activity:
    # topic matching solved them) are still drawn from the world's stream and kept out of
    # training, so that the corpus, and the committed baselines, stay those of version 2.
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

import hashlib
import json

import pytest

from pruning_lib.evaluation.tasks import DESCRIPTIONS, REQUIRED_FIELDS, render_solved, to_record
from pruning_lib.study.configs import WorldConfig
from pruning_lib.study.toyworld import EVAL_TASKS, RELATIONS, generate, qa_row
from tests.conftest import TINY_WORLD


def _dump(world):
    return json.dumps(
        [world.train_documents, world.validation_documents, world.eval_sets], sort_keys=True
    ).encode()


def test_same_seed_byte_identical_other_seed_differs():
    assert _dump(generate(TINY_WORLD)) == _dump(generate(TINY_WORLD))
    other = WorldConfig(**{**TINY_WORLD.__dict__, "seed": 2})
    assert _dump(generate(other)) != _dump(generate(TINY_WORLD))


def test_default_world_properties():
    world = generate(WorldConfig())
    train = set(world.train_documents)
    corpus = "\n".join(world.train_documents)
    # No evaluation passage occurs verbatim in training (solved, as a model would see it).
    for task, rows in world.eval_sets.items():
        assert len(rows) == 200, task
        for row in rows:
            assert render_solved(task, row) not in train
            assert all(name in row for name in REQUIRED_FIELDS[task])
    # Every fact a question asks is stated in training, in a biography phrasing.
    for person, relation in world.qa_eval_pairs:
        value = world.facts[person][relation]
        phrasings = [s.format(p=person, v=value) for s in RELATIONS[relation]["says"]]
        assert any(p in corpus for p in phrasings), (person, relation)
    # The QA sets ask only pairs whose Q/A lines were held out of training.
    assert not set(world.qa_train_pairs) & set(world.qa_eval_pairs)
    for person, relation in world.qa_eval_pairs[:50]:
        question = RELATIONS[relation]["question"].format(p=person)
        assert question not in corpus
    # Mostly facts: biographies are the largest share of the corpus.
    bios = sum(d.count(" . ") >= 5 and "Q" not in d[:1] for d in world.train_documents)
    assert bios / len(world.train_documents) > 0.4
    # The corpus the committed baselines were trained on (world version 2), byte for byte:
    # changing it needs new baselines and a new BASELINE_VERSION, whatever else changes
    # (tests/test_baseline_retrain.py checks the weights themselves, slowly).
    corpus = json.dumps([world.train_documents, world.validation_documents]).encode()
    assert hashlib.sha256(corpus).hexdigest()[:16] == "98986ba9f1658434"


def test_eval_sets_cover_six_tasks_and_answers_are_facts(tiny_world):
    assert sorted(tiny_world.eval_sets) == sorted(EVAL_TASKS)
    by_question = {}
    for person, relation in tiny_world.qa_eval_pairs:
        q = RELATIONS[relation]["question"].format(p=person)
        by_question[q] = tiny_world.facts[person][relation]
    for row in tiny_world.eval_sets["nq_open"]:
        assert row["answer"][0] == by_question[row["question"]]
    for row in tiny_world.eval_sets["trivia_qa"]:
        assert row["answer"]["value"] == by_question[row["question"]]


def test_training_qa_lines_read_as_the_evaluation_prompts(tiny_world):
    # Each held-in Q/A pair is shown exactly as evaluation will prompt its task, NQ's
    # description "Answer these questions:" included: a toy model knows no English, and
    # before the description was in training some seeds learned no NQ at all.
    corpus = "\n".join(tiny_world.train_documents + tiny_world.validation_documents)
    for person, relation in tiny_world.qa_train_pairs:
        task = RELATIONS[relation]["task"]
        row = qa_row(task, person, relation, tiny_world.facts[person][relation], 0)
        prompt = to_record(task, row).prompt
        assert f"{prompt} {tiny_world.facts[person][relation]}" in corpus, (task, prompt)
    assert DESCRIPTIONS["nq_open"] in corpus


def _statement(world, sentence):
    """(person, relation, value) of a sentence in one of the biography phrasings."""
    for person in world.people:
        for relation, spec in RELATIONS.items():
            for phrasing in spec["says"]:
                for value in spec["values"]:
                    if phrasing.format(p=person, v=value) == sentence:
                        return person, relation, value
    raise AssertionError(f"not a biography statement: {sentence!r}")


def test_story_endings_differ_only_in_a_stored_fact(tiny_world):
    held_out = set(tiny_world.qa_eval_pairs)
    for row in tiny_world.eval_sets["story_cloze"]:
        endings = [row["sentence_quiz1"], row["sentence_quiz2"]]
        right = endings[row["answer_right_ending"] - 1]
        wrong = endings[2 - row["answer_right_ending"]]
        person, relation, value = _statement(tiny_world, right)
        other = _statement(tiny_world, wrong)
        assert (person, relation) in held_out  # a fact only the biographies state
        assert value == tiny_world.facts[person][relation]
        assert other[:2] == (person, relation) and other[2] != value
        assert person in row["input_sentence_1"]  # the story is about that person


def test_activity_endings_compose_two_facts_right_or_wrong(tiny_world):
    for row in tiny_world.eval_sets["hellaswag"]:
        endings = row["endings"]
        assert len(set(endings)) == 4
        right = endings[int(row["label"])]
        people = set()
        verdicts = []
        for ending in endings:
            first, second = (s.strip() + " ." for s in ending.split(" .")[:2])
            facts = [_statement(tiny_world, first), _statement(tiny_world, second)]
            people |= {f[0] for f in facts}
            verdicts.append(tuple(tiny_world.facts[p][r] == v for p, r, v in facts))
        assert len(people) == 1  # one person, two relations, each right or wrong
        assert sorted(verdicts) == [(False, False), (False, True), (True, False), (True, True)]
        assert verdicts[endings.index(right)] == (True, True)


def test_bad_world_config_refused_before_work():
    with pytest.raises(ValueError, match="world.n_people"):
        generate(WorldConfig(n_people=-1))
    with pytest.raises(ValueError, match="world.seed"):
        generate(WorldConfig(seed="zero"))

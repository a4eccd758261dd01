import pytest

from pruning_lib.config import TrainConfig, config_hash, from_dict
from pruning_lib.study.configs import EvalConfig, ModelConfig, WorldConfig, load_yaml


def test_defaults_validate():
    for cls in (WorldConfig, ModelConfig, TrainConfig, EvalConfig):
        assert from_dict(cls, {}) == cls()


@pytest.mark.parametrize(
    "cls, values, words",
    [
        (TrainConfig, {"stepz": 3}, ["train", "unknown key 'stepz'", "steps"]),
        (TrainConfig, {"steps": "10"}, ["train.steps", "'10'", "integer"]),
        (TrainConfig, {"steps": -1}, ["train.steps=-1", "[0,"]),
        (TrainConfig, {"steps": True}, ["train.steps", "integer"]),
        (TrainConfig, {"learning_rate": 0}, ["train.learning_rate=0", "(0.0, 10.0]"]),
        (TrainConfig, {"mixed_precision": "fp8"}, ["train.mixed_precision", "'bf16'"]),
        (WorldConfig, {"seed": 1.5}, ["world.seed=1.5", "integer"]),
        (WorldConfig, {"n_people": -5}, ["world.n_people=-5", "[8, 2000]"]),
        (ModelConfig, {"n_embd": 30, "n_head": 4}, ["model.n_embd=30", "model.n_head=4"]),
        (ModelConfig, {"dropout": 1.0}, ["model.dropout=1.0", "[0.0, 1.0)"]),
        (EvalConfig, {"limit": 0}, ["eval.limit=0", "[1,"]),
    ],
)
def test_bad_values_name_key_value_and_range(cls, values, words):
    with pytest.raises(ValueError) as error:
        from_dict(cls, values)
    for word in words:
        assert word in str(error.value)


def test_int_accepted_for_float_and_none_for_optional():
    cfg = from_dict(TrainConfig, {"learning_rate": 1})
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float)
    assert from_dict(EvalConfig, {"limit": None}).limit is None


def test_hash_changes_with_any_value():
    assert config_hash(TrainConfig()) == config_hash(TrainConfig())
    assert config_hash(TrainConfig()) != config_hash(TrainConfig(steps=999))
    assert config_hash(TrainConfig()) != config_hash(ModelConfig())


def test_load_yaml_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="mapping"):
        load_yaml(listy)

"""Edges of the pruning core that mutation testing showed no test covered (docs/testing.md)."""

import os
import warnings

import pytest
import torch
from safetensors import safe_open
from torch import nn

from pruning_lib import Pruner, Schedule, rate_to_sparsity, sparsity_to_rate
from pruning_lib.evaluation.evaluate import chance_level, default_max_new_tokens, main_metric
from pruning_lib.evaluation.tasks import LastWord, QuestionAnswer
from pruning_lib.prune import sparsity_report
from pruning_lib.regularization import L1Penalty
from pruning_lib.schedules import exponential_rate
from pruning_lib.selection import select_masks, step_rate


def reference_masks(scores, fraction, scope, masks, relative):
    """Exact-count selection by a stable sort: the definition select_masks must meet."""
    names = list(scores)
    groups = [[n] for n in names] if scope == "layer" else [names]
    out = {}
    for group in groups:
        flat = torch.cat([scores[n].flatten().double() for n in group])
        keep = torch.cat([masks[n].flatten() for n in group]) if masks else torch.ones_like(flat)
        keep = keep.bool()
        already = int((~keep).sum())
        total = flat.numel()
        if relative:
            k = already + round(fraction * (total - already))
        else:
            k = max(round(fraction * total), already)
        key = torch.where(keep, flat, torch.full_like(flat, -1.0))  # pruned first, then lowest
        order = torch.sort(key, stable=True).indices
        prune = torch.zeros(total, dtype=torch.bool)
        prune[order[:k]] = True
        start = 0
        for n in group:
            size = scores[n].numel()
            out[n] = ~prune[start : start + size].view(scores[n].shape)
            start += size
    return out


@pytest.mark.parametrize("seed", range(12))
def test_select_masks_equals_a_stable_sort_on_ties_denormals_and_old_masks(seed):
    # Scores drawn from a few float32 bit patterns spanning the radix select's first three
    # 16-bit buckets (denormals), zero and ordinary values, with many ties.
    g = torch.Generator().manual_seed(seed)
    bits = torch.tensor([0, 1, 65535, 65536, 70000, 131071, 131072, 131073, 1065353216])
    shapes = [(3, 5), (4, 2), (1, 7)]
    scores = {
        f"w{i}": bits[torch.randint(0, len(bits), shape, generator=g)]
        .to(torch.int32)
        .view(torch.float32)
        for i, shape in enumerate(shapes)
    }
    masks = None
    if seed % 2:
        masks = {n: torch.rand(s.shape, generator=g) > 0.3 for n, s in scores.items()}
    for scope in ("layer", "global"):
        for relative in (False, True):
            for fraction in (0.0, 0.04, 0.3, 0.5, 0.9):
                got = select_masks(
                    scores, fraction, scope, masks, "remaining" if relative else "all"
                )
                want = reference_masks(scores, fraction, scope, masks, relative)
                for n in scores:
                    assert torch.equal(got[n], want[n]), (scope, relative, fraction, n)


def test_a_pruned_weight_stays_pruned_beside_a_live_zero_score():
    scores = {"w": torch.tensor([0.0, 5.0])}
    masks = {"w": torch.tensor([True, False])}
    assert select_masks(scores, 0.5, masks=masks)["w"].tolist() == [True, False]


def test_select_masks_messages_and_shape_check():
    with pytest.raises(ValueError, match=r"amount=1.5 is out of range; allowed: \[0, 1\)"):
        select_masks({"w": torch.ones(2)}, 1.5, of="remaining")
    with pytest.raises(ValueError, match="amount=1.5"):
        select_masks({"w": torch.ones(2)}, 1.5)
    with pytest.raises(ValueError, match="of='rest' is not allowed; choose 'all'"):
        select_masks({"w": torch.ones(2)}, 0.5, of="rest")
    with pytest.raises(ValueError, match=r"score of w has shape \(3,\), its mask needs \(2,\)"):
        select_masks({"w": torch.ones(3)}, 0.5, masks={"w": torch.ones(2, dtype=torch.bool)})


def two_layers():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))


def test_exclude_and_include_reach_the_pruner():
    pruner = Pruner(two_layers(), exclude=[r"^2\."])
    assert list(pruner.weights) == ["0.weight"]
    assert len(pruner.parameters()) == 1 and pruner.parameters()[0].shape == (6, 4)


class ManyBare(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        for i in range(n):
            self.register_parameter(f"bare{i}", nn.Parameter(torch.ones(2, 2)))


def test_uncovered_warning_lists_five_and_counts_the_rest_at_the_callers_line():
    with pytest.warns(UserWarning) as record:
        Pruner(ManyBare(7))
    message = str(record[0].message)
    assert message.startswith("7 matrices") and "bare4" in message and "bare5" not in message
    assert "and 2 more" in message
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampolines add a stack frame
        assert record[0].filename == __file__  # the warning points at the caller's line
    with pytest.warns(UserWarning) as record:
        Pruner(ManyBare(5))
    assert "more" not in str(record[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # include=/exclude= say what the caller wants: no warning
        assert Pruner(ManyBare(7), include=["layer"]).coverage()["uncovered"] == []
        assert Pruner(ManyBare(7), exclude=["bare"]).coverage()["uncovered"] == []


def test_coverage_and_report_rows():
    pruner = Pruner(two_layers())
    assert pruner.coverage() == {"prunable_weights": 2, "prunable_parameters": 42, "uncovered": []}
    pruner.prune(0.5)
    rows = pruner.report()
    assert rows[0] == {"name": "0.weight", "total": 24, "nonzero": 12, "sparsity": 0.5}
    assert rows[-1] == {"name": "total", "total": 42, "nonzero": 21, "sparsity": 0.5}
    assert sparsity_report({})[-1] == {"name": "total", "total": 0, "nonzero": 0, "sparsity": 0.0}


def test_prune_threshold_by_q_is_q_times_each_layers_std():
    model = two_layers()
    pruner = Pruner(model)
    expected = {
        n: w.detach().abs() >= 0.7 * w.detach().float().std() for n, w in pruner.weights.items()
    }
    pruner.prune_threshold(q=0.7)
    assert all(torch.equal(pruner.masks[n], expected[n]) for n in expected)
    with pytest.raises(ValueError, match="q=-1"):
        Pruner(two_layers()).prune_threshold(q=-1)


def test_rate_without_masks_counts_exact_zeros_as_pruned():
    model = two_layers()
    with torch.no_grad():
        model[0].weight[:3] = 0.0  # 12 of 24 already zero (an L1 proximal step can do this)
    pruner = Pruner(model)
    pruner.prune(0.5, of="remaining")  # half of the 12 still standing in layer 0
    assert int((model[0].weight == 0).sum()) == 18


def test_masks_file_metadata_and_load_errors(tmp_path):
    pruner = Pruner(two_layers(), scope="global")
    pruner.prune(0.5)
    path = pruner.save(tmp_path / "masks.safetensors")
    with safe_open(str(path), "pt") as handle:
        assert handle.metadata() == {"format": "pruning-lib masks", "scope": "global"}
        assert handle.get_tensor("0.weight").dtype == torch.uint8
    other = Pruner(nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(6, 3)))
    with pytest.raises(ValueError, match=r"mask 0.weight has shape \(6, 4\), weight has \(5, 4\)"):
        other.load(path)
    with pytest.raises(ValueError, match=r"masks.safetensors.*unknown weights \['0.weight'"):
        Pruner(nn.Sequential(nn.Identity(), nn.Identity(), nn.Linear(6, 3)), include=["^2"]).load(
            path
        )


def test_l1_penalty_covers_every_prunable_weight_of_a_model():
    model = two_layers()
    total = sum(model[i].weight.abs().sum().item() for i in (0, 2))
    assert L1Penalty(model, 0.5).penalty(model).item() == pytest.approx(0.5 * total)
    assert L1Penalty(model, 0).penalty(model) is None


def test_rate_and_sparsity_conversions_at_their_bounds():
    assert rate_to_sparsity(0.3, 0) == 0
    with pytest.raises(ValueError, match="iterations=-1"):
        rate_to_sparsity(0.3, -1)
    with pytest.raises(ValueError, match="iterations=2.0 must be an integer"):
        rate_to_sparsity(0.3, 2.0)
    with pytest.raises(ValueError, match=r"iterations=0 is out of range; allowed: \[1, inf\)"):
        sparsity_to_rate(0.5, 0)
    with pytest.raises(ValueError, match="sparsity=1.0"):
        sparsity_to_rate(1.0, 2)
    assert step_rate(0.3, 0.3) == 0.0
    with pytest.raises(ValueError, match="target_sparsity=1.0"):
        step_rate(0.3, 1.0)


def test_exponential_from_a_nonzero_start_and_cubic_ignores_power():
    schedule = Schedule("exponential", 0.2, 0.6, begin_step=0, end_step=40, frequency=10)
    p = exponential_rate(0.2, 0.6, 4)
    assert p == pytest.approx(1 - (0.4 / 0.8) ** 0.25)
    for k, step in enumerate(schedule.pruning_steps()):
        assert schedule.sparsity_at(step) == pytest.approx(1 - 0.8 * (1 - p) ** k)
    with pytest.raises(ValueError, match="events=0"):
        exponential_rate(0.0, 0.5, 0)
    assert exponential_rate(0.0, 0.5, 1) == pytest.approx(0.5)
    cubic = Schedule("cubic", 0.1, 0.5, 0, 10, 5, power=2.0)
    assert cubic.sparsity_at(5) == pytest.approx(0.5 + (0.1 - 0.5) * 0.5**3)
    assert Schedule("constant", 0.1, 0.5, 0, 10, 5).sparsity_at(0) == 0.5
    assert Schedule("linear", 0.2, 0.5, 2, 10, 4).curve(3) == [0.0, 0.0, 0.2, 0.2]
    assert Schedule("linear", 0.5, 0.5, 0, 10, 5).target_sparsity == 0.5  # equal ends allowed


def test_main_metric_chance_and_generation_budget():
    assert [main_metric(t) for t in ("lambada", "story_cloze", "hellaswag", "nq_open")] == [
        "acc",
        "acc",
        "acc",
        "exact_match",
    ]
    words = [LastWord("a", " key"), LastWord("b", " key"), LastWord("c", " hat")]
    assert chance_level(words) == pytest.approx(2 / 3)
    qa = [
        QuestionAnswer("q", ("The cat",), ignore=(r"\b(?:The |the )",)),
        QuestionAnswer("q", ("cat",), ignore=(r"\b(?:The |the )",)),
        QuestionAnswer("q", ("dog",)),
    ]
    assert chance_level(qa) == pytest.approx(2 / 3)  # "cat" matches "The cat" under NQ's regex

    class Config:
        n_positions = 100

    class Stub:
        config = Config()

    assert default_max_new_tokens(Stub()) == 50
    Config.n_positions = 4096
    assert default_max_new_tokens(Stub()) == 256


def test_messages_of_refused_models_and_uncovered_weights():
    with pytest.raises(ValueError) as error:
        Pruner(nn.Sequential(nn.ReLU()))
    assert str(error.value).endswith(
        "prunable weights are the 2-D weights of nn.Linear and Conv1D layers and "
        "the expert matrices of mixture-of-experts blocks"
    )
    with pytest.warns(UserWarning) as record:
        Pruner(ManyBare(6))
    assert str(record[0].message) == (
        "6 matrices of the model are not prunable and stay dense: bare0, bare1, bare2, bare3, "
        "bare4 and 1 more; sparsity() counts only the prunable weights"
    )
    with pytest.warns(UserWarning) as record:
        Pruner(ManyBare(5))
    assert str(record[0].message).endswith("bare4; sparsity() counts only the prunable weights")


def test_uncovered_matrices_reads_past_covered_and_dense_ones():
    from pruning_lib.weights import prunable_refs, uncovered_matrices

    class Bare(nn.Module):
        def __init__(self, *shape):
            super().__init__()
            self.w = nn.Parameter(torch.ones(*shape))

    class Mixed(nn.Module):  # submodules only, so named_parameters keeps this order
        def __init__(self):
            super().__init__()
            self.embed_tokens = nn.Embedding(5, 4)
            self.first = Bare(2, 2)
            self.lm_head = nn.Linear(4, 5)
            self.layer = nn.Linear(4, 4)
            self.second = Bare(3, 3)

    model = Mixed()
    assert uncovered_matrices(model, prunable_refs(model)) == ["first.w", "second.w"]


def test_a_lone_linear_is_named_weight():
    assert list(Pruner(nn.Linear(3, 2)).weights) == ["weight"]


def test_describe_range_and_closed_bounds():
    from pruning_lib.checks import check_number, describe_range

    assert describe_range(0, 1) == "[0, 1]"
    assert describe_range(None, None) == "(-inf, inf)"
    assert describe_range(0, 1, low_open=True, high_open=True) == "(0, 1)"
    assert check_number("x", 1, 0, 1) == 1  # a closed upper bound admits itself
    assert check_number("x", 2**63 - 1, 0, 2**63 - 1, integer=True) == 2**63 - 1
    with pytest.raises(ValueError, match=r"x=1 is out of range; allowed: \[0, 1\)"):
        check_number("x", 1, 0, 1, high_open=True)


def test_schedule_curve_defaults_to_the_end_step():
    assert len(Schedule("linear", 0.0, 0.5, 0, 4, 2).curve()) == 5


def test_context_length_from_any_config_key_and_chance_of_nothing():
    from types import SimpleNamespace

    from pruning_lib.evaluation.evaluate import _max_length

    def stub(**config):
        return SimpleNamespace(config=SimpleNamespace(**config))

    assert _max_length(stub(n_positions=64)) == 64
    assert _max_length(stub(max_position_embeddings=96)) == 96
    assert _max_length(stub(seq_length=80)) == 80
    assert _max_length(stub()) == 2048
    assert chance_level([]) == 0.0


def test_metrics_accumulate_over_many_records(monkeypatch):
    import pruning_lib.evaluation.evaluate as ev
    from pruning_lib.evaluation.tasks import MultipleChoice

    # Three multiple-choice items with fixed log-likelihoods: acc picks the largest, acc_norm
    # the largest per character (without the delimiter's space).
    lls = [(-1.0, False), (-3.0, False), (-2.0, False), (-6.0, False), (-1.0, False)]
    lls += [(-1.0, False), (-4.0, False)]
    monkeypatch.setattr(ev, "loglikelihoods", lambda *a, **k: lls)
    records = [
        MultipleChoice("c", (" a", " bbbb"), 1),  # acc picks 0 (wrong); norm -1 vs -0.75: 1
        MultipleChoice("c", (" a", " b", " c"), 2),  # acc 2 (right); norm 2 (right)
        MultipleChoice("c", (" a", " bb"), 0),  # acc 0 (right); norm -1 vs -2: 0 (right)
    ]
    got = ev.evaluate_task(None, None, records)
    assert got["acc"] == pytest.approx(2 / 3) and got["acc_norm"] == 1.0
    monkeypatch.setattr(ev, "loglikelihoods", lambda *a, **k: [(-1.0, True), (-2.0, False)])
    words = [LastWord("a", " b"), LastWord("c", " d")]
    assert ev.evaluate_task(None, None, words)["acc"] == 0.5
    greedy = [(-1.0, True), (-1.0, False), (-1.0, False)]
    monkeypatch.setattr(ev, "loglikelihoods", lambda *a, **k: greedy)
    qa = [
        QuestionAnswer("q", ("x",), "greedy_any"),  # its one alias is greedy
        QuestionAnswer("q", ("z", "w"), "greedy_any"),  # neither of its two is
    ]
    assert ev.evaluate_task(None, None, qa)["exact_match"] == 0.5


def test_evaluate_all_passes_its_budget_and_restores_training_mode(monkeypatch):
    import pruning_lib.evaluation.evaluate as ev

    seen = []
    monkeypatch.setattr(ev, "evaluate_task", lambda *a: seen.append(a) or {"acc": 1.0})
    model = nn.Linear(2, 2).train()
    out = ev.evaluate_all(model, "tok", {"lambada": ["r"]}, 7, 11, False)
    assert out == {"lambada": {"acc": 1.0}} and seen[0][3:] == (7, 11, False)
    assert model.training

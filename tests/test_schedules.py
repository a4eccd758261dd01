"""Schedules against values computed by hand from the published formulas."""

import pytest

from pruning_lib.schedules import KINDS, Schedule, exponential_rate


def at_events(schedule):
    return [round(schedule.sparsity_at(s), 4) for s in schedule.pruning_steps()]


def test_exponential_removes_fixed_fraction_of_remaining():
    s = Schedule("exponential", 0.0, 0.5, begin_step=0, end_step=50, frequency=10)
    assert at_events(s) == [0.0, 0.1294, 0.2421, 0.3402, 0.4257, 0.5]  # by hand
    p = exponential_rate(0.0, 0.5, 5)
    values = [s.sparsity_at(t) for t in s.pruning_steps()]
    for before, after in zip(values, values[1:]):
        assert (after - before) / (1 - before) == pytest.approx(p)


def test_cubic_is_zhu_gupta():
    s = Schedule("cubic", 0.0, 0.5, begin_step=0, end_step=100, frequency=10)
    # s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3
    assert s.sparsity_at(10) == pytest.approx(0.5 - 0.5 * 0.9**3)  # 0.1355
    assert s.sparsity_at(50) == pytest.approx(0.4375)
    assert s.sparsity_at(55) == pytest.approx(0.4375)  # held between events
    s2 = Schedule("cubic", 0.2, 0.6, begin_step=10, end_step=30, frequency=5)
    assert s2.sparsity_at(10) == pytest.approx(0.2)
    assert s2.sparsity_at(20) == pytest.approx(0.6 - 0.4 * 0.125)
    assert s2.sparsity_at(9) == 0.0


@pytest.mark.parametrize("power, midpoint", [(1, 0.25), (2, 0.375), (4, 0.46875), (5, 0.484375)])
def test_polynomial_every_power_including_even(power, midpoint):
    s = Schedule("polynomial", 0.0, 0.5, 0, 100, 10, power=power)
    assert s.sparsity_at(50) == pytest.approx(midpoint)
    assert s.sparsity_at(0) == 0.0 and s.sparsity_at(100) == 0.5


def test_linear_and_constant():
    lin = Schedule("linear", 0.1, 0.5, 0, 40, 10)
    assert at_events(lin) == [0.1, 0.2, 0.3, 0.4, 0.5]
    const = Schedule("constant", 0.0, 0.5, begin_step=5, end_step=40, frequency=10)
    assert const.sparsity_at(4) == 0.0 and const.sparsity_at(5) == 0.5


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("frequency", [1, 3, 7, 10, 33, 200])
def test_target_reached_exactly_at_end_and_never_decreases(kind, frequency):
    s = Schedule(kind, 0.05, 0.5, begin_step=3, end_step=98, frequency=frequency, power=2)
    steps = s.pruning_steps()
    assert steps[0] == 3 and steps[-1] == 98
    assert all(s.should_prune(t) for t in steps)
    assert sum(s.should_prune(t) for t in range(150)) == len(steps)
    curve = s.curve(150)
    assert curve[98] == 0.5 and curve[97] <= 0.5 and curve[150] == 0.5
    assert all(b >= a for a, b in zip(curve, curve[1:]))


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"initial_sparsity": 0.6, "target_sparsity": 0.5}, ["initial_sparsity=0.6", "[0, 0.5]"]),
        ({"begin_step": 10, "end_step": 10}, ["end_step=10", "begin_step=10", "[11, inf)"]),
        ({"frequency": 0}, ["schedule.frequency=0", "[1, inf)"]),
        ({"kind": "cosine"}, ["schedule.kind='cosine'", "'cubic'"]),
        ({"target_sparsity": 1.0}, ["schedule.target_sparsity=1.0", "[0.0, 1.0)"]),
        ({"power": 0}, ["schedule.power=0"]),
    ],
)
def test_bad_schedule_names_parameter_and_range(kwargs, words):
    with pytest.raises(ValueError) as error:
        Schedule(**kwargs)
    for word in words:
        assert word in str(error.value)

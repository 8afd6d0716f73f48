"""HyperDrive's pure core: parameter expressions, samplings and their samplers.

No runs: the samplers are exercised as the sweep's driver will use them (ask, tell)."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys

import pytest

from runyard.errors import ValidationError
from runyard.hyperdrive import (
    BayesianParameterSampling,
    GridParameterSampling,
    ParameterExpression,
    PrimaryMetricGoal,
    RandomParameterSampling,
    TrialOutcome,
    argument_name,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    sampling_from_json,
    uniform,
)

N = 2000


def _draws(expression: ParameterExpression, seed: int = 11, n: int = N) -> list:
    sampler = RandomParameterSampling({"x": expression}, properties={"rngSeed": seed}).sampler()
    values = []
    for _ in range(n):
        trial = sampler.ask()
        values.append(trial.hyperparameters["x"])
        sampler.tell(trial, 0.0)
    return values


# -- expressions: v1's list form -------------------------------------------------------------
def test_expressions_are_v1s_list_form():
    assert choice(1, 2, 3).to_json() == ["choice", [[1, 2, 3]]]
    assert choice([1, 2, 3]).to_json() == ["choice", [[1, 2, 3]]]
    assert choice(range(3)).to_json() == ["choice", [[0, 1, 2]]]
    assert choice((1, 2)).options == ((1, 2),)          # v1: a tuple is one option
    assert loguniform(-6, -1).to_json() == ["loguniform", [-6, -1]]
    assert qnormal(10, 2, 1)[0] == "qnormal"  # v1's expressions were lists
    for expression in (choice("a", "b"), randint(5), uniform(0, 1), quniform(0, 10, 2),
                       loguniform(-3, 0), qloguniform(0, 3, 1), normal(0, 1),
                       qnormal(0, 1, 1), lognormal(0, 1), qlognormal(0, 1, 1)):
        assert ParameterExpression.from_json(expression.to_json()) == expression


def test_a_sampling_round_trips_through_v1s_generator_config():
    sampling = RandomParameterSampling({"--lr": loguniform(-6, -1), "batch": choice(16, 32)},
                                       properties={"rngSeed": 4})
    data = sampling.to_json()
    assert data == {"name": "RANDOM", "properties": {"rngSeed": 4},
                    "parameter_space": {"--lr": ["loguniform", [-6, -1]],
                                        "batch": ["choice", [[16, 32]]]}}
    assert sampling_from_json(data) == sampling


# -- expressions: sampled ranges and quantization (fixed seed, many samples) ----------------
def test_uniform_stays_in_its_closed_range_and_covers_it():
    values = _draws(uniform(0.05, 0.1))
    assert all(0.05 <= v <= 0.1 for v in values)
    assert min(values) < 0.051
    assert max(values) > 0.099
    assert statistics.fmean(values) == pytest.approx(0.075, abs=0.002)


def test_loguniform_takes_exponents_as_v1():
    values = _draws(loguniform(-6, -1))
    assert all(math.exp(-6) <= v <= math.exp(-1) for v in values)
    logs = [math.log(v) for v in values]
    assert statistics.fmean(logs) == pytest.approx(-3.5, abs=0.1)   # uniform in the exponent
    assert min(logs) < -5.9
    assert max(logs) > -1.1


def test_quniform_rounds_to_multiples_of_q_as_ints():
    values = _draws(quniform(16, 128, 16))
    assert set(values) == {16, 32, 48, 64, 80, 96, 112, 128}
    assert all(type(v) is int for v in values)
    # round(uniform/q)*q: the end points get half the weight of the inner points
    assert values.count(16) < values.count(64) * 0.75


def test_quniform_with_a_float_q_gives_floats():
    values = _draws(quniform(0.0, 10.0, 2.0))
    assert set(values) <= {0.0, 2.0, 4.0, 6.0, 8.0, 10.0}
    assert all(type(v) is float for v in values)


def test_qloguniform_rounds_the_exponential():
    values = _draws(qloguniform(0, 5, 5))
    assert all(type(v) is int and v % 5 == 0 for v in values)
    assert min(values) == 0
    assert 140 <= max(values) <= 150


def test_randint_is_zero_to_upper_exclusive():
    assert set(_draws(randint(10))) == set(range(10))


def test_choice_gives_every_option_and_only_them():
    assert set(_draws(choice("relu", "tanh", 3))) == {"relu", "tanh", 3}


def test_normal_has_its_mean_and_deviation():
    values = _draws(normal(10, 2))
    assert statistics.fmean(values) == pytest.approx(10, abs=0.15)
    assert statistics.stdev(values) == pytest.approx(2, abs=0.15)
    assert min(values) < 5
    assert max(values) > 15


def test_qnormal_is_quantized_normal():
    values = _draws(qnormal(10, 2, 2))
    assert all(type(v) is int and v % 2 == 0 for v in values)
    assert statistics.fmean(values) == pytest.approx(10, abs=0.2)


def test_lognormal_is_exp_of_a_normal():
    values = _draws(lognormal(0, 1))
    assert all(v > 0 for v in values)
    logs = [math.log(v) for v in values]
    assert statistics.fmean(logs) == pytest.approx(0, abs=0.08)
    assert statistics.stdev(logs) == pytest.approx(1, abs=0.08)


def test_qlognormal_is_quantized_lognormal():
    values = _draws(qlognormal(2, 0.5, 1))
    assert all(type(v) is int and v >= 0 for v in values)
    assert statistics.median(values) == pytest.approx(math.exp(2), abs=0.6)


def test_a_zero_sigma_normal_is_its_mean():
    assert set(_draws(normal(5, 0), n=20)) == {5.0}


def test_the_same_seed_gives_the_same_points_and_another_seed_others():
    space = {"--lr": loguniform(-6, -1), "--batch": choice(16, 32, 64), "--drop": uniform(0, 1)}

    def points(seed: int | None) -> list[dict]:
        sampler = RandomParameterSampling(space, properties=None if seed is None
                                          else {"rngSeed": seed}).sampler()
        return [sampler.ask().hyperparameters for _ in range(5)]

    assert points(42) == points(42)
    assert points(42) != points(43)
    assert points(None) != points(None)


# -- keys: the script's argument names ------------------------------------------------------
def test_keys_become_the_scripts_arguments_as_v1():
    assert argument_name("--learning-rate") == "--learning-rate"
    assert argument_name("learning_rate") == "--learning_rate"
    sampler = RandomParameterSampling({"--batch-size": choice(50), "learning_rate": choice(0.5)}
                                      ).sampler()
    trial = sampler.ask()
    assert trial.hyperparameters == {"--batch-size": 50, "learning_rate": 0.5}
    assert trial.arguments() == ["--batch-size", "50", "--learning_rate", "0.5"]


def test_two_keys_for_the_same_argument_are_refused():
    with pytest.raises(ValidationError, match="'--lr' and 'lr' name the same script argument"):
        RandomParameterSampling({"--lr": uniform(0, 1), "lr": uniform(0, 1)})


# -- grid ---------------------------------------------------------------------------------------
def test_grid_enumerates_every_combination_last_key_fastest():
    sampling = GridParameterSampling({"--lr": choice(0.1, 0.01, 0.001), "--batch": choice(8, 16)})
    assert sampling.size == 6
    sampler = sampling.sampler()
    points = []
    while (trial := sampler.ask()) is not None:
        points.append(trial.hyperparameters)
        sampler.tell(trial, 1.0)
    assert points == [{"--lr": 0.1, "--batch": 8}, {"--lr": 0.1, "--batch": 16},
                      {"--lr": 0.01, "--batch": 8}, {"--lr": 0.01, "--batch": 16},
                      {"--lr": 0.001, "--batch": 8}, {"--lr": 0.001, "--batch": 16}]
    assert sampler.ask() is None            # exhausted: fewer runs than max_total_runs


def test_grid_numbers_its_trials_in_order():
    sampler = GridParameterSampling({"a": choice(1, 2)}).sampler()
    assert [sampler.ask().number, sampler.ask().number] == [0, 1]


# -- Bayesian (TPE) -------------------------------------------------------------------------
def _told_bayesian(seed: int, constant_liar: bool = True):
    import optuna

    from runyard.hyperdrive.sampling import OptunaSampler

    sampling = BayesianParameterSampling({"x": quniform(0, 40, 1)}, properties={"rngSeed": seed})
    if constant_liar:
        sampler = sampling.sampler(PrimaryMetricGoal.MAXIMIZE)
    else:   # the same engine without the liar, to show what the setting changes
        sampler = OptunaSampler(sampling.parameter_space, PrimaryMetricGoal.MAXIMIZE,
                                optuna.samplers.TPESampler(seed=seed, constant_liar=False))
    for _ in range(15):
        trial = sampler.ask()
        sampler.tell(trial, -(trial.hyperparameters["x"] - 7) ** 2)
    return sampler


def test_bayesian_concurrent_asks_get_distinct_points_with_the_constant_liar():
    sampler = _told_bayesian(seed=0)
    concurrent = [sampler.ask().hyperparameters["x"] for _ in range(6)]   # none told yet
    assert len(set(concurrent)) == 6
    assert sampler.pending == [15, 16, 17, 18, 19, 20]
    without = _told_bayesian(seed=0, constant_liar=False)
    repeated = [without.ask().hyperparameters["x"] for _ in range(6)]
    assert len(set(repeated)) < len(set(concurrent))


def test_bayesian_learns_from_what_it_is_told():
    sampler = _told_bayesian(seed=3)
    later = []
    for _ in range(10):
        trial = sampler.ask()
        later.append(trial.hyperparameters["x"])
        sampler.tell(trial, -(trial.hyperparameters["x"] - 7) ** 2)
    assert statistics.median(abs(x - 7) for x in later) <= 5      # uniform over 0..40: ~12


def test_tell_accepts_canceled_and_failed_trials_once_each():
    sampler = _told_bayesian(seed=1)
    canceled, failed, silent = sampler.ask(), sampler.ask(), sampler.ask()
    sampler.tell(canceled, -30.0, TrialOutcome.CANCELED, interval=3)
    sampler.tell(failed, None, "Failed")
    sampler.tell(silent, None)                   # completed without the metric: failed
    assert sampler.ask() is not None
    with pytest.raises(ValidationError, match="already told"):
        sampler.tell(canceled, 1.0)
    with pytest.raises(ValidationError, match="never asked"):
        sampler.tell(99, 1.0)
    with pytest.raises(ValidationError, match="unknown trial state 'Exploded'"):
        sampler.tell(sampler.ask(), 1.0, "Exploded")


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("build", "message"), [
    (lambda: uniform(1, 0), r"uniform\(1, 0\): min_value must be < max_value"),
    (lambda: uniform(1, 1), r"min_value must be < max_value"),
    (lambda: quniform(5, 1, 1), r"quniform\(5, 1\)"),
    (lambda: loguniform(0, -1), r"min_value must be <= max_value"),
    (lambda: quniform(0, 10, 0.5), r"q must be an integer"),
    (lambda: quniform(0, 10, 0), r"q must be positive"),
    (lambda: choice(), r"choice\(\) needs at least one option"),
    (lambda: choice([]), r"the list of options is empty"),
    (lambda: choice(range(0)), r"the list of options is empty"),
    (lambda: choice([1, 2], 3), r"not a mix"),
    (lambda: randint(0), r"upper must be a positive int"),
    (lambda: randint(2.5), r"upper must be a positive int"),
    (lambda: normal(0, -1), r"sigma must not be negative"),
    (lambda: qlognormal(0, 1, -2), r"q must be positive"),
    (lambda: uniform("0", 1), r"min_value must be a number"),
    (lambda: uniform(True, 2), r"min_value must be a number"),
    (lambda: uniform(0, math.inf), r"max_value must be finite"),
])
def test_an_expression_with_a_bad_range_is_refused(build, message):
    with pytest.raises(ValidationError, match=message):
        build()


def test_grid_over_a_continuous_expression_is_refused():
    with pytest.raises(ValidationError, match=r"supports only choice; hyperparameter '--lr' is "
                                              r"uniform\(\.\.\.\), a continuous expression"):
        GridParameterSampling({"--batch": choice(8, 16), "--lr": uniform(0.01, 0.1)})
    with pytest.raises(ValidationError, match=r"choice\(range\(10\)\)"):
        GridParameterSampling({"--seed": randint(10)})


def test_bayesian_refuses_what_v1_refused():
    with pytest.raises(ValidationError, match="supports only choice, quniform, uniform; "
                                              "hyperparameter 'lr' is loguniform"):
        BayesianParameterSampling({"lr": loguniform(-6, -1)})
    with pytest.raises(ValidationError, match="quniform arguments of 'b' must be ints"):
        BayesianParameterSampling({"b": quniform(0.5, 10, 1)})
    with pytest.raises(ValidationError, match="too many points"):
        BayesianParameterSampling({"b": quniform(0, 1_000_000, 1)})
    with pytest.raises(ValidationError, match="all str or none"):
        BayesianParameterSampling({"act": choice("relu", 1)})


@pytest.mark.parametrize(("space", "message"), [
    ({}, "parameter_space is empty"),
    ([("lr", uniform(0, 1))], "parameter_space must be a dict"),
    ({"--": uniform(0, 1)}, "is not an argument name"),
    ({"learning rate": uniform(0, 1)}, "is not an argument name"),
    ({"lr": [0.1, 0.2]}, "hyperparameter 'lr': .* is not a parameter expression"),
    ({"lr": ["gaussian", [0, 1]]}, "unknown parameter expression 'gaussian'"),
])
def test_a_bad_parameter_space_is_refused(space, message):
    with pytest.raises(ValidationError, match=message):
        RandomParameterSampling(space)


@pytest.mark.parametrize(("properties", "message"), [
    ({"seed": 1}, "unknown properties seed; the only one is 'rngSeed'"),
    ({"rngSeed": "1"}, "rngSeed must be an int"),
    ({"rngSeed": -1}, "rngSeed must be an int"),
    ([1], "properties must be a dict"),
])
def test_bad_sampling_properties_are_refused(properties, message):
    with pytest.raises(ValidationError, match=message):
        RandomParameterSampling({"lr": uniform(0, 1)}, properties=properties)


def test_the_public_names_are_v1s_and_the_cores():
    import runyard.hyperdrive as hd

    v1 = {"BanditPolicy", "BayesianParameterSampling", "EarlyTerminationPolicy",
          "GridParameterSampling", "HyperDriveConfig", "HyperDriveRun", "HyperParameterSampling",
          "MedianStoppingPolicy", "NoTerminationPolicy", "PrimaryMetricGoal",
          "RandomParameterSampling", "TruncationSelectionPolicy", "choice", "lognormal",
          "loguniform", "normal", "randint", "qlognormal", "qloguniform", "qnormal",
          "quniform", "uniform"}
    core = {"ChildHistory", "ParameterExpression", "ParameterSampler", "PolicyDecision",
            "ReplayReport", "ReplayStop", "SampledTrial", "TrialOutcome", "argument_name",
            "estimate_policy_savings", "format_report", "parse_policy", "policy_from_json",
            "replay", "sampling_from_json"}
    assert set(hd.__all__) == v1 | core
    assert all(hasattr(hd, name) for name in hd.__all__)


def test_importing_hyperdrive_does_not_import_optuna():
    code = ("import sys, runyard, runyard.hyperdrive as hd; "
            "s = hd.RandomParameterSampling({'x': hd.uniform(0, 1)}); "
            "assert 'optuna' not in sys.modules, 'imported at build'; "
            "s.sampler(); assert 'optuna' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)

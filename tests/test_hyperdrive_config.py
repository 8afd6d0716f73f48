"""HyperDriveConfig: v1's arguments, and every bad input refused when it is built."""

from __future__ import annotations

import pytest

from runyard.errors import NotSupportedError, ValidationError
from runyard.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    HyperDriveConfig,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    loguniform,
    uniform,
)
from runyard.train import ScriptRunConfig
from runyard.train.estimator import Estimator


@pytest.fixture
def script(tmp_path):
    return ScriptRunConfig(source_directory=str(tmp_path), script="train.py")


def _random():
    return RandomParameterSampling({"--batch-size": choice(25, 50, 100),
                                    "--learning-rate": loguniform(-6, -1)},
                                   properties={"rngSeed": 1})


def _config(script, **overrides):
    arguments = {"hyperparameter_sampling": _random(), "primary_metric_name": "validation_acc",
                 "primary_metric_goal": PrimaryMetricGoal.MAXIMIZE, "max_total_runs": 8,
                 "run_config": script}
    arguments.update(overrides)
    return HyperDriveConfig(**arguments)


def test_the_articles_sweep_builds_with_v1s_arguments(script):
    config = _config(script, max_concurrent_runs=2,
                     policy=BanditPolicy(evaluation_interval=2, slack_factor=0.1))
    assert (config.max_total_runs, config.max_concurrent_runs, config.max_duration_minutes) == (
        8, 2, 10080)
    assert config.run_config is script
    assert config.estimator is None
    assert config._primary_metric_config == {"name": "validation_acc", "goal": "maximize"}
    assert config._policy_config["name"] == "Bandit"
    assert config.source_directory == script.source_directory


def test_no_policy_means_no_termination_and_no_concurrency_limit_means_all_at_once(script):
    config = _config(script)
    assert isinstance(config.policy, NoTerminationPolicy)
    assert config.max_concurrent_runs == 8


def test_an_estimator_is_accepted_in_place_of_a_run_config(tmp_path):
    estimator = Estimator(source_directory=str(tmp_path), entry_script="train.py")
    config = _config(None, run_config=None, estimator=estimator)
    assert config.estimator is estimator


def test_the_goal_may_be_a_string_as_v1s_from_str(script):
    assert _config(script, primary_metric_goal="Minimize").primary_metric_goal is \
        PrimaryMetricGoal.MINIMIZE


def test_the_config_makes_its_sampler_with_its_goal(script):
    sampler = _config(script, primary_metric_goal="minimize").sampler()
    assert sampler.goal is PrimaryMetricGoal.MINIMIZE
    assert set(sampler.ask().hyperparameters) == {"--batch-size", "--learning-rate"}


def test_the_settings_round_trip_for_a_driver_in_another_process(script):
    config = _config(script, max_concurrent_runs=2, policy=MedianStoppingPolicy(1, 5))
    settings = HyperDriveConfig.settings_from_json(config.to_json())
    rebuilt = HyperDriveConfig(run_config=script, **settings)
    assert rebuilt.to_json() == config.to_json()


def test_bayesian_warns_as_v1_below_twenty_runs_per_hyperparameter(script):
    sampling = BayesianParameterSampling({"--lr": uniform(0.001, 0.1), "--b": choice(8, 16)})
    with pytest.warns(UserWarning, match="recommend using a maximum number of runs greater "
                                         "than or equal to 20 times .* Recommended value: 40"):
        _config(script, hyperparameter_sampling=sampling, max_total_runs=8)
    _config(script, hyperparameter_sampling=sampling, max_total_runs=40, max_concurrent_runs=4)


def test_bayesian_warns_above_twenty_concurrent_runs(script):
    sampling = BayesianParameterSampling({"--lr": uniform(0.001, 0.1)})
    with pytest.warns(UserWarning, match="20 max concurrent runs or fewer"):
        _config(script, hyperparameter_sampling=sampling, max_total_runs=40,
                max_concurrent_runs=30)


# -- bad input: each refused before anything runs -------------------------------------------
def test_bayesian_with_a_policy_is_refused(script):
    sampling = BayesianParameterSampling({"--lr": uniform(0.001, 0.1)})
    with pytest.raises(ValidationError, match=r"BayesianParameterSampling does not support early "
                                              r"termination .* remove the BanditPolicy"):
        _config(script, hyperparameter_sampling=sampling, max_total_runs=20,
                policy=BanditPolicy(slack_factor=0.1))
    _config(script, hyperparameter_sampling=sampling, max_total_runs=20,
            policy=NoTerminationPolicy())


def test_both_or_neither_of_estimator_and_run_config_is_refused(script, tmp_path):
    estimator = Estimator(source_directory=str(tmp_path), entry_script="train.py")
    with pytest.raises(ValidationError, match=r"exactly one of estimator and run_config \(got "
                                              r"both\)"):
        _config(script, estimator=estimator)
    with pytest.raises(ValidationError, match=r"\(got neither\)"):
        _config(script, run_config=None)
    with pytest.raises(ValidationError, match="run_config must be a ScriptRunConfig, not dict"):
        _config(script, run_config={"script": "train.py"})
    with pytest.raises(ValidationError, match="estimator must be an Estimator"):
        _config(script, run_config=None, estimator="train.py")


def test_grid_over_a_continuous_expression_never_reaches_the_config():
    with pytest.raises(ValidationError, match="GridParameterSampling supports only choice"):
        GridParameterSampling({"--lr": uniform(0.01, 0.1)})


@pytest.mark.parametrize(("overrides", "message"), [
    ({"max_total_runs": 0}, "max_total_runs=0 is outside v1's limits: 1 to 1000"),
    ({"max_total_runs": 1001}, "max_total_runs=1001 is outside v1's limits: 1 to 1000"),
    ({"max_total_runs": 8.0}, "max_total_runs must be an int"),
    ({"max_total_runs": 200, "max_concurrent_runs": 101},
     "max_concurrent_runs=101 is outside v1's limits: 1 to 100"),
    ({"max_concurrent_runs": 0}, "max_concurrent_runs=0 is outside"),
    ({"max_concurrent_runs": 9}, "max_concurrent_runs=9 is more than max_total_runs=8"),
    ({"max_duration_minutes": 10081}, "max_duration_minutes must be a number above 0 and at "
                                      "most 10080"),
    ({"max_duration_minutes": 0}, "max_duration_minutes must be"),
    ({"primary_metric_goal": "up"}, r"unknown primary_metric_goal 'up'; use "
                                    r"PrimaryMetricGoal.MAXIMIZE or PrimaryMetricGoal.MINIMIZE"),
    ({"primary_metric_goal": None}, "unknown primary_metric_goal None"),
    ({"primary_metric_name": ""}, "primary_metric_name must be the name of a metric"),
    ({"hyperparameter_sampling": {"--lr": uniform(0, 1)}},
     "hyperparameter_sampling must be a RandomParameterSampling"),
    ({"policy": "Bandit"}, "policy must be a BanditPolicy"),
])
def test_a_bad_setting_is_refused_naming_it(script, overrides, message):
    with pytest.raises(ValidationError, match=message):
        _config(script, **overrides)


def test_warm_start_is_refused_until_the_sweep_exists(script):
    with pytest.raises(NotSupportedError, match="resume_from and resume_child_runs"):
        _config(script, resume_from=["hd_1"])

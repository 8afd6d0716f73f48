import runyard


def test_public_api_is_exactly_this() -> None:
    assert runyard.__all__ == [
        "ComputeTarget", "CondaDependencies", "DataReference", "Datastore", "Environment",
        "Experiment", "LocalCompute", "Model", "Run", "RunyardError", "ScriptRunConfig",
        "Workspace",
    ]
    for name in runyard.__all__:
        assert getattr(runyard, name).__name__ == name


def test_errors_pickle_with_their_context() -> None:
    import pickle

    from runyard.errors import InvalidNameError

    error = InvalidNameError("experiment name 'a b' contains a space", name="a b")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is InvalidNameError
    assert str(copy) == str(error)
    assert copy.name == "a b"  # type: ignore[attr-defined]
    assert isinstance(copy, ValueError)

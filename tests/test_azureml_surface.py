"""Every public name of the Azure ML v1 modules is in `runyard.azureml`, or in the table.

tests/data/azureml_v1_surface.json is the v1 surface, read from the v1 wheels by
`python tools/azureml_surface.py manifest` (azureml is never installed here). For each
module, name, class member and parameter of it, `runyard.azureml.<same path>` must have it
(importable, an attribute, a parameter of the signature or **kwargs), or the name must be
in `runyard.azureml._surface.ENTRIES`, and then behave as its row says: refused names raise
`NotSupportedError` with the reason, ignored ones warn one line. A row for a name runyard
implements itself fails too, so the table (docs/migration.md's is written from ENTRIES and
checked here) cannot drift from the code.

`python tests/test_azureml_surface.py` prints the counts per module.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import json
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

from runyard.azureml import _surface
from runyard.azureml._ignored import AzureArgumentIgnoredWarning
from runyard.errors import NotSupportedError

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = json.loads((ROOT / "tests" / "data" / "azureml_v1_surface.json").read_text())
MODULES: dict[str, dict[str, Any]] = MANIFEST["modules"]


# -- what runyard has ---------------------------------------------------------------------

@functools.cache
def _instance_attributes(cls: type) -> frozenset[str]:
    """Names runyard's classes in `cls`'s MRO set on `self` (v1 properties that runyard
    keeps as plain attributes), plus annotations and slots."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("runyard"):
            continue
        names.update(getattr(klass, "__annotations__", {}))
        names.update(getattr(klass, "__slots__", ()))
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        for node in ast.walk(tree):
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) else [])
            for target in targets:
                if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                        and target.value.id == "self"):
                    names.add(target.attr)
    return frozenset(names)


def _has_member(cls: type, name: str) -> bool:
    try:
        inspect.getattr_static(cls, name)
        return True
    except AttributeError:
        return name in _instance_attributes(cls) or hasattr(cls, name)


def _signature_problems(path: str, obj: Any, record: dict[str, Any] | None) -> list[str]:
    if record is None or _surface.surface_entry(obj) is not None:
        return []
    try:
        parameters = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return []
    return [f"{path}({name}=): runyard's signature does not take it"
            for name in record["params"]
            if name not in parameters
            or parameters[name].kind is inspect.Parameter.POSITIONAL_ONLY]


def _member_problems(path: str, cls: type, record: dict[str, Any]) -> list[str]:
    problems = _signature_problems(path, cls, record.get("init"))
    for member, member_record in record["members"].items():
        member_path = f"{path}.{member}"
        entry = _surface.ENTRIES.get(member_path)
        if not _has_member(cls, member):
            problems.append(f"{member_path}: missing" + (
                f" (the table says {entry.category}: the class needs "
                f"@v1_members({path!r}))" if entry else ""))
            continue
        static = inspect.getattr_static(cls, member, None)
        if entry is not None and entry.category != "implemented" \
                and _surface.surface_entry(static) is None:
            problems.append(f"{member_path}: runyard implements it, but the table says "
                            f"{entry.category}: drop its row from _surface.py")
        if member_record["kind"] == "method" and _surface.surface_entry(static) is None:
            value = getattr(cls, member, None)
            if callable(value):
                problems.extend(_signature_problems(member_path, value, member_record))
    return problems


def module_report(v1_module: str) -> tuple[dict[str, str], list[str]]:
    """The category of each v1 name of the module (implemented, ignored, refused,
    missing) and the problems found: missing names, members, parameters, drifted rows."""
    categories: dict[str, str] = {}
    problems: list[str] = []
    try:
        module = importlib.import_module(f"runyard.{v1_module}")
    except ImportError as error:
        for name in MODULES[v1_module]:
            categories[name] = "missing"
        return categories, [f"{v1_module}: runyard.{v1_module} does not import ({error})"]
    for name, record in MODULES[v1_module].items():
        path = f"{v1_module}.{name}"
        entry = _surface.entry_for(v1_module, name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = getattr(module, name)
        except AttributeError:
            categories[name] = "missing"
            problems.append(f"{path}: missing" + (
                f" (the table says {entry.category}: runyard.{v1_module} needs "
                f"`__getattr__ = module_getattr(__name__)`)" if entry else ""))
            continue
        stands_for = _surface.surface_entry(obj)
        if entry is not None and entry.category != "implemented" and stands_for is None:
            problems.append(f"{path}: runyard implements it, but the table says "
                            f"{entry.category}: drop its row from _surface.py")
        if stands_for is not None:
            categories[name] = stands_for.category
            continue
        categories[name] = "implemented"
        if record["kind"] == "class":
            if not isinstance(obj, type):
                problems.append(f"{path}: v1's is a class, runyard's is {type(obj).__name__}")
                continue
            problems.extend(_member_problems(path, obj, record))
        elif record["kind"] == "function":
            problems.extend(_signature_problems(path, obj, record))
    return categories, problems


# -- the surface --------------------------------------------------------------------------

@pytest.mark.parametrize("v1_module", sorted(MODULES))
def test_every_v1_name_is_in_runyard_or_in_the_table(v1_module: str) -> None:
    _, problems = module_report(v1_module)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_manifest_covers_the_modules_of_issue_12() -> None:
    assert MANIFEST["packages"]["azureml-core"]
    assert "azureml.core.VERSION" in {f"{m}.{n}" for m, names in MODULES.items() for n in names}
    assert len(MODULES) == 27
    assert sum(len(names) for names in MODULES.values()) > 250


# -- each row of the table behaves as it says ---------------------------------------------

def _runyard_object(entry: _surface.Entry, module: str | None = None) -> Any:
    """What runyard gives for the entry's v1 path (its class for a member)."""
    if entry.kind in ("method", "property"):
        class_path = entry.owner
        module_name, _, class_name = class_path.rpartition(".")
        cls = getattr(importlib.import_module(f"runyard.{module_name}"), class_name)
        return cls
    return getattr(importlib.import_module(f"runyard.{module or entry.owner}"), entry.name)


REFUSED = sorted(p for p, e in _surface.ENTRIES.items() if e.category == "refused")
IGNORED = sorted(p for p, e in _surface.ENTRIES.items() if e.category == "ignored")


@pytest.mark.parametrize("path", REFUSED)
def test_a_refused_name_raises_not_supported_with_its_reason(path: str) -> None:
    entry = _surface.ENTRIES[path]
    obj = _runyard_object(entry)
    if entry.kind == "method":
        call = getattr(obj, entry.name)
    elif entry.kind == "property":
        descriptor = inspect.getattr_static(obj, entry.name)
        assert _surface.surface_entry(descriptor) is entry

        def call(*args: Any, **kwargs: Any) -> Any:
            return descriptor.__get__(object.__new__(obj), obj)
    else:
        call = obj
        for other in entry.also:  # the same object wherever v1 exports it
            assert _runyard_object(entry, other) is obj
    with pytest.raises(NotSupportedError) as raised:
        call("any", v1="argument")
    assert entry.reason in str(raised.value)
    assert raised.value.name == path  # type: ignore[attr-defined]
    assert isinstance(raised.value, NotImplementedError)
    if entry.kind == "class":  # v1's static constructors are refused too
        with pytest.raises(NotSupportedError, match=f"{path}.deploy_configuration: "):
            obj.deploy_configuration(cpu_cores=1)


@pytest.mark.parametrize("path", IGNORED)
def test_an_ignored_name_warns_one_line_and_does_nothing(path: str) -> None:
    entry = _surface.ENTRIES[path]
    obj = _runyard_object(entry)
    if entry.kind == "method":
        call = functools.partial(getattr(obj, entry.name), "any", v1="argument")
    elif entry.kind == "property":
        descriptor = inspect.getattr_static(obj, entry.name)
        call = functools.partial(descriptor.__get__, object.__new__(obj), obj)
    else:
        call = functools.partial(obj, "any", v1="argument")
    with pytest.warns(AzureArgumentIgnoredWarning) as caught:
        result = call()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "\n" not in message
    assert entry.reason in message
    assert path in message
    if entry.kind != "class":
        assert result is None


def test_every_row_names_a_v1_name() -> None:
    v1 = set()
    for module, names in MODULES.items():
        for name, record in names.items():
            v1.add(f"{module}.{name}")
            v1.update(f"{module}.{name}.{member}" for member in record.get("members", {}))
    for entry in _surface.ENTRIES.values():
        assert entry.path in v1, f"{entry.path} is not a v1 name of the manifest"
        assert entry.reason.strip()
        assert "\n" not in entry.reason


def test_the_docs_table_is_the_surface_table() -> None:
    spec = importlib.util.spec_from_file_location("azureml_surface",
                                                  ROOT / "tools" / "azureml_surface.py")
    assert spec is not None
    assert spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tool  # its dataclasses look their module up
    try:
        spec.loader.exec_module(tool)
    finally:
        del sys.modules[spec.name]
    text = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
    table = text[text.index(tool.BEGIN) + len(tool.BEGIN):text.index(tool.END)].strip()
    assert table == tool.docs_table(), \
        "docs/migration.md's surface table is stale: run python tools/azureml_surface.py docs"


def test_importing_a_refused_name_gives_the_same_object_twice() -> None:
    from runyard.azureml.core import Webservice as first
    from runyard.azureml.core.webservice import Webservice as second

    assert first is second
    assert isinstance(first, type)
    assert first.__module__ == "runyard.azureml.core.webservice"


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import runyard.azureml.core.webservice as webservice

    with pytest.raises(AttributeError, match="no attribute 'NoSuchService'"):
        webservice.NoSuchService  # noqa: B018


def test_sdk_version_is_runyards() -> None:
    import tomllib

    import runyard
    import runyard.azureml.core
    import runyard.azureml.exceptions

    version = runyard.__version__
    assert version == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == runyard.azureml.exceptions.VERSION  # every v1 package's VERSION
    assert version == runyard.azureml.core.VERSION
    assert version == runyard.azureml.core.__version__


# -- names this part implements: v1's behaviour ------------------------------------------

def test_v1_distributed_classes_take_the_estimators_node_count(tmp_path: Path) -> None:
    from runyard.azureml.train.dnn import Gloo, Nccl, ParameterServer, PyTorch, TensorFlow
    from runyard.azureml.train.estimator import Estimator, Mpi

    (tmp_path / "train.py").write_text("")
    torch = PyTorch(str(tmp_path), entry_script="train.py", node_count=2,
                    process_count_per_node=3, distributed_training=Gloo())
    assert torch._distributed() == {"framework": "pytorch", "backend": "gloo",
                                    "process_count": 6, "node_count": 2}
    nccl = PyTorch(str(tmp_path), entry_script="train.py", distributed_training=Nccl())
    assert nccl._distributed() == {"framework": "pytorch", "backend": "nccl",
                                   "process_count": 1, "node_count": 1}
    ps = TensorFlow(str(tmp_path), entry_script="train.py",
                    distributed_training=ParameterServer(worker_count=2))
    assert ps._distributed() == {"framework": "tensorflow", "worker_count": 2,
                                 "parameter_server_count": 1, "chief_count": 0,
                                 "node_count": 1}
    mpi = Estimator(str(tmp_path), entry_script="train.py", node_count=2,
                    distributed_training=Mpi(process_count_per_node=2))
    assert mpi._distributed() == {"framework": "mpi", "process_count_per_node": 2,
                                  "node_count": 2}
    Gloo().validate("PyTorch")
    from runyard.azureml.exceptions import TrainingException

    with pytest.raises(TrainingException, match=r"ParameterServer .* PyTorch .* tensorflow"):
        ParameterServer().validate("PyTorch")


def test_diagnostic_log_writes_runyards_debug_log_while_active(tmp_path: Path) -> None:
    import logging

    from runyard.azureml.core import diagnostic_log

    log = tmp_path / "debug.log"
    logger = logging.getLogger("runyard.surface-test")
    level = logging.getLogger("runyard").level
    with diagnostic_log(str(log), context_name="cell 3"):
        logger.debug("inside")
    logger.debug("outside")
    text = log.read_text()
    assert "DEBUG runyard.surface-test [cell 3] inside" in text
    assert "outside" not in text
    assert logging.getLogger("runyard").level == level


def test_workspace_get_run_finds_a_run_of_any_experiment(workspace: Any) -> None:
    from runyard.azureml.core import Experiment, Workspace

    ws = Workspace.from_config(workspace.path)
    run = Experiment(ws, "surface").start_logging()
    run.complete()
    assert ws.get_run(run.id).id == run.id


def test_v1_exceptions_catch_what_runyard_raises() -> None:
    from runyard.azureml.exceptions import (
        ActivityFailedException,
        AzureMLException,
        ModelNotFoundException,
        UserErrorException,
    )
    from runyard.errors import ModelNotFoundError, RunFailedError, ValidationError

    assert issubclass(ModelNotFoundError, ModelNotFoundException)
    assert issubclass(RunFailedError, ActivityFailedException)
    assert issubclass(ValidationError, UserErrorException)
    def fail() -> None:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValidationError("outer") from inner

    with pytest.raises(AzureMLException) as raised:
        fail()
    assert isinstance(raised.value.inner_exception, KeyError)


def test_refused_stand_ins_print_and_pickle_their_reason() -> None:
    import pickle

    from runyard.azureml.train.hyperdrive import HyperDriveRunConfig

    with pytest.raises(NotSupportedError) as raised:
        HyperDriveRunConfig(estimator=None, max_total_runs=4)
    copy = pickle.loads(pickle.dumps(raised.value))
    assert str(copy) == str(raised.value)
    assert "use HyperDriveConfig" in str(copy)
    assert copy.name == "azureml.train.hyperdrive.HyperDriveRunConfig"  # type: ignore[attr-defined]


if __name__ == "__main__":
    totals: dict[str, int] = {}
    for v1_module in sorted(MODULES):
        categories, problems = module_report(v1_module)
        counts = {c: list(categories.values()).count(c)
                  for c in ("implemented", "ignored", "refused", "missing")}
        for category, count in counts.items():
            totals[category] = totals.get(category, 0) + count
        print(f"{v1_module}: {len(categories)} names, {counts}, {len(problems)} problems")
    print(f"all: {sum(totals.values())} names, {totals}")

"""One registry for every backend kind: built-ins by name, plugins by entry point, and an
error that lists the valid names (runyard._registry)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runyard import Workspace
from runyard._registry import Registry
from runyard.artifacts.base import ARTIFACT_STORES, open_artifact_store
from runyard.compute.base import COMPUTES, get_compute_target
from runyard.environment._builders import BUILDERS, builder_for
from runyard.errors import UnknownBackendError, UnknownComputeTargetError, ValidationError
from runyard.store.base import STORES, open_store


def test_builtins_are_imported_only_when_used() -> None:
    sys.modules.pop("tabnanny", None)
    registry: Registry[object] = Registry(
        "runyard.tests_none", {"nanny": "tabnanny:NannyNag"},
        lambda name, valid: KeyError(name))
    assert registry.names() == ["nanny"]
    assert "nanny" in registry
    assert "tabnanny" not in sys.modules
    assert registry.get("nanny").__name__ == "NannyNag"
    assert "tabnanny" in sys.modules


def test_unknown_names_list_the_valid_ones(workspace: Workspace) -> None:
    with pytest.raises(UnknownBackendError, match=r"'mongodb'.*known schemes: sqlite, "
                                                  r"postgresql"):
        open_store("mongodb://host/db")
    with pytest.raises(UnknownBackendError, match=r"'s4'.*known schemes: file"):
        open_artifact_store("s4://bucket/x")
    with pytest.raises(ValidationError, match=r"builder 'docker'.*builders: uv, conda"):
        builder_for("docker")
    workspace.store.put_compute_target("k8s", "kubernetes", {})
    with pytest.raises(UnknownComputeTargetError,
                       match=r"'k8s' has type 'kubernetes'.*known types: local, ray"):
        get_compute_target(workspace, "k8s")
    assert STORES.names()[:2] == ["sqlite", "postgresql"]
    assert "file" in ARTIFACT_STORES.names()
    assert "uv" in BUILDERS.names()
    assert COMPUTES.names()[:2] == ["local", "ray"]


def test_register_at_run_time_and_error_factory() -> None:
    registry: Registry[object] = Registry(
        "runyard.tests_none", {"path": "pathlib:Path"},
        lambda name, valid: KeyError(f"{name}; valid: {valid}"))
    assert registry.get("path") is Path
    with pytest.raises(KeyError, match=r"nope; valid: \['path'\]"):
        registry.get("nope")
    registry.register("purepath", "pathlib:PurePosixPath")
    assert registry.get("purepath").__name__ == "PurePosixPath"
    assert registry.names() == ["path", "purepath"]


def test_plugins_add_backends_by_entry_point(tmp_path: Path) -> None:
    """A distribution on the path declares a compute type and an environment builder in
    runyard's entry-point groups; runyard finds both without being edited."""
    (tmp_path / "runyard_kube.py").write_text(textwrap.dedent("""
        from runyard.compute.local import LocalCompute
        from runyard.environment._builders import UvBuilder

        class KubeCompute(LocalCompute):
            type = "kube"

        class PixiBuilder(UvBuilder):
            kind = "pixi"
    """))
    info = tmp_path / "runyard_kube-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: runyard-kube\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[runyard.computes]\nkube = runyard_kube:KubeCompute\n\n"
        "[runyard.environment_builders]\npixi = runyard_kube:PixiBuilder\n")
    script = textwrap.dedent(f"""
        from runyard import Workspace
        from runyard.compute.base import COMPUTES, get_compute_target
        from runyard.environment._builders import builder_for
        from runyard.errors import UnknownComputeTargetError

        ws = Workspace.create("plug", path={str(tmp_path / "ws")!r})
        ws.store.put_compute_target("cluster", "kube", {{"max_concurrent_runs": 3}})
        target = get_compute_target(ws, "cluster")
        print(type(target).__name__, target.config["max_concurrent_runs"])
        print(type(builder_for("pixi")).__name__)
        ws.store.put_compute_target("other", "nomad", {{}})
        try:
            get_compute_target(ws, "other")
        except UnknownComputeTargetError as e:
            print(str(e).split("; ")[-1])
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p)}
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, check=False, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert lines[:2] == ["KubeCompute 3", "PixiBuilder"]
    assert lines[2].startswith("known types: local, ray, ")  # the built-ins, then plugins
    assert lines[2].endswith(", kube")

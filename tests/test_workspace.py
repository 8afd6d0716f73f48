from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from runyard import Workspace
from runyard.errors import (
    InvalidNameError,
    RunyardError,
    ValidationError,
    WorkspaceExistsError,
    WorkspaceNotFoundError,
)


def test_create_writes_config_and_from_config_finds_it_from_a_subfolder(tmp_path: Path) -> None:
    ws = Workspace.create("proj", path=tmp_path)
    config = json.loads((tmp_path / ".runyard" / "config.json").read_text())
    assert config["name"] == "proj"
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    found = Workspace.from_config(nested)
    assert found == ws
    assert found.name == "proj"


def test_embedded_default_is_sqlite_in_wal_mode_and_a_local_artifact_folder(
        tmp_path: Path) -> None:
    ws = Workspace.create("proj", path=tmp_path)
    assert ws.store_url == f"sqlite:///{tmp_path / '.runyard' / 'runyard.db'}"
    assert ws.artifact_url.startswith("file://")
    with ws.store.engine.connect() as conn:  # type: ignore[attr-defined]
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_create_twice_needs_exist_ok(tmp_path: Path) -> None:
    Workspace.create("proj", path=tmp_path)
    with pytest.raises(WorkspaceExistsError, match="exist_ok=True"):
        Workspace.create("proj", path=tmp_path)
    assert Workspace.create("proj", path=tmp_path, exist_ok=True).name == "proj"


def test_from_config_without_a_workspace_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError, match="runyard init"):
        Workspace.from_config(tmp_path)


def test_invalid_workspace_name_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="workspace name 'my project' contains a space"):
        Workspace.create("my project", path=tmp_path)
    assert not (tmp_path / ".runyard").exists()


def test_store_and_artifact_urls_are_settings(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "elsewhere" / "history.db"
    Workspace.create("proj", path=tmp_path / "ws", store_url=f"sqlite:///{db}",
                     artifact_url=(tmp_path / "files").as_uri())
    assert db.exists()
    reopened = Workspace.from_config(tmp_path / "ws")
    assert reopened.store_url == f"sqlite:///{db}"
    monkeypatch.setenv("RUNYARD_STORE_URL", "sqlite:///" + str(tmp_path / "env.db"))
    assert reopened.store_url.endswith("env.db")


def test_azure_only_arguments_are_ignored_with_a_warning(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="subscription_id"):
        Workspace.create("proj", path=tmp_path, subscription_id="x", resource_group="y")


@pytest.mark.parametrize(("content", "error", "message"), [
    (b"[1, 2]", ValidationError, "holds a JSON array, not an object"),
    (b"null", ValidationError, "holds a JSON null, not an object"),
    (b"\xff\xfe{}", WorkspaceNotFoundError, "is not UTF-8 text"),
    (b'{"store_url": 5}', ValidationError, "'store_url' must be a string, got a JSON number"),
    (b'{"store_url": true}', ValidationError, "'store_url' must be a string, got a JSON boolean"),
    (b'{"artifact_url": {}}', ValidationError, "'artifact_url' must be a string, got a JSON "
                                               "object"),
    (b'{"name": 7}', ValidationError, "'name' must be a string, got a JSON number"),
    (b"{", WorkspaceNotFoundError, "cannot read workspace config"),
])
def test_from_config_refuses_a_config_it_cannot_use(tmp_path: Path, content: bytes,
                                                    error: type[RunyardError],
                                                    message: str) -> None:
    Workspace.create("proj", path=tmp_path)
    config = tmp_path / ".runyard" / "config.json"
    config.write_bytes(content)
    with pytest.raises(error, match=re.escape(message)) as raised:
        Workspace.from_config(tmp_path)
    assert str(config) in str(raised.value)
    assert raised.value.path == str(config)  # type: ignore[attr-defined]
    with pytest.raises(error, match=re.escape(message)):
        Workspace.create("proj", path=tmp_path, exist_ok=True)


def test_from_config_takes_null_settings_as_the_defaults(tmp_path: Path) -> None:
    Workspace.create("proj", path=tmp_path)
    (tmp_path / ".runyard" / "config.json").write_text(
        json.dumps({"name": None, "store_url": None, "artifact_url": None, "later": 1}))
    found = Workspace.from_config(tmp_path)
    assert found.name == tmp_path.name
    assert found.store_url == f"sqlite:///{tmp_path / '.runyard' / 'runyard.db'}"


def test_an_azure_config_that_is_not_utf8_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_bytes(b"\xff not azure")
    with pytest.raises(WorkspaceNotFoundError, match="no workspace found"):
        Workspace.from_config(tmp_path)

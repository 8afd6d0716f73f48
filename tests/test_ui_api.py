"""The REST API and `runyard ui`, through httpx against a real server process (a real
`runyard ui` subprocess on a real workspace: SQLite store, artifact folder, runs made by
submitting scripts and through the SDK)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from runyard import Experiment, Run, ScriptRunConfig, Workspace
from runyard.ui import server as ui_server

from .conftest import _processes_mentioning, wait_for

pytestmark = pytest.mark.slow  # a server process per module (and per token test)


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    lines: list[str]

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]


def start_server(workspace: Path, *arguments: str) -> Server:
    """`runyard ui --workspace WS --port 0 ARGUMENTS` until it prints its address."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runyard.cli", "ui", "--workspace", str(workspace),
         "--port", "0", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines: list[str] = []
    assert process.stdout is not None
    port = None
    while "Ctrl-C stops it" not in "".join(lines):  # its last line before it serves
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"runyard ui ended: {''.join(lines)}")
        lines.append(line)
        found = re.search(r" at http://\S+:(\d+)$", line.strip())
        port = found.group(1) if found else port
    assert port is not None, lines
    return Server(process, f"http://127.0.0.1:{port}", lines)


def stop(server: Server) -> str:
    """Ctrl-C the server; what it printed after its address."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
    rest, _ = server.process.communicate(timeout=30)
    return rest


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    """GET `path` exactly as written (no client normalises its `..` away)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("GET", path, skip_accept_encoding=True,
                          skip_host="Host" in (headers or {}))
    for key, value in (headers or {}).items():
        connection.putheader(key, value)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, {"raw": body.decode("latin-1")}


def script_folder(root: Path, code: str) -> str:
    root.mkdir(parents=True)
    (root / "train.py").write_text(textwrap.dedent(code))
    return str(root)


@dataclass
class Served:
    workspace: Workspace
    server: Server
    done: Run           # a submitted run that completed: logs, files, metrics
    failed: Run         # a submitted run that raised
    curve: Run          # 5000 points of "loss" with one spike
    logged: list[Run]   # 12 interactive runs: acc, tags, names


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    workspace = Workspace.create("uitest", path=root / "ws")
    experiment = Experiment(workspace, "api")
    done = experiment.submit(ScriptRunConfig(script_folder(root / "done", """
        import os
        from runyard import Run
        run = Run.get_context()
        for i in range(30):
            print(f"line {i}")
            run.log("acc", i / 30)
        os.makedirs("outputs/sub", exist_ok=True)
        open("outputs/model.txt", "w").write("weights")
        open("outputs/sub/page.html", "w").write("<script>alert(1)</script>")
        run.tag("kind", "done")
        run.add_properties({"flavour": "vanilla"})
        """), "train.py"))
    failed = experiment.submit(ScriptRunConfig(script_folder(root / "failed", """
        raise RuntimeError("the data is gone")
        """), "train.py"))
    logged = []
    for index in range(12):
        run = experiment.start_logging(display_name=f"sweep-{index:02d}" if index % 2
                                       else f"probe-{index:02d}")
        run.log("acc", (index * 7 % 12) / 12)
        run.set_tags({"parity": "odd" if index % 2 else "even", "i": str(index)})
        run.complete()
        logged.append(run)
    curve = experiment.start_logging(display_name="curve")
    for step in range(5000):
        curve.log("loss", 1000.0 if step == 2345 else 1.0 / (step + 1), step=step)
    curve.complete()
    done.wait_for_completion()
    with contextlib.suppress(Exception):
        failed.wait_for_completion()
    server = start_server(workspace.path)
    yield Served(workspace, server, done, failed, curve, logged)
    stop(server)
    for pid in _processes_mentioning(str(workspace.path)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def csrf(client: httpx.Client) -> dict[str, str]:
    session = client.get("/api/v1/session").json()
    return {session["csrf_header"]: session["csrf_token"]}


# -- reading --------------------------------------------------------------------------------
def test_openapi_schema_lists_the_routes(served: Served) -> None:
    with served.server.client() as client:
        schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/experiments", "/api/v1/runs", "/api/v1/runs/{run_id}",
                 "/api/v1/runs/{run_id}/metrics/series", "/api/v1/runs/{run_id}/logs/stream",
                 "/api/v1/runs/{run_id}/files/{path}", "/api/v1/models", "/api/v1/compute"):
        assert path in paths, path
    assert set(paths["/api/v1/runs/{run_id}/cancel"]) == {"post"}
    assert set(paths["/api/v1/runs/{run_id}/tags"]) == {"post"}


def test_runs_page_sort_and_filter_on_the_server(served: Served) -> None:
    logged_ids = {run.id for run in served.logged}
    with served.server.client() as client:
        assert "api" in [e["name"] for e in client.get("/api/v1/experiments").json()]
        client.params = {"experiment": "api"}  # other tests add runs to other experiments
        everything = client.get("/api/v1/runs", params={"limit": 100}).json()
        assert everything["total"] == 15
        # pages of 4: no run twice, none left out
        seen: list[str] = []
        for offset in range(0, 16, 4):
            page = client.get("/api/v1/runs", params={"limit": 4, "offset": offset,
                                                      "sort": "created"}).json()
            assert page["total"] == 15
            assert page["offset"] == offset
            seen += [run["id"] for run in page["runs"]]
        assert len(seen) == len(set(seen)) == 15
        # sorted by the metric's latest value, runs without it last
        by_acc = client.get("/api/v1/runs", params={
            "sort": "metric:acc", "order": "asc", "columns": "acc", "limit": 100}).json()
        values = [run["metrics"]["acc"] for run in by_acc["runs"]]
        numbers = [v for v in values if v is not None]
        assert numbers == sorted(numbers)
        assert values[-len(values) + len(numbers):] != []
        assert values[len(numbers):] == [None] * (len(values) - len(numbers))
        # filters: status, tag, metric value, text
        completed = client.get("/api/v1/runs", params={"status": "Completed",
                                                       "limit": 100}).json()
        assert served.failed.id not in {r["id"] for r in completed["runs"]}
        failed = client.get("/api/v1/runs", params={"status": "Failed"}).json()
        assert [r["id"] for r in failed["runs"]] == [served.failed.id]
        odd = client.get("/api/v1/runs", params={"tag": "parity=odd", "limit": 100}).json()
        assert odd["total"] == 6
        assert all(r["tags"]["parity"] == "odd" for r in odd["runs"])
        good = client.get("/api/v1/runs", params={"metric": "acc>=0.5", "tag": "parity",
                                                  "limit": 100, "columns": "acc"}).json()
        assert good["total"] == sum((i * 7 % 12) / 12 >= 0.5 for i in range(12))
        assert all(r["metrics"]["acc"] >= 0.5 for r in good["runs"])
        sweep = client.get("/api/v1/runs", params={"q": "sweep-", "limit": 100}).json()
        assert sweep["total"] == 6
        assert {r["id"] for r in sweep["runs"]} <= logged_ids
        # bad input is a 400 naming the problem
        bad = client.get("/api/v1/runs", params={"sort": "colour"})
        assert bad.status_code == 400
        assert "colour" in bad.json()["message"]
        bad = client.get("/api/v1/runs", params={"metric": "acc~3"})
        assert bad.status_code == 400
        assert "acc~3" in bad.json()["message"]
        assert client.get("/api/v1/runs", params={"limit": 0}).status_code == 422


def test_run_details_stages_tags_properties_error(served: Served) -> None:
    with served.server.client() as client:
        details = client.get(f"/api/v1/runs/{served.done.id}").json()
        assert details["status"] == "Completed"
        assert details["error"] is None
        assert details["tags"]["kind"] == "done"
        assert details["properties"]["flavour"] == "vanilla"
        stages = [s["status"] for s in details["stages"]]
        assert stages[0] == "NotStarted"
        assert stages[-1] == "Completed"
        assert "Running" in stages
        assert all(s["duration_seconds"] >= 0 for s in details["stages"][:-1])
        assert details["duration_seconds"] > 0
        assert details["script"] == "train.py"
        failed = client.get(f"/api/v1/runs/{served.failed.id}").json()
        assert failed["status"] == "Failed"
        assert "the data is gone" in failed["error"]
        missing = client.get("/api/v1/runs/no-such-run")
        assert missing.status_code == 404
        assert missing.json()["error"] == "RunNotFoundError"
        assert "no-such-run" in missing.json()["message"]
        assert client.get(f"/api/v1/runs/{served.done.id}/children").json() == []
        names = client.get(f"/api/v1/runs/{served.done.id}/metrics").json()
        assert {"name": "acc", "kind": "s", "count": 30}.items() <= names[0].items()


def test_metric_series_downsampled_keeps_the_spike(served: Served) -> None:
    with served.server.client() as client:
        series = client.get(f"/api/v1/runs/{served.curve.id}/metrics/series",
                            params={"name": "loss", "buckets": 50}).json()
        assert series["total"] == 5000
        assert len(series["x"]) <= 50
        assert sum(series["count"]) == 5000
        assert max(series["max"]) == 1000.0 == series["overall_max"]
        assert series["overall_min"] == pytest.approx(1 / 5000)
        relative = client.get(f"/api/v1/runs/{served.curve.id}/metrics/series",
                              params={"name": "loss", "buckets": 10, "x": "relative"}).json()
        assert relative["x_mode"] == "relative"
        assert relative["x"][0] >= 0
        bad = client.get(f"/api/v1/runs/{served.curve.id}/metrics/series",
                         params={"name": "loss", "x": "colour"})
        assert bad.status_code == 422


def test_logs_byte_and_line_ranges(served: Served) -> None:
    run_id = served.done.id
    with served.server.client() as client:
        logs = client.get(f"/api/v1/runs/{run_id}/logs").json()
        names = [log["name"] for log in logs]
        script_log = next(n for n in names if n not in ("logs/supervisor.txt",
                                                         "logs/environment.txt"))
        whole = client.get(f"/api/v1/runs/{run_id}/logs/read",
                           params={"name": script_log}).json()
        assert whole["text"].splitlines() == [f"line {i}" for i in range(30)]
        # a byte range ends at a line's end; next_offset reads on from there
        first = client.get(f"/api/v1/runs/{run_id}/logs/read",
                           params={"name": script_log, "length": 20}).json()
        assert first["text"] == "line 0\nline 1\n"
        assert first["next_offset"] == 14
        rest = client.get(f"/api/v1/runs/{run_id}/logs/read",
                          params={"name": script_log, "offset": first["next_offset"]}).json()
        assert first["text"] + rest["text"] == whole["text"]
        lines = client.get(f"/api/v1/runs/{run_id}/logs/read",
                           params={"name": script_log, "first_line": 10, "lines": 3}).json()
        assert lines["lines"] == ["line 10", "line 11", "line 12"]
        assert lines["total_lines"] == 30
        for bad in ("../config.json", "outputs/model.txt", "/etc/passwd"):
            answer = client.get(f"/api/v1/runs/{run_id}/logs/read", params={"name": bad})
            assert answer.status_code == 400, bad
        missing = client.get(f"/api/v1/runs/{run_id}/logs/read",
                             params={"name": "logs/nope.txt"})
        assert missing.status_code == 404
        assert "logs/nope.txt" in missing.json()["message"]


def test_files_list_download_and_path_safety(served: Served) -> None:
    run_id = served.done.id
    with served.server.client() as client:
        listed = {f["path"] for f in client.get(f"/api/v1/runs/{run_id}/files",
                                                params={"prefix": "outputs/"}).json()}
        assert listed == {"outputs/model.txt", "outputs/sub/page.html"}
        model = client.get(f"/api/v1/runs/{run_id}/files/outputs/model.txt")
        assert model.content == b"weights"
        assert model.headers["content-disposition"].startswith("attachment")
        preview = client.get(f"/api/v1/runs/{run_id}/files/outputs/model.txt",
                             params={"inline": "true"})
        assert preview.headers["content-disposition"].startswith("inline")
        assert preview.headers["content-type"].startswith("text/plain")
        # a run's HTML never runs in the UI's origin: shown as its text, sandboxed, not
        # sniffed; downloaded otherwise
        page = client.get(f"/api/v1/runs/{run_id}/files/outputs/sub/page.html",
                          params={"inline": "true"})
        assert page.headers["content-type"].startswith("text/plain")
        assert page.text == "<script>alert(1)</script>"
        assert client.get(f"/api/v1/runs/{run_id}/files/outputs/sub/page.html").headers[
            "content-disposition"].startswith("attachment")
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in page.headers["content-security-policy"]
        assert client.get(f"/api/v1/runs/{run_id}/files/outputs/none").status_code == 404
        assert client.get(f"/api/v1/runs/{run_id}/files",
                          params={"prefix": "../"}).status_code == 400
    config = "/.runyard/config.json"
    for path, problem in [
            (f"/api/v1/runs/{run_id}/files/../../../..{config}", "'..'"),
            (f"/api/v1/runs/{run_id}/files/outputs/%2e%2e/%2E%2E/x", "'..'"),
            (f"/api/v1/runs/{run_id}/files/%2e%2e%2f%2e%2e%2fx", "'..'"),
            (f"/api/v1/runs/{run_id}/files//etc/passwd", "absolute"),
            (f"/api/v1/runs/{run_id}/files/%2Fetc%2Fpasswd", "absolute"),
            (f"/api/v1/runs/{run_id}/files/outputs/model.txt%00.png", "NUL")]:
        status, body = raw_get(served.server.url, path)
        assert status in (400, 404), (path, status, body)
        if status == 400:
            assert problem in body["message"], (path, body)
        assert "weights" not in json.dumps(body)
        assert "name" not in body.get("raw", "")


def test_children_models_and_compute(served: Served) -> None:
    parent = Experiment(served.workspace, "family").start_logging(display_name="parent")
    kids = [parent.child_run(name=f"kid-{i}") for i in range(3)]
    for kid in kids:
        kid.complete()
    parent.complete()
    served.done.register_model("ui-model", "outputs/model.txt", tags={"stage": "<b>x</b>"})
    served.done.register_model("ui-model", "outputs/model.txt")
    with served.server.client() as client:
        children = client.get(f"/api/v1/runs/{parent.id}/children").json()
        assert [c["id"] for c in children] == [kid.id for kid in kids]
        assert all(c["parent_id"] == parent.id for c in children)
        assert client.get(f"/api/v1/runs/{parent.id}").json()["children"] == 3
        page = client.get("/api/v1/runs", params={"parent": parent.id}).json()
        assert page["total"] == 3
        models = {m["name"]: m for m in client.get("/api/v1/models").json()}
        assert models["ui-model"]["version"] == 2
        assert models["ui-model"]["versions"] == 2
        versions = client.get("/api/v1/models/ui-model").json()
        assert [v["version"] for v in versions] == [2, 1]
        assert versions[1]["run_id"] == served.done.id
        assert versions[1]["tags"] == {"stage": "<b>x</b>"}
        missing = client.get("/api/v1/models/no-such-model")
        assert missing.status_code == 404
        assert missing.json()["error"] == "ModelNotFoundError"
        targets = {t["name"]: t for t in client.get("/api/v1/compute").json()}
        assert targets["local"]["type"] == "local"
        local = client.get("/api/v1/compute/local").json()
        assert [node["node_id"] for node in local["nodes"]] == ["local"]
        assert local["status"]["max_concurrent_runs"] >= 1
        assert client.get("/api/v1/compute/nowhere").status_code == 404


# -- changing: POST with a token or the CSRF token, never GET -------------------------------
def test_tag_and_cancel_are_posts_that_need_the_csrf_token(served: Served,
                                                           tmp_path: Path) -> None:
    experiment = Experiment(served.workspace, "live")
    active = experiment.submit(ScriptRunConfig(script_folder(tmp_path / "sleep", """
        import time
        print("sleeping", flush=True)
        time.sleep(120)
        """), "train.py"))
    target = served.logged[0].id
    with served.server.client() as client:
        body = {"set": {"xss": "<script>alert(1)</script>"}, "remove": ["i"]}
        refused = client.post(f"/api/v1/runs/{target}/tags", json=body)
        assert refused.status_code == 403
        assert "x-runyard-csrf" in refused.json()["message"].lower()
        wrong = client.post(f"/api/v1/runs/{target}/tags", json=body,
                            headers={"X-Runyard-CSRF": "guess"})
        assert wrong.status_code == 403
        assert "xss" not in Run.get(served.workspace, target).get_tags()
        assert client.get(f"/api/v1/runs/{target}/tags").status_code in (404, 405)
        tagged = client.post(f"/api/v1/runs/{target}/tags", json=body, headers=csrf(client))
        assert tagged.status_code == 200
        assert tagged.json()["tags"]["xss"] == "<script>alert(1)</script>"
        assert "i" not in tagged.json()["tags"]
        assert Run.get(served.workspace, target).get_tags()["xss"] == \
            "<script>alert(1)</script>"
        bad = client.post(f"/api/v1/runs/{target}/tags", json={"set": ["x"]},
                          headers=csrf(client))
        assert bad.status_code == 422
        wait_for(lambda: active.get_status() == "Running", timeout=60)
        on_local = client.get("/api/v1/compute/local").json()["active_runs"]
        assert active.id in [run["id"] for run in on_local]
        assert client.get(f"/api/v1/runs/{active.id}/cancel").status_code == 405
        assert client.post(f"/api/v1/runs/{active.id}/cancel").status_code == 403
        assert active.get_status() == "Running"
        canceled = client.post(f"/api/v1/runs/{active.id}/cancel", headers=csrf(client))
        assert canceled.status_code == 200
        assert canceled.json()["cancel_requested"]
        wait_for(lambda: active.get_status() == "Canceled", timeout=60)
        missing = client.post("/api/v1/runs/no-such-run/cancel", headers=csrf(client))
        assert missing.status_code == 404


def test_loopback_server_refuses_other_host_names(served: Served) -> None:
    """DNS rebinding: a page of evil.example whose name points at 127.0.0.1."""
    status, body = raw_get(served.server.url, "/api/v1/experiments",
                           {"Host": "evil.example:8765"})
    assert status == 403
    assert "loopback" in body["message"]
    status, _ = raw_get(served.server.url, "/api/v1/experiments", {"Host": "localhost"})
    assert status == 200


# -- live tail --------------------------------------------------------------------------------
def test_live_tail_over_server_sent_events(served: Served, tmp_path: Path) -> None:
    experiment = Experiment(served.workspace, "live")
    run = experiment.submit(ScriptRunConfig(script_folder(tmp_path / "live", """
        import time
        for i in range(8):
            print(f"tick {i} {time.time():.6f}", flush=True)
            time.sleep(0.4)
        """), "train.py"))
    latencies = []
    ticks = []
    end = None
    with served.server.client() as client, client.stream(
            "GET", f"/api/v1/runs/{run.id}/logs/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                if kind == "end":
                    end = data
                    break
                found = re.fullmatch(r"tick (\d) (\d+\.\d+)", data["line"])
                if found:
                    ticks.append(int(found.group(1)))
                    latencies.append(time.time() - float(found.group(2)))
    assert ticks == list(range(8))
    assert end == {"status": "Completed"}
    # the target is < 1 s; generous here, where other tests load the 2 cores
    assert max(latencies[1:]) < 3, latencies
    print(f"live log latencies: {[round(x, 3) for x in latencies]}")


# -- the server process -------------------------------------------------------------------------
def test_non_loopback_bind_needs_the_token_it_generates(workspace: Workspace) -> None:
    server = start_server(workspace.path, "--host", "0.0.0.0")
    try:
        printed = "".join(server.lines)
        token = re.search(r"token: (\S+)", printed).group(1)  # type: ignore[union-attr]
        path = ui_server.token_path(workspace)
        assert path.read_text().strip() == token
        assert path.stat().st_mode & 0o777 == 0o600
        with server.client() as client:
            refused = client.get("/api/v1/experiments")
            assert refused.status_code == 401
            assert "token" in refused.json()["message"]
            assert client.get("/api/v1/experiments",
                              headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.get("/api/v1/openapi.json").status_code == 401
            bearer = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/experiments", headers=bearer).status_code == 200
            # a request from "elsewhere" with the token is served (no loopback check)
            assert client.get("/api/v1/experiments",
                              headers={**bearer, "Host": "gpu-box:8765"}).status_code == 200
            # the Bearer token is enough for a POST: no browser sends it on its own
            logged = Experiment(workspace, "t").start_logging()
            logged.complete()
            run_id = logged.id
            posted = client.post(f"/api/v1/runs/{run_id}/tags", json={"set": {"a": "b"}},
                                 headers=bearer)
            assert posted.status_code == 200
        with server.client() as browser:
            opened = browser.get("/api/v1/session", params={"token": token})
            assert opened.status_code == 200
            cookie = opened.headers["set-cookie"]
            assert "HttpOnly" in cookie
            assert "SameSite=Strict" in cookie
            assert browser.get("/api/v1/experiments").status_code == 200  # the cookie
        with server.client() as browser:
            # a page opened with ?token= comes back at its address without the token
            opened = browser.get("/runs", params={"token": token, "status": "Failed"})
            assert opened.status_code == 303
            assert opened.headers["location"] == "/runs?status=Failed"
            assert "runyard_token=" in opened.headers["set-cookie"]
            assert browser.get("/api/v1/experiments").status_code == 200
            # the cookie alone cannot POST (a cross-site form would carry it): CSRF token too
            assert browser.post(f"/api/v1/runs/{run_id}/cancel").status_code == 403
            assert browser.post(f"/api/v1/runs/{run_id}/tags", json={"set": {"c": "d"}},
                                headers=csrf(browser)).status_code == 200
    finally:
        stop(server)
    # the next server reuses the stored token and does not print it
    again = start_server(workspace.path, "--host", "0.0.0.0")
    try:
        assert token not in "".join(again.lines)
        assert str(ui_server.token_path(workspace)) in "".join(again.lines)
        with again.client() as client:
            assert client.get("/api/v1/experiments",
                              headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        stop(again)


def test_token_on_loopback_and_portal_url_and_ctrl_c(workspace: Workspace) -> None:
    assert ui_server.portal_url(workspace, "r1") == "http://127.0.0.1:8765/runs/r1"
    server = start_server(workspace.path, "--token", "s3cret-token")
    try:
        assert "s3cret-token" not in "".join(server.lines)
        with server.client() as client:
            assert client.get("/api/v1/experiments").status_code == 401
            assert client.get("/api/v1/experiments", headers={
                "Authorization": "Bearer s3cret-token"}).status_code == 200
        assert ui_server.portal_url(workspace, "a/b") == f"{server.url}/runs/a%2Fb"
        record = json.loads(ui_server.address_path(workspace).read_text())
        assert record["pid"] == server.process.pid
    finally:
        rest = stop(server)
    assert server.process.returncode == 0, rest
    assert "stopped" in rest
    assert "Traceback" not in rest
    assert "Aborted" not in rest
    assert not ui_server.address_path(workspace).exists()
    assert ui_server.portal_url(workspace, "r1") == "http://127.0.0.1:8765/runs/r1"


def test_ctrl_c_with_a_log_stream_open_and_sigterm(workspace: Workspace) -> None:
    run = Experiment(workspace, "t").start_logging()  # active: its stream never ends
    server = start_server(workspace.path)
    with server.client() as client, client.stream(
            "GET", f"/api/v1/runs/{run.id}/logs/stream") as response:
        assert response.status_code == 200
        started = time.monotonic()
        server.process.send_signal(signal.SIGINT)
        rest, _ = server.process.communicate(timeout=20)
        assert time.monotonic() - started < 15
    assert server.process.returncode == 0
    assert "stopped" in rest
    run.complete()
    again = start_server(workspace.path)
    again.process.send_signal(signal.SIGTERM)
    rest, _ = again.process.communicate(timeout=20)
    assert again.process.returncode == 0
    assert "stopped" in rest


def test_port_in_use_is_one_line_error(workspace: Workspace) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "runyard.cli", "--workspace", str(workspace.path), "ui",
             "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: port {port} on 127.0.0.1 is in use (another "
                                      f"`runyard ui`?); pass --port with another number")

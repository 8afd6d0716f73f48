"""A Ray cluster's Jobs REST API (the dashboard's `/api/...`), with the standard library.

What runyard asks of it: submit a job (`POST /api/jobs/`, retried while the job API is
still starting), read a job (`GET /api/jobs/<submission id>`), and the dashboard's other
endpoints (`/api/version`, `/api/v0/nodes`). Every request carries the cluster's token
(`Authorization: Bearer`); an answer other than 2xx is a ComputeTargetException naming the
cluster, the request and Ray's own words. Nothing here imports ray.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runyard._foreign import mapped
from runyard.errors import ComputeTargetException

SUBMIT_RETRY_SECONDS = 60.0  # how long a submit waits for a job API that is not up yet


def job_id(run_id: str) -> str:
    """The Ray submission id of run `run_id`'s supervisor job."""
    return f"runyard-{run_id}"


def attached_token() -> str | None:
    """The token of a cluster runyard does not own: what Ray's own tools would use, in
    Ray's order (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return os.environ["RAY_AUTH_TOKEN"]
    for candidate in (os.environ.get("RAY_AUTH_TOKEN_PATH"),
                      str(Path.home() / ".ray" / "auth_token")):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text().strip()
    return None


class JobsClient:
    """The Jobs REST API of cluster `name` at `url` (the dashboard's address).

    `token` gives the token at each request (it may appear after the client is made: an
    owned head writes it when it starts). `starting(error)` says whether a failed submit
    means the job API is not up yet (then the submit is retried)."""

    def __init__(self, name: str, url: str, token: Callable[[], str | None],
                 starting: Callable[[ComputeTargetException], bool] | None = None) -> None:
        self.name = name
        self.url = url
        self.token = token
        self.starting = starting or (lambda _error: False)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                timeout: float = 30) -> Any:
        import urllib.error
        import urllib.request

        headers = {"Content-Type": "application/json"}
        token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.url.rstrip("/") + path, method=method, headers=headers,
            data=json.dumps(body).encode() if body is not None else None)
        # a refused connection, a timeout, a name that does not resolve: the most specific
        # ComputeTargetException from runyard._foreign's table; an HTTP answer: said here
        with mapped("compute", f"Ray cluster {self.name!r} at {self.url} ({method} {path})",
                    name=self.name, http_status=None, detail=""):
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as e:
                with e:
                    detail = e.read().decode(errors="replace")[:500]
                hint = (" (the cluster wants a token: set RAY_AUTH_TOKEN or "
                        "RAY_AUTH_TOKEN_PATH, as for `ray job submit`)"
                        if e.code in (401, 403) else "")
                raise ComputeTargetException(
                    f"Ray cluster {self.name!r} at {self.url} answered {method} {path} "
                    f"with HTTP {e.code}{hint}: {detail}", name=self.name,
                    http_status=e.code, detail=detail) from e

    def submit(self, job: dict[str, Any]) -> None:
        """POST the job; while the job API is not up yet (the head's job agent is still
        starting: "No available agent"; or what `starting` recognizes), retry with backoff
        for SUBMIT_RETRY_SECONDS, then fail saying so."""
        deadline = time.monotonic() + SUBMIT_RETRY_SECONDS
        pause = 0.5
        while True:
            try:
                self.request("POST", "/api/jobs/", job)
                return
            except ComputeTargetException as e:
                not_up = "No available agent" in getattr(e, "detail", "") or self.starting(e)
                if not not_up:
                    raise
                if time.monotonic() + pause > deadline:
                    raise ComputeTargetException(
                        f"Ray cluster {self.name!r} at {self.url} did not take the "
                        f"job within {SUBMIT_RETRY_SECONDS:.0f} s: its job API is not up "
                        f"(the head's dashboard agent takes every job); last answer: {e}",
                        name=self.name) from e
            time.sleep(pause)
            pause = min(pause * 2, 8.0)

    def job(self, submission_id: str) -> dict[str, Any]:
        """Ray's own record of a job (status, driver_info, start_time, ...)."""
        found: dict[str, Any] = self.request("GET", f"/api/jobs/{submission_id}")
        return found

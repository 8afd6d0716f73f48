"""`azureml.widgets`: `RunDetails(run).show()` in a notebook.

Until runyard's web UI serves runs, `show()` prints the run's status, its metrics so far
and the ways to follow it (`run.wait_for_completion(show_output=True)`, `runyard logs
--follow <run id>`, the run's folder); it never raises for a run it can read.
"""

from __future__ import annotations

import sys
from typing import Any

from runyard.azureml._surface import module_getattr
from runyard.errors import NotSupportedError

__all__ = ["ParallelRunStepDetails", "RunDetails"]


class RunDetails:
    """v1's run widget, printed as text."""

    def __init__(self, run_instance: Any) -> None:
        self.run_instance = run_instance

    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the widget shows: id, status, its children's statuses, metrics."""
        run = self.run_instance
        children = [{"run_id": child.id, "status": child.get_status()}
                    for child in run.get_children()]
        return {"run_id": run.id, "experiment": run.experiment.name,
                "status": run.get_status(), "metrics": run.get_metrics(),
                "children": children, "url": run.get_portal_url()}

    def show(self, render_lib: Any = None, widget_settings: dict[str, Any] | None = None) -> None:
        """Print the run's status now and how to follow it."""
        data = self.get_widget_data(widget_settings)
        lines = [f"Run {data['run_id']} ({data['experiment']}): {data['status']}"]
        if data["children"]:
            counts: dict[str, int] = {}
            for child in data["children"]:
                counts[child["status"]] = counts.get(child["status"], 0) + 1
            lines.append(f"  child runs: {len(data['children'])} (" + ", ".join(
                f"{n} {status}" for status, n in sorted(counts.items())) + ")")
        for name, value in sorted(data["metrics"].items()):
            shown = value if not isinstance(value, list) else \
                f"{len(value)} values, last {value[-1]!r}" if value else "[]"
            lines.append(f"  {name}: {shown}"[:200])
        lines += [f"  follow it: run.wait_for_completion(show_output=True), or "
                  f"`runyard logs --follow {data['run_id']}`",
                  f"  its folder: {data['url']}"]
        print("\n".join(lines), file=sys.stdout, flush=True)


class ParallelRunStepDetails:
    """v1's widget for ParallelRunStep (Azure ML pipelines), which runyard does not have."""

    def __init__(self, run_instance: Any, *args: Any, **kwargs: Any) -> None:
        raise NotSupportedError("ParallelRunStepDetails shows a ParallelRunStep of an Azure "
                                "ML pipeline; runyard has no pipelines. Use RunDetails(run) "
                                "for a run and its child runs")

    def show(self) -> None:
        """Never reached: making one raises."""

__getattr__ = module_getattr(__name__)

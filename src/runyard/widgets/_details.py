"""`RunDetails`: the widget object, where it is shown, and its refresh thread."""

from __future__ import annotations

import importlib.util
import sys
import threading
import uuid
from html import escape
from typing import Any

from runyard.errors import ValidationError
from runyard.widgets._data import RunView, read_run
from runyard.widgets._html import render

REFRESH_SECONDS = 2.0
RENDER_LIBS = ("ipywidgets", "html")


def in_jupyter() -> bool:
    """True inside an IPython kernel (Jupyter, VS Code notebooks), not in a terminal
    IPython nor plain Python. IPython is looked at only if something imported it."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _settings(widget_settings: dict[str, Any] | None, refresh_seconds: float) -> float:
    """The refresh period `widget_settings` asks for (v1's settings dict; runyard reads
    "refresh_seconds" and ignores v1's others), else `refresh_seconds`."""
    if widget_settings is None:
        return refresh_seconds
    if not isinstance(widget_settings, dict):
        raise ValidationError(f"widget_settings must be a dict, not "
                              f"{type(widget_settings).__name__}", parameter="widget_settings")
    wanted = widget_settings.get("refresh_seconds", refresh_seconds)
    if isinstance(wanted, bool) or not isinstance(wanted, int | float) or not wanted > 0:
        raise ValidationError(f"widget_settings['refresh_seconds'] must be a number > 0, not "
                              f"{wanted!r}", parameter="widget_settings", value=wanted)
    return float(wanted)


class RunDetails:
    """v1's run widget: `RunDetails(run).show()`.

    `run_instance` is a Run (a HyperDriveRun shows its children best first);
    `refresh_seconds` how often an active run is read again while it is shown."""

    def __init__(self, run_instance: Any, refresh_seconds: float = REFRESH_SECONDS) -> None:
        from runyard.run import Run

        if not isinstance(run_instance, Run):
            raise ValidationError(
                f"RunDetails shows a submitted run (runyard.Run, what experiment.submit "
                f"returns), not {type(run_instance).__name__}; for the run a script is in, "
                f"use Run.get(workspace, run.id)", value=type(run_instance).__name__)
        if not refresh_seconds > 0:
            raise ValidationError(f"refresh_seconds must be > 0, not {refresh_seconds!r}",
                                  parameter="refresh_seconds", value=refresh_seconds)
        self.run_instance = run_instance
        self.refresh_seconds = float(refresh_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def get_widget_data(self, widget_settings: dict[str, Any] | None = None) -> dict[str, Any]:
        """What the widget shows now, as plain data: status, stages, metric series, log
        tail, children, the page's address."""
        _settings(widget_settings, self.refresh_seconds)
        return read_run(self.run_instance).to_dict()

    def show(self, render_lib: str | None = None,
             widget_settings: dict[str, Any] | None = None) -> None:
        """Show the run: in Jupyter the live widget (refreshing until the run ends), else
        one line of status and its page's address. `render_lib`: "ipywidgets" or "html"
        (default: ipywidgets if installed); `widget_settings` may set "refresh_seconds"."""
        if render_lib is not None and render_lib not in RENDER_LIBS:
            raise ValidationError(f"render_lib must be one of {', '.join(RENDER_LIBS)} or "
                                  f"None, not {render_lib!r}", parameter="render_lib",
                                  value=render_lib, valid=list(RENDER_LIBS))
        self.refresh_seconds = _settings(widget_settings, self.refresh_seconds)
        view = read_run(self.run_instance)
        if not in_jupyter():
            self._print(view)
            return
        if render_lib is None:
            render_lib = "ipywidgets" if importlib.util.find_spec("ipywidgets") else "html"
        update = self._show_widget(view) if render_lib == "ipywidgets" else \
            self._show_html(view)
        if not view.terminal:
            self.stop()
            self._stop.clear()
            self._thread = threading.Thread(target=self._refresh, args=(update,),
                                            name=f"runyard-widget-{view.run_id}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop refreshing (the widget keeps what it shows)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None

    @property
    def refreshing(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- where it is shown --------------------------------------------------------------
    @staticmethod
    def _print(view: RunView) -> None:
        lines = [f"Run {view.run_id} ({view.experiment}): {view.status}"]
        if view.children:
            counts: dict[str, int] = {}
            for child in view.children:
                counts[child.status] = counts.get(child.status, 0) + 1
            lines.append(f"  child runs: {len(view.children)} (" + ", ".join(
                f"{n} {status}" for status, n in sorted(counts.items())) + ")")
        metrics = {s.name: f"{s.count} values, last {s.last!r}" for s in view.series}
        metrics.update({k: repr(v) for k, v in view.scalars.items()})
        lines += [f"  {name}: {shown}"[:200] for name, shown in sorted(metrics.items())]
        if not view.terminal:
            lines.append(f"  follow it: `runyard logs --follow {view.run_id}`")
        lines.append(f"  its page: {view.url} (`runyard ui` serves it)")
        print("\n".join(lines), file=sys.stdout, flush=True)

    @staticmethod
    def _show_html(view: RunView) -> Any:
        import IPython.display

        shown: Any = IPython.display
        handle = shown.display(shown.HTML(render(view)),
                               display_id=f"runyard-{uuid.uuid4().hex}")

        def update(html: str) -> None:
            handle.update(shown.HTML(html))
        return update

    @staticmethod
    def _show_widget(view: RunView) -> Any:
        import IPython.display
        import ipywidgets  # type: ignore[import-untyped]

        shown: Any = IPython.display
        widget = ipywidgets.HTML(value=render(view))
        shown.display(widget)

        def update(html: str) -> None:
            widget.value = html
        return update

    def _refresh(self, update: Any) -> None:
        shown = None
        while not self._stop.wait(self.refresh_seconds):
            try:
                view = read_run(self.run_instance)
            except Exception as error:  # noqa: BLE001 - the notebook must not lose its thread silently
                update(f"<pre>runyard widget stopped refreshing: "
                       f"{escape(type(error).__name__)}: {escape(str(error))}</pre>")
                return
            html = render(view)
            if html != shown:
                update(html)
                shown = html
            if view.terminal:
                return

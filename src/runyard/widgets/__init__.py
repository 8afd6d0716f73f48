"""The notebook widget: `RunDetails(run).show()` (v1's `azureml.widgets.RunDetails`).

In Jupyter (an IPython kernel) it shows the run's status, a timeline of its stages, a chart
per numeric metric, the other metrics, a sweep's or parent's child runs and the tail of
its log, and re-renders every `refresh_seconds` on a background thread until the run ends:
with ipywidgets installed, as an `ipywidgets.HTML` whose value it updates; without, as
IPython's `display(HTML(...), display_id=...)` that it `update()`s. Outside Jupyter it
prints the run's status and the address of its page (`run.get_portal_url()`).

Reading the run is `_data.read_run` (plain data), drawing it `_html.render` (one fragment
of HTML with inline SVG charts, everything from the run escaped). Importing this package
imports neither IPython nor ipywidgets.
"""

from runyard.widgets._details import RunDetails

__all__ = ["RunDetails"]

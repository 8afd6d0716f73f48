"""runyard's web UI: one FastAPI app serving the REST API (`/api/v1/`, `api.py`) and the
pages (`pages.py`, templates and static files), started by `runyard ui` (`server.py`).

Needs the `ui` extra (`pip install runyard[ui]`: fastapi, uvicorn, jinja2); importing this
package imports none of them, `runyard.ui.app.create_app` does.
"""

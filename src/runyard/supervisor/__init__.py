"""The process that owns one run (`python -m runyard.supervisor WORKSPACE RUN_ID`)."""

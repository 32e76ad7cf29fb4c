"""The staff REST API: resources described by specs, list queries, cursors and writes."""

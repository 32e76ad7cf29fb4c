"""Hostile-input tests: generated from openapi.json, against every HTTP function."""

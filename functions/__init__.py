"""Cloud Function entry points: parse, validate, call a service, map errors."""

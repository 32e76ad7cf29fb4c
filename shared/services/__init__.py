"""Use cases: one function each, taking its ports as arguments and raising domain errors."""

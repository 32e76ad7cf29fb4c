"""The campaigns feature's use cases, taking their ports as arguments."""

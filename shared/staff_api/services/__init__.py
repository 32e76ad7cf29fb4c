"""The staff_api feature's use cases, taking their ports as arguments."""

"""Domain, services and adapters shared by every function of the bundle."""

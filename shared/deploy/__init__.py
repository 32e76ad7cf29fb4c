"""Deployment commands: ``python -m shared.deploy <command>`` (see ``__main__``).

Nothing here imports Google libraries at import time; each command imports its client
when it runs, so importing the package stays cheap.
"""

"""Helpers of localcloud's tests: free ports, a toy project for ``serve``."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

from localcloud.manifest import FunctionSpec, Manifest, QueueSpec, Trigger


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports nothing listens on now (bound together, so they are distinct)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


# A project of four functions: `hello` answers with where the stack says it runs,
# `on_item` copies each item written into `seen/`, `tick` is scheduled, `work` is a task.
TOY_SOURCE = """
import os

import functions_framework
from google.cloud import firestore


@functions_framework.http
def hello(request):
    return {"functions_url": os.environ["LOCALCLOUD_FUNCTIONS_URL"],
            "project": os.environ["GOOGLE_CLOUD_PROJECT"]}


@functions_framework.cloud_event
def on_item(event):
    item = event["document"].split("/")[-1]
    firestore.Client().document(f"seen/{item}").set({"type": event["type"]})


@functions_framework.http
def tick(request):
    return "ok"


@functions_framework.http
def work(request):
    return "done"
"""

TOY_FUNCTIONS = (
    FunctionSpec("hello", Trigger.HTTP, note="says hello"),
    FunctionSpec("on_item", Trigger.EVENT, event_type="written", document="items/{itemId}"),
    FunctionSpec("tick", Trigger.SCHEDULE, schedule="*/5 * * * *", time_zone="Europe/Paris"),
    FunctionSpec("work", Trigger.TASK),
)
TOY_QUEUES = (QueueSpec("work", max_attempts=3, min_backoff_seconds=0.5),)


def toy_project(directory: Path) -> Manifest:
    """The toy project's source and site written under ``directory``; its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.py").write_text(textwrap.dedent(TOY_SOURCE), encoding="utf-8")
    site = directory / "site"
    site.mkdir(exist_ok=True)
    (site / "index.html").write_text("<h1>Toy</h1>", encoding="utf-8")
    (site / "about.html").write_text("<p>About</p>", encoding="utf-8")
    return Manifest(TOY_FUNCTIONS, TOY_QUEUES, source=directory / "main.py")

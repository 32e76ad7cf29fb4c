"""A local Cloud Tasks: the v2 gRPC API for the real client, plus an HTTP dispatcher.

``start_tasks()`` serves it in-process (tests); ``python -m localcloud tasks`` serves it
standalone. Point the client at it with a plain gRPC channel::

    client = tasks_v2.CloudTasksClient(
        transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(server.address))
    )
"""

from localcloud.tasks.server import TasksServer, start_tasks

__all__ = ["TasksServer", "start_tasks"]

"""A local Cloud Scheduler: the v1 gRPC API for the real client, and a loop that runs jobs."""

from localcloud.scheduler.server import SchedulerServer, start_scheduler

__all__ = ["SchedulerServer", "start_scheduler"]

"""Raw protobuf message classes of the Cloud Tasks v2 API.

Like the local Firestore, the server works on raw protobuf messages rather than proto-plus
wrappers: ``CopyFrom``, ``HasField`` and field masks are simpler there.
"""

from google.cloud.tasks_v2.types import cloudtasks, queue, target, task
from google.protobuf import duration_pb2, empty_pb2, field_mask_pb2, timestamp_pb2
from google.rpc import status_pb2

Queue = queue.Queue.pb()
RateLimits = queue.RateLimits.pb()
RetryConfig = queue.RetryConfig.pb()
Task = task.Task.pb()
Attempt = task.Attempt.pb()
HttpRequest = target.HttpRequest.pb()
OidcToken = target.OidcToken.pb()

ListQueuesRequest = cloudtasks.ListQueuesRequest.pb()
ListQueuesResponse = cloudtasks.ListQueuesResponse.pb()
GetQueueRequest = cloudtasks.GetQueueRequest.pb()
CreateQueueRequest = cloudtasks.CreateQueueRequest.pb()
UpdateQueueRequest = cloudtasks.UpdateQueueRequest.pb()
DeleteQueueRequest = cloudtasks.DeleteQueueRequest.pb()
PurgeQueueRequest = cloudtasks.PurgeQueueRequest.pb()
PauseQueueRequest = cloudtasks.PauseQueueRequest.pb()
ResumeQueueRequest = cloudtasks.ResumeQueueRequest.pb()
ListTasksRequest = cloudtasks.ListTasksRequest.pb()
ListTasksResponse = cloudtasks.ListTasksResponse.pb()
GetTaskRequest = cloudtasks.GetTaskRequest.pb()
CreateTaskRequest = cloudtasks.CreateTaskRequest.pb()
DeleteTaskRequest = cloudtasks.DeleteTaskRequest.pb()
RunTaskRequest = cloudtasks.RunTaskRequest.pb()

Empty = empty_pb2.Empty
Status = status_pb2.Status
Timestamp = timestamp_pb2.Timestamp
Duration = duration_pb2.Duration
FieldMask = field_mask_pb2.FieldMask

QueueState = Queue.State
TaskView = Task.View
HttpMethod = target.HttpMethod


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A Timestamp for ``seconds`` since the epoch, truncated to the microsecond."""
    micros = int(seconds * 1_000_000)
    return timestamp_pb2.Timestamp(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)


def seconds_of(value: timestamp_pb2.Timestamp | duration_pb2.Duration) -> float:
    """Seconds (since the epoch for a Timestamp) as a float."""
    return value.seconds + value.nanos / 1e9


def duration(seconds: float) -> duration_pb2.Duration:
    """A Duration of ``seconds``, truncated to the microsecond."""
    micros = int(round(seconds * 1_000_000))
    return duration_pb2.Duration(seconds=micros // 1_000_000, nanos=(micros % 1_000_000) * 1000)

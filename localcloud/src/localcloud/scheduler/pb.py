"""Raw protobuf message classes of the Cloud Scheduler v1 API.

As in ``localcloud.firestore``, the server works on raw protobuf messages rather than
proto-plus wrappers: ``HasField``, ``CopyFrom`` and field masks are simpler there.
"""

from google.cloud.scheduler_v1.types import cloudscheduler, job, target
from google.protobuf import duration_pb2, empty_pb2, field_mask_pb2, timestamp_pb2
from google.rpc import status_pb2

Job = job.Job.pb()
RetryConfig = job.RetryConfig.pb()
HttpTarget = target.HttpTarget.pb()
HttpMethod = target.HttpMethod  # a proto-plus IntEnum: its values are the wire values
State = Job.State

ListJobsRequest = cloudscheduler.ListJobsRequest.pb()
ListJobsResponse = cloudscheduler.ListJobsResponse.pb()
GetJobRequest = cloudscheduler.GetJobRequest.pb()
CreateJobRequest = cloudscheduler.CreateJobRequest.pb()
UpdateJobRequest = cloudscheduler.UpdateJobRequest.pb()
DeleteJobRequest = cloudscheduler.DeleteJobRequest.pb()
PauseJobRequest = cloudscheduler.PauseJobRequest.pb()
ResumeJobRequest = cloudscheduler.ResumeJobRequest.pb()
RunJobRequest = cloudscheduler.RunJobRequest.pb()

Duration = duration_pb2.Duration
Empty = empty_pb2.Empty
FieldMask = field_mask_pb2.FieldMask
Timestamp = timestamp_pb2.Timestamp
Status = status_pb2.Status

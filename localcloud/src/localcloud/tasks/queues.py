"""Queue configuration: the service's defaults, its limits, and UpdateQueue's field mask."""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import field_mask_pb2

from localcloud.tasks import pb
from localcloud.tasks.errors import invalid, unimplemented

# The defaults the service picks for fields left unset, and its documented maxima.
DEFAULT_DISPATCHES_PER_SECOND = 500.0
MAX_DISPATCHES_PER_SECOND = 500.0
MAX_BURST_SIZE = 100
DEFAULT_CONCURRENT_DISPATCHES = 1000
MAX_CONCURRENT_DISPATCHES = 5000
DEFAULT_MAX_ATTEMPTS = 100
DEFAULT_MIN_BACKOFF = 0.1
DEFAULT_MAX_BACKOFF = 3600.0
DEFAULT_MAX_DOUBLINGS = 16

# Output only: UpdateQueue may not name them (state moves through Pause/Resume only).
_OUTPUT_ONLY = {"state", "purge_time", "rate_limits.max_burst_size"}


def burst_for(rate: float) -> int:
    """max_burst_size for a rate: the service sets 100 at its default 500/s and keeps it
    "generally at least equal to" the rate; here, the rate rounded up, from 1 to 100."""
    return max(1, min(MAX_BURST_SIZE, math.ceil(rate)))


def fill_retry_defaults(config: Any) -> None:
    """Unset (zero) retry fields become the service's defaults, in place."""
    if config.max_attempts == 0:
        config.max_attempts = DEFAULT_MAX_ATTEMPTS
    if pb.seconds_of(config.min_backoff) == 0:
        config.min_backoff.CopyFrom(pb.duration(DEFAULT_MIN_BACKOFF))
    if pb.seconds_of(config.max_backoff) == 0:
        config.max_backoff.CopyFrom(pb.duration(DEFAULT_MAX_BACKOFF))
    if config.max_doublings == 0:
        config.max_doublings = DEFAULT_MAX_DOUBLINGS
    # Present as "0s" (unlimited) so clients see the field, as they do from the service.
    config.max_retry_duration.SetInParent()


def with_defaults(queue: Any) -> Any:
    """A copy of ``queue`` with every unset rate and retry field filled, state RUNNING if
    unset, and max_burst_size derived from the rate."""
    result = pb.Queue()
    result.CopyFrom(queue)
    limits = result.rate_limits
    if limits.max_dispatches_per_second == 0:
        limits.max_dispatches_per_second = DEFAULT_DISPATCHES_PER_SECOND
    if limits.max_concurrent_dispatches == 0:
        limits.max_concurrent_dispatches = DEFAULT_CONCURRENT_DISPATCHES
    limits.max_burst_size = burst_for(limits.max_dispatches_per_second)
    fill_retry_defaults(result.retry_config)
    if result.state == pb.QueueState.STATE_UNSPECIFIED:
        result.state = pb.QueueState.RUNNING
    return result


def validate(queue: Any) -> None:
    """INVALID_ARGUMENT for values outside the service's documented ranges."""
    if queue.HasField("http_target"):
        # Refused rather than stored and ignored: dispatches would differ from production.
        raise unimplemented("localcloud does not apply queue-level http_target overrides.")
    limits = queue.rate_limits
    if not 0 < limits.max_dispatches_per_second <= MAX_DISPATCHES_PER_SECOND:
        raise invalid("max_dispatches_per_second must be in (0, 500].")
    if not 0 < limits.max_concurrent_dispatches <= MAX_CONCURRENT_DISPATCHES:
        raise invalid("max_concurrent_dispatches must be in [1, 5000].")
    validate_retry(queue.retry_config)
    ratio = queue.stackdriver_logging_config.sampling_ratio
    if not 0.0 <= ratio <= 1.0:
        raise invalid("stackdriver_logging_config.sampling_ratio must be in [0, 1].")


def validate_retry(config: Any) -> None:
    if config.max_attempts < -1:
        raise invalid("max_attempts must be greater than or equal to -1.")
    if config.max_doublings < 0:
        raise invalid("max_doublings must not be negative.")
    durations = (config.min_backoff, config.max_backoff, config.max_retry_duration)
    if any(pb.seconds_of(d) < 0 for d in durations):
        raise invalid("Retry durations must not be negative.")
    if pb.seconds_of(config.min_backoff) > pb.seconds_of(config.max_backoff) > 0:
        raise invalid("min_backoff must be less than or equal to max_backoff.")


def apply_update(current: Any | None, update: Any, mask: field_mask_pb2.FieldMask) -> Any:
    """The queue after UpdateQueue: every field of ``update`` without a mask, else only the
    masked ones. State and purge time always carry over from ``current``."""
    if not mask.paths:
        merged = pb.Queue()
        merged.CopyFrom(update)
    else:
        _check_mask(mask)
        merged = pb.Queue(name=update.name)
        if current is not None:
            merged.CopyFrom(current)
        mask.MergeMessage(update, merged, replace_message_field=True)
    merged.ClearField("state")
    merged.ClearField("purge_time")
    if current is not None:
        merged.state = current.state
        if current.HasField("purge_time"):
            merged.purge_time.CopyFrom(current.purge_time)
    return merged


def _check_mask(mask: field_mask_pb2.FieldMask) -> None:
    if not mask.IsValidForDescriptor(pb.Queue.DESCRIPTOR):
        raise invalid(f"Invalid update_mask: {', '.join(mask.paths)}")
    refused = sorted(set(mask.paths) & _OUTPUT_ONLY)
    if refused:
        raise invalid(f"Output only fields cannot be updated: {', '.join(refused)}")

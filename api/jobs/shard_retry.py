"""How procrastinate retries a shard of a sharded collection (api.jobs.queue.register_tasks). Its own module so
that importing the queue (the API does, also on SQLite) does not import procrastinate."""

from __future__ import annotations

from procrastinate import RetryStrategy
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

from evidence.aws.accounts import CollectionFailed


class ShardRetry(RetryStrategy):
    """A shard that breaks unexpectedly is retried (a passing fault: the database, a bug in one answer); one that
    cannot proceed (`CollectionFailed`) has already failed its run, so its retry would find nothing to do."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, CollectionFailed):
            return None
        return super().get_retry_decision(exception=exception, job=job)


# Retried up to 3 times, 5 s apart; a dead worker's shard delivered again by the sweep counts as a retry too.
SHARD_RETRY = ShardRetry(max_attempts=3, wait=5)


def last_attempt(job: Job, strategy: RetryStrategy) -> bool:
    """Whether this execution of `job` is its last: procrastinate's `attempts` counts the earlier ones, and the
    strategy retries while they are fewer than its `max_attempts`."""
    return strategy.max_attempts is not None and job.attempts >= strategy.max_attempts

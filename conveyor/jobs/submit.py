"""Starting a job: deterministic ids, dedupe windows, idempotency keys, one workflow.

The order matters. The `job_runs` row and the domain row are committed first,
then the workflow is started with the job id as its workflow id, so a workflow
never runs without its rows. Concurrent identical requests compute the same job
id; the unique index on `job_runs.job_id` lets exactly one insert win and the
others read the winner's row. Starting is idempotent (`USE_EXISTING`), so a
duplicate request also heals a job whose first start was lost.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from conveyor.auth import Principal
from conveyor.constants import (
    RERUNNABLE_STATUSES,
    SA_ENTITY_ID,
    SA_ENTITY_TYPE,
    SA_JOB_NAME,
    SA_ORG_ID,
    JobStatus,
)
from conveyor.errors import IdempotencyKeyReused, Unavailable
from conveyor.jobs.kinds import JobKind
from conveyor.jobs.mirror import finish_run, job_ref
from conveyor.jobs.payloads import FinishJobInput, RetrySpec
from conveyor.models import JobRun
from conveyor.prometheus import job_submitted
from conveyor.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobRequest:
    principal: Principal
    payload: BaseModel
    idempotency_key: str | None = None
    correlation_id: str | None = None
    replay_of: uuid.UUID | None = None


@dataclass(frozen=True)
class Submission:
    run: JobRun
    created: bool


@dataclass(frozen=True)
class _Identity:
    payload: dict[str, Any]
    payload_hash: str
    dedupe_key: str
    window: timedelta


@dataclass(frozen=True)
class _History:
    runs: int
    reusable_run: JobRun | None


class JobSubmitter:
    """Submits jobs of any kind; built per request from the app's Temporal client."""

    def __init__(self, session: AsyncSession, temporal: Client, settings: Settings) -> None:
        self.session = session
        self._temporal = temporal
        self._settings = settings

    async def submit(self, kind: JobKind, request: JobRequest) -> Submission:
        """Returns the job this request maps to, creating and starting it if needed.

        Raises:
            IdempotencyKeyReused: the key was used with another payload.
            Unavailable: the workflow engine could not be reached.
        """
        identity = self._identity(kind, request)
        history = await self._history(request.principal, identity)
        existing = history.reusable_run
        if existing is not None:
            await self.session.commit()
            await self._ensure_started(kind, existing)
            job_submitted(kind.name.value, created=False)
            return Submission(existing, created=False)
        if kind.admit is not None:
            await kind.admit(self.session, self._settings, request.principal, request.payload)
        run, created = await self._insert_run(kind, request, identity, history.runs + 1)
        # Committed before the start so the workflow always finds its rows.
        await self.session.commit()
        await self._ensure_started(kind, run, fail_on_error=created)
        job_submitted(kind.name.value, created)
        return Submission(run, created)

    def _identity(self, kind: JobKind, request: JobRequest) -> _Identity:
        payload = request.payload.model_dump(mode="json")
        payload_hash = _digest(json.dumps(payload, sort_keys=True, separators=(",", ":")))
        scope = (request.principal.org_id, request.principal.user_id, kind.name.value)
        if request.idempotency_key is not None:
            key = _digest("\0".join((*scope, "key", request.idempotency_key)))
            window = self._settings.idempotency_key_ttl_seconds
        else:
            key = _digest("\0".join((*scope, "payload", payload_hash)))
            window = self._settings.dedupe_window(kind.name)
        return _Identity(payload, payload_hash, key, timedelta(seconds=window))

    async def _history(self, principal: Principal, identity: _Identity) -> _History:
        """The latest run of this identity and how many there were, in one snapshot.

        One statement, so a concurrent request committing in between cannot
        make us see its run in the count but not as the latest (and so number
        a second run): whatever we miss, we then collide with on the insert.
        """
        row = (
            await self.session.execute(
                select(
                    JobRun,
                    func.count().over(),
                    (JobRun.queued_at > func.now() - identity.window).label("in_window"),
                )
                .where(JobRun.org_id == principal.org_id, JobRun.dedupe_key == identity.dedupe_key)
                .order_by(JobRun.queued_at.desc())
                .limit(1)
            )
        ).first()
        if row is None or not row.in_window:
            return _History(runs=row[1] if row else 0, reusable_run=None)
        latest: JobRun = row[0]
        if latest.payload_hash != identity.payload_hash:
            raise _key_reused(latest)
        reusable = latest if latest.status not in RERUNNABLE_STATUSES else None
        return _History(runs=row[1], reusable_run=reusable)

    async def _insert_run(
        self, kind: JobKind, request: JobRequest, identity: _Identity, sequence: int
    ) -> tuple[JobRun, bool]:
        job_id = f"{kind.name.value}-{identity.dedupe_key[:24]}-{sequence}"
        entity_id = kind.entity_id_for(request.payload)
        run = await self.session.scalar(
            insert(JobRun)
            .values(
                job_id=job_id,
                job_name=kind.name.value,
                task_queue=self._settings.task_queue(kind.task_queue),
                org_id=request.principal.org_id,
                user_id=request.principal.user_id,
                entity_type=kind.entity_type,
                entity_id=str(entity_id),
                payload=identity.payload,
                payload_hash=identity.payload_hash,
                dedupe_key=identity.dedupe_key,
                idempotency_key=request.idempotency_key,
                correlation_id=request.correlation_id,
                replay_of=request.replay_of,
            )
            .on_conflict_do_nothing(index_elements=[JobRun.job_id])
            .returning(JobRun)
        )
        if run is None:
            # A concurrent identical request won the insert; ours waited for its commit.
            winner = await self.session.scalar(select(JobRun).where(JobRun.job_id == job_id))
            assert winner is not None
            if winner.payload_hash != identity.payload_hash:
                raise _key_reused(winner)
            return winner, False
        await kind.create_entity(self.session, request.principal, entity_id, request.payload)
        return run, True

    async def _ensure_started(
        self, kind: JobKind, run: JobRun, fail_on_error: bool = False
    ) -> None:
        if run.status != JobStatus.QUEUED:
            return
        try:
            await self._temporal.start_workflow(
                kind.name.value,
                kind.build_input(
                    job_ref(run),
                    self._retry_spec(kind),
                    uuid.UUID(run.entity_id),
                    kind.parse_payload(run.payload),
                ),
                id=run.job_id,
                task_queue=run.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=_search_attributes(run),
                # Tasks are matched fairly across orgs: one org's flood of jobs
                # waits its turn beside another's few instead of before them.
                priority=Priority(fairness_key=run.org_id),
            )
        except WorkflowAlreadyStartedError:
            return  # It ran and closed already; the mirror is catching up.
        except RPCError as err:
            log.error("could not start workflow", extra={"job_id": run.job_id})
            if fail_on_error:
                await self._mark_unstartable(run, err)
            raise Unavailable(f"The workflow engine is unreachable: {err.message}") from err

    async def _mark_unstartable(self, run: JobRun, err: RPCError) -> None:
        # Through the mirror like any failure: the domain row says FAILED too,
        # and the dead letter replays it once the engine is back.
        error = f"could not start the workflow: {err.message}"
        await finish_run(self.session, FinishJobInput(job_ref(run), JobStatus.FAILED, error=error))
        await self.session.commit()

    def _retry_spec(self, kind: JobKind) -> RetrySpec:
        return RetrySpec(
            max_attempts=self._settings.max_attempts(kind.name, kind.default_max_attempts),
            initial_interval_seconds=self._settings.retry_initial_interval_seconds,
            max_interval_seconds=self._settings.retry_max_interval_seconds,
            heartbeat_timeout_seconds=self._settings.heartbeat_timeout_seconds,
        )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _key_reused(run: JobRun) -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "This Idempotency-Key was already used with a different payload.",
        jobId=run.job_id,
        jobRunId=str(run.id),
    )


def _search_attributes(run: JobRun) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(SA_ORG_ID, run.org_id),
            SearchAttributePair(SA_JOB_NAME, run.job_name),
            SearchAttributePair(SA_ENTITY_TYPE, run.entity_type),
            SearchAttributePair(SA_ENTITY_ID, run.entity_id),
        ]
    )

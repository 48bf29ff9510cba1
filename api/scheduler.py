"""Scheduled harvests (APScheduler 3): each source on the cron in its config."""

from __future__ import annotations

import logging

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from rich.console import Console

from fedcat.harvester.config import SourceConfig
from fedcat.harvester.errors import FedcatError

from .catalog import Catalog

log = logging.getLogger(__name__)


def _job(catalog: Catalog, source: SourceConfig) -> None:
    # harvest() leaves the runs of this process alone (other jobs' runs) and stops the child
    # processes only when no other job is running
    for report in catalog.harvester.harvest([source.id]):  # none when the scheduler is stopping
        log.warning("[%s] scheduled harvest %s: %s", source.id, report.status.value, report.to_dict(),
                    extra={"source_id": source.id, "run_id": report.id})


def _lift_embargoes(catalog: Catalog) -> None:
    lifted = catalog.harvester.maintenance.lift_embargoes()
    log.warning("embargo check: %d records took their post-embargo level", len(lifted))


#: The daily embargo check (UTC): ended embargoes flip to their post-embargo level.
EMBARGO_CRON = "15 0 * * *"


def add_jobs(scheduler: BaseScheduler, catalog: Catalog) -> int:
    """One job per enabled source with a schedule (never two runs of one source at once),
    plus the daily embargo check; returns the number of harvest jobs."""
    scheduler.add_job(
        _lift_embargoes, CronTrigger.from_crontab(EMBARGO_CRON), args=(catalog,), id="embargoes",
        name="lift ended embargoes", max_instances=1, coalesce=True, misfire_grace_time=86400,
    )
    count = 0
    for source in catalog.config.sources:
        if not source.enabled or not source.schedule:
            continue
        scheduler.add_job(
            _job, CronTrigger.from_crontab(source.schedule), args=(catalog, source), id=f"harvest:{source.id}",
            name=f"harvest {source.id}", max_instances=1, coalesce=True, misfire_grace_time=3600,
        )
        count += 1
    return count


def run_foreground(catalog: Catalog, console: Console) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    if add_jobs(scheduler, catalog) == 0:
        raise FedcatError("no source has a schedule: add `schedule: \"0 3 * * *\"` (crontab) to a source")
    catalog.store.runs.mark_interrupted()
    for job in scheduler.get_jobs():
        console.print(f"{job.name}: {job.trigger}")
    console.print("scheduler running (Ctrl-C to stop)")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        # a harvest in progress stores the page it is on and ends interrupted; then the jobs are over
        catalog.harvester.stop.set()
        scheduler.shutdown(wait=True)

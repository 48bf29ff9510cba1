"""Scheduled harvests: one APScheduler job per scheduled source, and a job really harvests."""

from __future__ import annotations

from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from fedcat.api.scheduler import _job, add_jobs
from fedcat.harvester.demo.oai_server import OAIServer
from fedcat.harvester.store import RunStatus

from .conftest import source_for


def test_jobs_follow_each_sources_cron(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([
        source_for(oai_server, schedule="15 3 * * *"),
        source_for(oai_server, source_id="weekly", schedule="0 4 * * 1"),
        source_for(oai_server, source_id="manual"),
        source_for(oai_server, source_id="off", schedule="0 5 * * *", enabled=False),
    ])
    scheduler = BackgroundScheduler(timezone="UTC")
    assert add_jobs(scheduler, cat) == 2
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"harvest:ncdc", "harvest:weekly", "embargoes"}
    assert isinstance(jobs["harvest:ncdc"].trigger, CronTrigger)
    assert str(jobs["harvest:ncdc"].trigger) == str(CronTrigger.from_crontab("15 3 * * *", timezone="UTC"))
    assert jobs["harvest:weekly"].max_instances == 1


def test_a_scheduled_job_harvests_its_source(oai_server: OAIServer, catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server, schedule="* * * * *")])
    _job(cat, cat.config.sources[0])
    (run,) = cat.store.runs.recent("ncdc")
    assert run.status is RunStatus.SUCCEEDED
    assert cat.index.count() == sum(1 for r in oai_server.repository.records() if not r.deleted)


def test_scheduled_jobs_stop_the_child_processes_when_the_last_one_ends(oai_server: OAIServer,
                                                                          catalog_factory: Any) -> None:
    cat = catalog_factory([source_for(oai_server, schedule="* * * * *")], map_process=True,
                          index={"write_process": True})
    harvester, writer = cat.harvester, cat.index._remote
    assert writer is not None
    with harvester.running():  # another job still running: the children it uses stay up
        _job(cat, cat.config.sources[0])
        assert harvester._mapper is not None and writer._proc is not None and writer._proc.poll() is None
        channel = harvester._mapper._channel
        assert channel is not None and channel.proc.poll() is None
    assert harvester._mapper is None and writer._proc is None
    assert channel.proc.poll() is not None  # the mapping process itself has ended
    _job(cat, cat.config.sources[0])  # on its own, a job stops them when it ends; the next starts them again
    assert harvester._mapper is None and writer._proc is None
    (second, first) = cat.store.runs.recent("ncdc")
    assert first.status is RunStatus.SUCCEEDED and second.status is RunStatus.SUCCEEDED
    assert cat.index.count() == sum(1 for r in oai_server.repository.records() if not r.deleted)

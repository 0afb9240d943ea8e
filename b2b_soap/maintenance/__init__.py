"""Maintenance jobs: the actions, the job table, the APScheduler set-up, the once-across-workers run and its history."""
from .actions import ACTIONS, clear_cache, clear_conflicts, resolve_action, retention
from .defaults import DEFAULT_JOBS
from .locks import SchedulerLocked
from .runs import list_runs, parse_job_args, run_fire, run_now, run_to_dict
from .scheduler import build_scheduler, describe_jobs, start_scheduler
from .store import (add_job, change_job, get_job, import_config_jobs, list_jobs, remove_job, seed_default_jobs,
                    set_paused)

__all__ = ["ACTIONS", "resolve_action", "clear_conflicts", "clear_cache",
           "retention", "SchedulerLocked", "run_fire", "run_now", "parse_job_args", "list_runs", "run_to_dict",
           "build_scheduler", "describe_jobs", "start_scheduler", "DEFAULT_JOBS", "add_job", "change_job",
           "get_job", "list_jobs", "set_paused", "remove_job", "seed_default_jobs", "import_config_jobs"]

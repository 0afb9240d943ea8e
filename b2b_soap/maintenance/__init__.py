"""Maintenance jobs: the actions, the APScheduler set-up, the once-across-workers run and its history."""
from .actions import ACTIONS, available_actions, clear_cache, clear_conflicts, delete_files, resolve_action, retention
from .locks import SchedulerLocked
from .runs import list_runs, parse_job_args, run_fire, run_now, run_to_dict
from .scheduler import build_scheduler, describe_jobs, start_scheduler

__all__ = ["ACTIONS", "available_actions", "resolve_action", "clear_conflicts", "delete_files", "clear_cache",
           "retention", "SchedulerLocked", "run_fire", "run_now", "parse_job_args", "list_runs", "run_to_dict", "build_scheduler",
           "describe_jobs", "start_scheduler"]

"""LA review web pages (Unmatched, Matched with Conflicts, files, tasks, jobs, reports)."""
from .app import make_web_app

__all__ = ["make_web_app"]

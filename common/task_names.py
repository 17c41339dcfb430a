"""A task's former name, kept for the messages queued under it.

A Celery message names its task; a worker that no longer knows the name drops it. When a
task is renamed, messages a previous release queued (a block, an email, a sweep) must still
run, so the worker answers the former name too, for one release.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from celery import shared_task

F = TypeVar("F", bound=Callable[..., Any])


def former_name(name: str, **options: Any) -> Callable[[F], F]:
    """Register the function below also as the task `name`, with `options` (the same as its
    @shared_task's). Goes under @shared_task; remove it one release after the rename."""

    def register(function: F) -> F:
        shared_task(name=name, **options)(function)
        return function

    return register

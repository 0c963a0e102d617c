"""A Rich progress display for collection: one bar per account/region while it has work, and a total."""

from __future__ import annotations

import threading
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


def new_progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


class RichCollectionProgress:
    """Implements `evidence.orchestrator.CollectionProgress`; safe to call from worker threads."""

    def __init__(self, console: Console, *, progress: Progress | None = None) -> None:
        """With `progress`, draw into that (already running) display, e.g. one that shows other steps too."""
        self._owned = progress is None
        self._progress = progress or new_progress(console)
        self._lock = threading.Lock()
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._totals: dict[TaskID, int] = {}
        self._done: dict[TaskID, int] = {}
        # Started with the first planned work, so that its clock is the collection's (the display may be older).
        self._overall = self._progress.add_task("[bold]all accounts and regions", total=0, start=False)
        self._started = False

    def __enter__(self) -> RichCollectionProgress:
        if self._owned:
            self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owned:
            self._progress.stop()

    def planned(self, account_id: str, region: str, tasks: int) -> None:
        with self._lock:
            if not self._started:
                self._progress.start_task(self._overall)
                self._started = True
            key = (account_id, region)
            task = self._tasks.get(key)
            if task is None:
                task = self._progress.add_task(f"{account_id} {region}", total=0)
                self._tasks[key] = task
                self._totals[task] = self._done[task] = 0
            self._totals[task] += tasks
            self._progress.update(task, total=self._totals[task], visible=True)
            self._progress.update(self._overall, total=sum(self._totals.values()))

    def completed(self, account_id: str, region: str) -> None:
        with self._lock:
            task = self._tasks[(account_id, region)]
            self._done[task] += 1
            finished = self._done[task] >= self._totals[task]
            # Finished account/regions leave the screen so that large organisations stay readable.
            self._progress.update(task, completed=self._done[task], visible=not finished)
            self._progress.advance(self._overall)

    def note(self, message: str) -> None:
        self._progress.console.print(f"[yellow]note:[/yellow] {message}", highlight=False)

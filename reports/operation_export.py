"""A period's operation into a packet: every control's status at every capture as an attachment
(`operation-history.csv`, one row per control and capture), and the manifest key `operation` holding every figure
the "Operation over the period" section prints, so both sit under the PDF signature (and the bundle's CMS one).

The history is streamed into the file a megabyte at a time: a year of 365 captures of 300 controls is about 110,000
rows (a few megabytes) and is never held as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from core.canonical import rfc3339
from frameworks.operation import PeriodOperation
from frameworks.period_render import operation_sentence, operation_to_dict, period_to_dict
from reports.export import spreadsheet_text
from reports.streams import ExportedFile, ExportWriter

HISTORY = ("operation-history.csv", "operation-history.csv", "text/csv")
HISTORY_DESCRIPTION = "Every control's status at every capture of the period: one row per control and run"
HISTORY_COLUMNS = ("control_id", "run_id", "observed_at", "status", "automated", "customer_evidence")

WriterFactory = Callable[[tuple[str, str, str], str], ExportWriter]


def write_history(period: PeriodOperation, writer: WriterFactory) -> ExportedFile:
    out = writer(HISTORY, HISTORY_DESCRIPTION)
    text = io.StringIO()
    rows = csv.writer(text, lineterminator="\n")
    rows.writerow(HISTORY_COLUMNS)
    history = period.history
    moments = [(capture.run_id, rfc3339(capture.observed_at)) for capture in history.captures]
    for position, control in enumerate(history.controls):
        control_id = spreadsheet_text(control.control_id)
        for (run_id, observed), row in zip(moments, history.outcomes, strict=True):
            outcome = row[position]
            rows.writerow((control_id, run_id, observed, outcome.status, outcome.automated, outcome.evidence))
        if text.tell() >= 1 << 20:
            out.write(text.getvalue().encode("utf-8"))
            text.seek(0)
            text.truncate()
    out.write(text.getvalue().encode("utf-8"))
    return out.finish()


def manifest_keys(period: PeriodOperation, history_file: ExportedFile) -> dict[str, Any]:
    """`operation`: the period's captures and headline, and each control's figures (failures with streaks and
    remediation, uncovered days); the per-capture statuses are in the attached file it names."""
    return {
        "operation": {
            **period_to_dict(period),
            "sentence": operation_sentence(period),
            # What the statuses rest on: each capture's stored findings, whose digests are in `store.findings`.
            "findings": "stored findings of each capture (digests in store.findings)",
            "history_file": history_file.name,
            "controls": [{"id": control.control_id, **operation_to_dict(control)} for control in period.controls],
        }
    }

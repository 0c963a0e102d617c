"""Pytest plugin: botocore's bundled JSON models are decoded once per test process, not once per boto3 Session.

Every `boto3.Session` (the tests make one per moto estate, the collectors one per assumed role) gets a new botocore
loader with an empty cache, so each client re-reads and decodes its service model (EC2's is megabytes of JSON):
94 s of the suite's 506 s of in-process CPU in one measured run (10,587 decodes). One loader already hands the same
decoded dicts to all its clients, so sharing them between loaders changes nothing botocore relies on (the one
in-place edit, merging `*-extras` files, gives the same result when repeated). Only files inside the installed
botocore and boto3 packages are kept: they never change during a run.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import botocore
from botocore.loaders import JSONFileLoader

_PACKAGED = tuple(os.path.dirname(module.__file__) + os.sep for module in (botocore, boto3))  # type: ignore[arg-type]
_decoded: dict[str, Any] = {}
_load_file = JSONFileLoader.load_file


def _load_file_once(self: JSONFileLoader, file_path: str) -> Any:
    if not file_path.startswith(_PACKAGED):
        return _load_file(self, file_path)
    if file_path not in _decoded:
        data = _load_file(self, file_path)
        if data is None:
            return None
        _decoded[file_path] = data
    return _decoded[file_path]


JSONFileLoader.load_file = _load_file_once  # type: ignore[method-assign]

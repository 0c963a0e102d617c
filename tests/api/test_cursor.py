"""Signed pagination cursors: a round trip returns the position; any change to a cursor, and any other text, is an
`InvalidCursorError` (400 invalid_cursor) and never another exception. The secret is shared through the data
directory when none is configured."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.context import ApiConfig
from api.cursor_secret import CURSOR_SECRET_FILE, load_or_create_cursor_secret
from api.errors import InvalidCursorError, NotConfiguredError
from api.parsing import MAX_INT63
from api.services.cursor import CursorCodec, instant_position, int_position
from evidence.store import EvidenceStore
from tests.api.conftest import TEST_CONFIG, auth

CODEC = CursorCodec.from_secret(b"k" * 32)
PURE = settings(max_examples=200, deadline=None)
SCALARS = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=20), st.booleans(), st.none())
POSITIONS = st.dictionaries(st.text(min_size=1, max_size=8), SCALARS, max_size=4)
FILTERS = st.dictionaries(st.sampled_from(["status", "kind", "run_id", "from"]), SCALARS, max_size=4)


@PURE
@given(position=POSITIONS, filters=FILTERS)
def test_a_cursor_reads_back_its_position(position: dict[str, Any], filters: dict[str, Any]) -> None:
    cursor = CODEC.encode(position, filters=filters)
    assert len(cursor) < 512 or len(str(position)) > 100  # fits the query parameter for real positions
    assert CODEC.decode(cursor, filters=filters) == position


def _mutations(cursor: str) -> st.SearchStrategy[str]:
    index = st.integers(min_value=0, max_value=len(cursor) - 1)
    char = st.characters(exclude_categories=())
    return st.one_of(
        st.tuples(index, char)
        .filter(lambda t: cursor[t[0]] != t[1])
        .map(lambda t: cursor[: t[0]] + t[1] + cursor[t[0] + 1 :]),
        index.map(lambda i: cursor[:i] + cursor[i + 1 :]),
        st.tuples(index, char).map(lambda t: cursor[: t[0]] + t[1] + cursor[t[0] :]),
        index.map(lambda i: cursor[:i]),
        char.map(lambda c: cursor + c),
    )


@PURE
@given(data=st.data(), position=POSITIONS, filters=FILTERS)
def test_any_change_to_a_signed_cursor_is_refused(data: st.DataObject, position: dict, filters: dict) -> None:
    cursor = CODEC.encode(position, filters=filters)
    mutated = data.draw(_mutations(cursor))
    assert mutated != cursor
    with pytest.raises(InvalidCursorError):
        CODEC.decode(mutated, filters=filters)


@PURE
@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=120))
def test_any_text_is_refused_as_a_cursor(text: str) -> None:
    with pytest.raises(InvalidCursorError):
        CODEC.decode(text, filters={})


@PURE
@given(position=POSITIONS)
def test_another_secret_or_another_query_refuses_the_cursor(position: dict[str, Any]) -> None:
    cursor = CODEC.encode(position, filters={"status": "ready"})
    with pytest.raises(InvalidCursorError, match="signature"):
        CursorCodec.from_secret(b"x" * 32).decode(cursor, filters={"status": "ready"})
    with pytest.raises(InvalidCursorError, match="different filters"):
        CODEC.decode(cursor, filters={"status": "failed"})


@pytest.mark.parametrize("value", [-1, MAX_INT63 + 1, 2**70, True, 1.5, "1", None])
def test_integer_positions_stay_within_63_bits(value: object) -> None:
    with pytest.raises(InvalidCursorError, match="not an integer from 0"):
        int_position({"before": value}, "before")
    assert int_position({"before": MAX_INT63}, "before") == MAX_INT63


@pytest.mark.parametrize("value", ["2026-01-01T00:00:00", "0001-01-01T00:00:00+01:00", 5, None])
def test_instant_positions_are_aware_and_in_range(value: object) -> None:
    with pytest.raises(InvalidCursorError, match="'at'"):
        instant_position({"at": value}, "at")


def test_the_codec_never_shows_its_key() -> None:
    assert "k" * 8 not in repr(CODEC) and CODEC.key.hex() not in repr(CODEC)
    assert "secret" not in repr(ApiConfig(cursor_secret=b"s" * 32)).replace("cursor_secret", "")


def test_replicas_starting_together_generate_one_secret(tmp_path: Path) -> None:
    found: list[bytes] = []
    threads = [threading.Thread(target=lambda: found.append(load_or_create_cursor_secret(tmp_path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1 and len(found[0]) == 64
    assert os.stat(tmp_path / CURSOR_SECRET_FILE).st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [CURSOR_SECRET_FILE]  # no temporary files left


def test_a_damaged_secret_file_stops_start_up_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / CURSOR_SECRET_FILE).write_text("short-and-private")
    with pytest.raises(NotConfiguredError) as raised:
        load_or_create_cursor_secret(tmp_path)
    assert "short-and-private" not in raised.value.diagnostics()


def test_two_apps_on_one_data_directory_accept_each_others_cursors(
    make_app: Callable[..., FastAPI], officer: str, store: EvidenceStore
) -> None:
    for _ in range(3):
        store.finish_run(store.start_run(trigger="cli", requested_by="test", scope={}).id)
    with TestClient(make_app()) as first, TestClient(make_app()) as second:
        cursor = first.get("/v1/runs", params={"limit": 1}, headers=auth(officer)).json()["next_cursor"]
        assert second.get("/v1/runs", params={"cursor": cursor}, headers=auth(officer)).status_code == 200
    with TestClient(make_app(config=replace(TEST_CONFIG, cursor_secret=b"c" * 32))) as third:
        refused = third.get("/v1/runs", params={"cursor": cursor}, headers=auth(officer))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_cursor"

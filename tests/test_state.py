"""The SQLite state store: products, claims between runs, image cache, snapshots."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from etl import state as state_module
from etl.errors import UsageError
from etl.state import StateStore, claim_owner


@pytest.fixture
def store(tmp_path):
    opened = StateStore(tmp_path / "state.sqlite")
    yield opened
    opened.close()


def test_new_offer_has_no_state(store):
    assert store.product("douyin", "default", "1001") is None


def test_claim_then_intent_marks_creating(store):
    owner = claim_owner()
    assert store.claim("douyin", "default", "1001", owner)

    store.record_intent("douyin", "default", "1001")
    row = store.product("douyin", "default", "1001")

    assert row.status == "creating"
    assert row.intent_at is not None
    assert row.product_id is None


def test_record_product_keeps_id_hash_and_status(store):
    owner = claim_owner()
    store.claim("douyin", "default", "1001", owner)
    store.record_product("douyin", "default", "1001", "3600000000000000001", "abc", "draft")

    row = store.product("douyin", "default", "1001")

    assert (row.product_id, row.payload_hash, row.status) == ("3600000000000000001", "abc", "draft")


def test_record_error_keeps_the_product_id(store):
    owner = claim_owner()
    store.claim("douyin", "default", "1001", owner)
    store.record_product("douyin", "default", "1001", "36001", "abc", "draft")
    store.record_error("douyin", "default", "1001", "publish.api_error: rejected")

    row = store.product("douyin", "default", "1001")

    assert row.product_id == "36001"
    assert row.last_error == "publish.api_error: rejected"


def test_shops_and_targets_are_kept_apart(store):
    owner = claim_owner()
    store.claim("douyin", "a", "1001", owner)
    store.record_product("douyin", "a", "1001", "1", "h", "draft")

    assert store.product("douyin", "b", "1001") is None
    assert store.product("taobao", "a", "1001") is None


def test_claim_of_live_run_blocks(store):
    assert store.claim("douyin", "default", "1001", claim_owner())
    assert not store.claim("douyin", "default", "1001", claim_owner())


def test_release_lets_another_run_claim(store):
    first = claim_owner()
    store.claim("douyin", "default", "1001", first)
    store.release("douyin", "default", "1001", first)

    assert store.claim("douyin", "default", "1001", claim_owner())


def test_release_by_another_owner_does_nothing(store):
    first = claim_owner()
    store.claim("douyin", "default", "1001", first)
    store.release("douyin", "default", "1001", claim_owner())

    assert not store.claim("douyin", "default", "1001", claim_owner())


def test_claim_of_dead_process_abandoned(store, tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_owner = f"{state_module.socket.gethostname()}:{finished.stdout.strip()}:deadbeef"
    store.claim("douyin", "default", "1001", dead_owner)

    assert store.claim("douyin", "default", "1001", claim_owner())


def test_claim_older_than_limit_abandoned(store, monkeypatch):
    store.claim("douyin", "default", "1001", "other-host:1:cafe")
    later = time.time() + state_module.CLAIM_SECONDS + 1
    monkeypatch.setattr(state_module.time, "time", lambda: later)

    assert store.claim("douyin", "default", "1001", claim_owner())


def test_claim_on_other_host_blocks(store):
    store.claim("douyin", "default", "1001", "other-host:1:cafe")

    assert not store.claim("douyin", "default", "1001", claim_owner())


CLAIM_SCRIPT = """
import sys, time
from etl.state import StateStore, claim_owner
store = StateStore(sys.argv[1])
owner = claim_owner()
ok = store.claim("douyin", "default", "1001", owner)
print("claimed" if ok else "busy", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_two_processes_do_not_both_claim(tmp_path):
    path = tmp_path / "state.sqlite"
    StateStore(path).close()

    first = subprocess.Popen([sys.executable, "-c", CLAIM_SCRIPT, str(path), "3"], stdout=subprocess.PIPE, text=True)
    assert first.stdout.readline().strip() == "claimed"
    second = subprocess.run([sys.executable, "-c", CLAIM_SCRIPT, str(path), "0"], capture_output=True, text=True, check=True)
    first.wait(timeout=30)

    assert second.stdout.strip() == "busy"


def test_images_are_cached_per_platform_and_shop(store):
    store.record_image("douyin", "default", "https://cbu01.alicdn.com/a.jpg", "https://p3.ecombdimg.com/a.jpg", "00ff")

    assert store.image("douyin", "default", "https://cbu01.alicdn.com/a.jpg") == "https://p3.ecombdimg.com/a.jpg"
    assert store.image("douyin", "other", "https://cbu01.alicdn.com/a.jpg") is None
    assert store.image("taobao", "default", "https://cbu01.alicdn.com/a.jpg") is None


def test_snapshots_round_trip_with_chinese_text(store):
    snapshot = {"title": "夏季连衣裙", "skus": {"颜色:红色": {"price": "19.90", "stock": 5}}}
    store.record_snapshot("files/douyin/out", "1001", snapshot)

    assert store.snapshot("files/douyin/out", "1001") == snapshot
    assert store.snapshot("files/douyin/other", "1001") is None


def test_state_survives_reopening(tmp_path):
    path = tmp_path / "state.sqlite"
    first = StateStore(path)
    first.claim("douyin", "default", "1001", claim_owner())
    first.record_product("douyin", "default", "1001", "9", "h", "draft")
    first.close()

    reopened = StateStore(path)

    assert reopened.product("douyin", "default", "1001").product_id == "9"
    reopened.close()


def test_state_file_other_version_rejected(tmp_path):
    path = tmp_path / "state.sqlite"
    StateStore(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")

    with pytest.raises(UsageError) as raised:
        StateStore(path)

    assert raised.value.key == "state.version"


def test_state_file_not_sqlite_rejected(tmp_path):
    path = tmp_path / "state.sqlite"
    path.write_text("not a database, just some text that is long enough to be a header" * 10)

    with pytest.raises(UsageError) as raised:
        StateStore(path)

    assert raised.value.key == "state.unusable"
    assert str(path) in str(raised.value)

"""Unchanged re-run of ``etl run --publish``: a second run over the same offers makes no platform writes.

A fake Douyin Shop and a fake 1688 image CDN (``tests/fakes/``) run in this process on
127.0.0.1. Generated offers get their image paths mapped onto a pool of ``image_pool``
images, so the first run uploads each image once instead of hundreds of thousands. The first
run creates the drafts. The second runs over the same responses and state file, and the stage
records its platform calls by method, its writes and its wall time per offer.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from etl import jsonio

from benchmarks import ROOT
from benchmarks.generate import DEFAULT_SEED, write_ids, write_offers
from benchmarks.processes import child_environment, run_measured

WRITE_METHODS = ("product.addV2", "product.editV2", "material.uploadImageSync")
_IMAGE_PATH = re.compile(r"img/ibank/[^\"\s\\<>']+")
_CDN_HOSTS = ("https://cbu01.alicdn.com/", "https://img.alicdn.com/")


def _fakes():
    """Import the fake Douyin and CDN from the test fakes, which are not part of the installed package."""
    tests = str(ROOT / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    from fakes.douyin import FakeDouyin
    from fakes.image_cdn import FakeImageCdn

    return FakeDouyin, FakeImageCdn


def run_publish(work_folder: Path, offers: int = 10_000, seed: int = DEFAULT_SEED, workers: int = 8, image_pool: int = 40) -> dict[str, Any]:
    """Publish ``offers`` generated offers, then publish them again unchanged, and return both runs' figures."""
    FakeDouyin, FakeImageCdn = _fakes()
    generated = work_folder / "publish-generated"
    ids = write_offers(generated, offers, seed)
    ids_file = write_ids(work_folder / f"publish-ids-{offers}.txt", ids)
    state = work_folder / "publish-state.sqlite"
    state.unlink(missing_ok=True)

    with FakeImageCdn() as cdn, FakeDouyin() as douyin:
        pool = [cdn.add_image(f"/img/ibank/pool-{number:03d}.jpg", width=800, height=800) for number in range(image_pool)]
        source = _point_images_at(generated, work_folder / "publish-source", ids, pool)
        environment = child_environment({
            "ETL_DOUYIN_GATEWAY": douyin.url, "ETL_DOUYIN_APP_KEY": douyin.app_key, "ETL_DOUYIN_APP_SECRET": douyin.app_secret,
            "ETL_DOUYIN_ACCESS_TOKEN": douyin.access_token, "ETL_IMAGE_HOSTS": "127.0.0.1", "ETL_IMAGE_ALLOW_PRIVATE": "1",
        })

        first = _run(work_folder, "publish-first", source, ids_file, state, workers, environment, offers)
        calls_before, writes_before = len(douyin.calls), douyin.write_counts
        second = _run(work_folder, "publish-unchanged", source, ids_file, state, workers, environment, offers)
        second_calls = douyin.calls[calls_before:]
        writes_after = douyin.write_counts

    writes = {method: writes_after[method] - writes_before[method] for method in WRITE_METHODS}
    calls_by_method: dict[str, int] = {}
    for call in second_calls:
        calls_by_method[call.method] = calls_by_method.get(call.method, 0) + 1

    return {
        "settings": {"rule": "rules/douyin.yaml", "offers": offers, "workers": workers, "image_pool": image_pool, "seed": seed},
        "first_run": first,
        "unchanged_run": {
            **second,
            "platform_calls": len(second_calls),
            "platform_calls_by_method": calls_by_method,
            "platform_writes": sum(writes.values()),
            "platform_writes_by_method": writes,
            "zero_writes_target_met": sum(writes.values()) == 0,
            "milliseconds_per_offer": round(second["seconds"] * 1000 / offers, 2),
        },
        "status": "measured",
        "measured": True,
    }


def _point_images_at(generated: Path, source: Path, ids: list[str], pool: list[str]) -> Path:
    """Copy the generated responses with every image path replaced by one of the pool's URLs, the same path always by the same URL."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    chosen: dict[str, str] = {}

    def pooled(match: re.Match) -> str:
        return chosen.setdefault(match.group(0), pool[len(chosen) % len(pool)])

    for offer_id in ids:
        text = (generated / f"{offer_id}.json").read_text(encoding="utf-8")
        for host in _CDN_HOSTS:
            text = text.replace(host, "")
        text = _IMAGE_PATH.sub(pooled, text.replace("tps/i4/TB1placeholder1x1.gif", "img/ibank/placeholder.gif"))
        (source / f"{offer_id}.json").write_text(text, encoding="utf-8")
    return source


def _run(work_folder: Path, name: str, source: Path, ids_file: Path, state: Path, workers: int, environment, offers: int) -> dict[str, Any]:
    out = work_folder / f"{name}-out"
    shutil.rmtree(out, ignore_errors=True)
    arguments = ["run", "rules/douyin.yaml", "--ids", str(ids_file), "--source", str(source), "--out", str(out), "--state", str(state),
                 "--publish", "--publish-rate", "2000", "--workers", str(workers)]
    measured = run_measured(arguments, work_folder / "logs", name, environment, timeout=600 + offers * 0.2)
    report = jsonio.loads((out / "report.json").read_text(encoding="utf-8")) if (out / "report.json").is_file() else {}
    return {
        "command": "ETL_DOUYIN_GATEWAY=<fake> ETL_DOUYIN_APP_KEY=... " + measured.command_text,
        "exit_status": measured.exit_status,
        "seconds": round(measured.seconds, 1),
        "timed_out_and_interrupted": measured.timed_out,
        "summary": report.get("summary"),
    }

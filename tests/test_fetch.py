"""Fetching from the 1688 APIs against the fake gateway on 127.0.0.1: retries, failures, rate, secrets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from etl.cli import main
from etl.errors import OfferError
from etl.fetch import HttpSource, find_source, load_source
from etl.signing import Credentials
from fakes.gateway_1688 import Fake1688

from conftest import ROOT, SAMPLES

KEY, SECRET, TOKEN = "fake-app-key", "fake-app-secret", "fake-access-token"
RESELLER_KEY, RESELLER_SECRET = "fake-reseller-key", "fake-reseller-secret"
OFFER = "672839104523"
SECRETS = (SECRET, TOKEN, RESELLER_SECRET)


@pytest.fixture
def fake():
    with Fake1688(product_dir=SAMPLES / "product.get", reseller_dir=SAMPLES / "item_get") as gateway:
        yield gateway


def official(fake, **settings) -> HttpSource:
    definition = find_source("alibaba.product.get", "product.get")
    defaults = {"gateway": fake.url + "/openapi", "rate": 50, "timeout": 1.0, "retries": 4, "backoff": 0.01}
    defaults.update(settings)
    return HttpSource(definition, Credentials(KEY, SECRET, TOKEN), **defaults)


def reseller(fake, **settings) -> HttpSource:
    definition = find_source("onebound.item_get", "item_get")
    defaults = {"gateway": fake.url, "rate": 50, "timeout": 1.0, "retries": 4, "backoff": 0.01}
    defaults.update(settings)
    return HttpSource(definition, Credentials(RESELLER_KEY, RESELLER_SECRET), **defaults)


def fetch_error(source: HttpSource, offer_id: str = OFFER) -> OfferError:
    with pytest.raises(OfferError) as caught:
        source.fetch_bytes(offer_id)
    return caught.value


# --- happy paths -------------------------------------------------------------------------------


def test_official_returns_saved_bytes(fake):
    body = official(fake).fetch_bytes(OFFER)

    assert body == (SAMPLES / "product.get" / f"{OFFER}.json").read_bytes()
    assert [record.outcome for record in fake.requests] == ["ok"]


def test_official_request_is_signed_form_post(fake):
    official(fake).fetch_bytes(OFFER)

    record = fake.requests[0]
    assert record.method == "POST"
    assert record.path == f"/openapi/param2/1/com.alibaba.product/alibaba.product.get/{KEY}"
    assert record.params["productID"] == OFFER
    assert record.params["webSite"] == "1688"


def test_reseller_returns_saved_bytes(fake):
    body = reseller(fake).fetch_bytes(OFFER)

    assert body == (SAMPLES / "item_get" / f"{OFFER}.json").read_bytes()


# --- transient faults recover ------------------------------------------------------------------


@pytest.mark.parametrize("faults", [["503"], ["500", "502"], ["reset"], ["qos"], ["bad_json"], ["timeout:2"], ["503", "reset", "qos"]])
def test_transient_faults_recover(fake, faults):
    fake.faults[OFFER] = list(faults)
    source = official(fake)

    body = source.fetch_bytes(OFFER)

    assert json.loads(body)["productInfo"]["productID"] == int(OFFER)
    assert source.stats.retries == len(faults)


def test_reseller_rate_limit_code_recovers(fake):
    fake.faults[OFFER] = ["qos", "qos"]
    source = reseller(fake)

    assert json.loads(source.fetch_bytes(OFFER))["item"]["num_iid"] == OFFER
    assert source.stats.retries == 2


def test_retry_after_honoured(fake):
    fake.faults[OFFER] = ["retry_after:1"]
    source = official(fake)

    started = time.monotonic()
    source.fetch_bytes(OFFER)

    records = fake.requests_for(OFFER)
    assert [record.status for record in records] == [503, 200]
    assert records[1].time - records[0].time >= 1.0
    assert time.monotonic() - started >= 1.0


def test_retries_exhausted(fake):
    fake.faults[OFFER] = ["503"] * 3
    source = official(fake, retries=2)

    error = fetch_error(source)

    assert error.key == "source.retries_exhausted"
    assert error.params["attempts"] == 3
    assert "HTTP 503" in error.render("en")
    assert len(fake.requests_for(OFFER)) == 3


# --- permanent failures fail at once -----------------------------------------------------------


@pytest.mark.parametrize(("fault", "code", "advice"), [("acl", "gw.APIACLDecline", "apply for access"), ("sig", "gw.SignatureInvalid", "ETL_1688_APP_SECRET")])
def test_permanent_errors_fail_once(fake, fault, code, advice):
    fake.faults[OFFER] = [fault]

    error = fetch_error(official(fake))

    assert error.key == "source.api_error"
    assert error.params["code"] == code
    assert advice in error.render("en")
    assert len(fake.requests_for(OFFER)) == 1


def test_wrong_secret_fails_with_advice(fake):
    definition = find_source("alibaba.product.get", "product.get")
    source = HttpSource(definition, Credentials(KEY, "wrong-secret", TOKEN), gateway=fake.url + "/openapi", rate=50, backoff=0.01)

    error = fetch_error(source)

    assert (error.key, error.params["code"], error.params["status"]) == ("source.api_error", "gw.SignatureInvalid", 401)
    assert "签名校验失败" in error.render("zh")


def test_reseller_wrong_key_fails_with_advice(fake):
    definition = find_source("onebound.item_get", "item_get")
    source = HttpSource(definition, Credentials("nobody", "nothing"), gateway=fake.url, rate=50, backoff=0.01)

    error = fetch_error(source)

    assert (error.key, error.params["code"]) == ("source.api_error", "4001")
    assert len(fake.requests_for(OFFER)) == 1


def test_unreachable_gateway_retried_then_reported():
    source = HttpSource(find_source("alibaba.product.get", "product.get"), Credentials(KEY, SECRET, TOKEN),
                        gateway="http://127.0.0.1:9/openapi", rate=50, timeout=0.5, retries=1, backoff=0.01)

    error = fetch_error(source)

    assert error.key == "source.retries_exhausted"
    assert "connection failed" in error.render("en")


# --- rate limit --------------------------------------------------------------------------------


def test_no_request_over_the_rate_limit():
    ids = [path.stem for path in sorted((SAMPLES / "product.get").glob("*.json"))]

    from concurrent.futures import ThreadPoolExecutor

    # The server enforces 8 requests a second itself; a burst of 2 absorbs arrival jitter.
    with Fake1688(product_dir=SAMPLES / "product.get", rate_limit=8, burst=2) as gateway:
        source = official(gateway, rate=8)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(lambda offer_id: _fetch_quietly(source, offer_id), ids * 2))
        elapsed = time.monotonic() - started

    assert len(gateway.requests) == len(ids) * 2
    assert [record.outcome for record in gateway.requests if record.status == 429] == []
    # A token bucket of rate r and burst 1 lets r + 1 requests fall in a closed one-second window.
    assert gateway.max_requests_in_window(1.0) <= 8 + 1
    assert elapsed >= (len(ids) * 2 - 1) / 8 - 0.05


def _fetch_quietly(source, offer_id):
    try:
        return source.fetch_bytes(offer_id)
    except OfferError:
        return None


# --- source definitions ------------------------------------------------------------------------


def test_default_source_per_profile():
    assert find_source(None, "product.get").name == "alibaba.product.get"
    assert find_source(None, "item_get").name == "onebound.item_get"


def test_every_bundled_source_loads():
    for path in sorted((ROOT / "rules" / "sources").glob("*.yaml")):
        definition = load_source(path)
        assert definition.rate_limit > 0
        assert definition.id_param


# --- the command line against the fake --------------------------------------------------------


@pytest.fixture
def credentials_env(monkeypatch, fake):
    monkeypatch.setenv("ETL_1688_APP_KEY", KEY)
    monkeypatch.setenv("ETL_1688_APP_SECRET", SECRET)
    monkeypatch.setenv("ETL_1688_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("ETL_1688_GATEWAY", fake.url + "/openapi")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("ETL_LANG", raising=False)


def test_run_fetches_maps_and_reports(fake, credentials_env, tmp_path, capsys):
    fake.faults["672839104523"] = ["503", "reset"]
    fake.faults["715204938861"] = ["acl"]
    out = tmp_path / "out"

    status = main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(SAMPLES / "ids.txt"), "--out", str(out),
                   "--rate", "20", "--retries", "3", "--verbose"])

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    entries = {entry["offer_id"]: entry for entry in report["offers"]}
    captured = capsys.readouterr()
    assert status == 1
    assert entries["672839104523"]["status"] == "ok"
    assert entries["715204938861"]["error_code"] == "source.api_error"
    assert entries["655718290347"]["error_code"] == "offer.offline"
    assert report["summary"]["total"] == 12
    assert_no_secrets(out, captured.out + captured.err)


def test_fetch_then_replay_equals_live(fake, credentials_env, tmp_path):
    saved = tmp_path / "saved"

    assert main(["fetch", "--ids", str(SAMPLES / "ids.txt"), "--out", str(saved), "--rate", "50"]) == 0

    for path in sorted((SAMPLES / "product.get").glob("*.json")):
        assert (saved / path.name).read_bytes() == path.read_bytes()


def test_cache_reused_within_max_age(fake, credentials_env, tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("672839104523\n698310457726\n", encoding="utf-8")
    arguments = ["run", str(ROOT / "rules" / "taobao.yaml"), "--ids", str(ids), "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"), "--rate", "50"]

    assert main(arguments) == 0
    first = len(fake.requests)
    assert main(arguments) == 0

    assert first == 2
    assert len(fake.requests) == 2


def test_run_reseller_profile(fake, credentials_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ETL_1688_RESELLER_KEY", RESELLER_KEY)
    monkeypatch.setenv("ETL_1688_RESELLER_SECRET", RESELLER_SECRET)
    monkeypatch.setenv("ETL_1688_RESELLER_GATEWAY", fake.url)

    status = main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(SAMPLES / "item_get" / "ids.txt"), "--profile", "item_get",
                   "--out", str(tmp_path), "--rate", "50"])

    entries = {entry["offer_id"]: entry for entry in json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["offers"]}
    assert status == 1
    assert entries["672839104523"]["status"] == "ok"
    assert entries["655718290347"]["error_code"] == "offer.offline_source"
    assert all(record.path.startswith("/1688/item_get") for record in fake.requests)


def test_run_without_credentials_stops_at_once(monkeypatch, tmp_path, capsys):
    for name in ("ETL_1688_APP_KEY", "ETL_1688_APP_SECRET", "ETL_1688_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ETL_CREDENTIALS_FILE", str(tmp_path / "absent.yaml"))

    status = main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(SAMPLES / "ids.txt"), "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert status == 2
    assert "absent.yaml" in err
    assert not (tmp_path / "out").exists()


def test_credentials_file_inside_repository_rejected(monkeypatch, tmp_path, capsys):
    for name in ("ETL_1688_APP_KEY", "ETL_1688_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    credentials = repo / "credentials.yaml"
    credentials.write_text("1688:\n  app_key: k\n  app_secret: s\n", encoding="utf-8")

    status = main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(SAMPLES / "ids.txt"), "--out", str(tmp_path / "out"), "--credentials", str(credentials)])

    assert status == 2
    assert "git" in capsys.readouterr().err


def assert_no_secrets(folder: Path, console: str) -> None:
    texts = [console] + [path.read_text(encoding="utf-8") for path in folder.rglob("*.json")]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_ctrl_c_leaves_complete_files_and_a_report(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    ids = tmp_path / "ids.txt"
    ids.write_text("".join(f"{path.stem}\n" for path in sorted((SAMPLES / "product.get").glob("*.json"))), encoding="utf-8")
    out = tmp_path / "out"

    with Fake1688(product_dir=SAMPLES / "product.get", latency=0.3) as gateway:
        env = dict(os.environ, ETL_1688_APP_KEY=KEY, ETL_1688_APP_SECRET=SECRET, ETL_1688_ACCESS_TOKEN=TOKEN,
                   ETL_1688_GATEWAY=gateway.url + "/openapi", LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "etl", "run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(ids), "--out", str(out), "--workers", "1", "--rate", "50"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        )
        deadline = time.monotonic() + 20
        while len(gateway.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert process.returncode == 130
    assert report["interrupted"] is True
    assert 0 < report["summary"]["total"] < 12
    assert "已中断" in err
    for path in out.glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))
    assert not list(out.glob("*.tmp"))

    # A second run over the same folder takes over the interrupted run's files.
    with Fake1688(product_dir=SAMPLES / "product.get") as gateway:
        env["ETL_1688_GATEWAY"] = gateway.url + "/openapi"
        rerun = subprocess.run(
            [sys.executable, "-m", "etl", "run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(ids), "--out", str(out), "--rate", "50"],
            env=env, capture_output=True, text=True, encoding="utf-8", timeout=120, check=False,
        )

    codes = {entry.get("error_code") for entry in json.loads((out / "report.json").read_text(encoding="utf-8"))["offers"]}
    assert rerun.returncode == 1
    assert "output.foreign_file" not in codes


def test_reseller_never_gets_official_secret(fake, credentials_env, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ETL_1688_RESELLER_GATEWAY", fake.url)
    monkeypatch.delenv("ETL_1688_RESELLER_KEY", raising=False)
    monkeypatch.delenv("ETL_1688_RESELLER_SECRET", raising=False)
    monkeypatch.delenv("ETL_CREDENTIALS_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))

    status = main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(SAMPLES / "ids.txt"), "--profile", "item_get", "--out", str(tmp_path / "out")])

    assert status == 2
    assert fake.requests == []
    assert "ETL_1688_RESELLER_KEY" in capsys.readouterr().err


def test_redirect_not_followed(tmp_path):
    import http.server
    import threading

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(307)
            self.send_header("Location", "http://127.0.0.2:9/steal")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = HttpSource(find_source("alibaba.product.get", "product.get"), Credentials(KEY, SECRET, TOKEN),
                            gateway=f"http://127.0.0.1:{server.server_address[1]}/openapi", rate=50, backoff=0.01)
        error = fetch_error(source)
    finally:
        server.shutdown()

    assert (error.key, error.params["status"]) == ("source.redirect", 307)


def test_bad_secret_stops_later_requests(fake):
    definition = find_source("alibaba.product.get", "product.get")
    source = HttpSource(definition, Credentials(KEY, "wrong-secret", TOKEN), gateway=fake.url + "/openapi", rate=50, backoff=0.01)

    first = fetch_error(source, "672839104523")
    second = fetch_error(source, "698310457726")

    assert first.key == "source.api_error"
    assert second.key == "source.aborted"
    assert len(fake.requests) == 1


def test_rate_limit_answers_slow_the_client_down():
    with Fake1688(product_dir=SAMPLES / "product.get", rate_limit=4, burst=1) as gateway:
        source = official(gateway, rate=20, retries=8)
        for path in sorted((SAMPLES / "product.get").glob("*.json"))[:8]:
            source.fetch_bytes(path.stem)

    assert source.bucket.rate < 20
    assert len([record for record in gateway.requests if record.status == 200]) == 8


def test_long_retry_after_fails_instead_of_freezing(fake):
    fake.faults[OFFER] = ["retry_after:3600"]

    error = fetch_error(official(fake))

    assert error.key == "source.retry_after_too_long"


def test_echoed_secret_redacted_in_report(tmp_path, monkeypatch):
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / f"{OFFER}.json").write_text(
        json.dumps({"success": False, "errorCode": "isv.echo", "errorMessage": f"token {TOKEN} and secret {SECRET} rejected"}), encoding="utf-8")

    with Fake1688(product_dir=saved) as gateway:
        monkeypatch.setenv("ETL_1688_APP_KEY", KEY)
        monkeypatch.setenv("ETL_1688_APP_SECRET", SECRET)
        monkeypatch.setenv("ETL_1688_ACCESS_TOKEN", TOKEN)
        monkeypatch.setenv("ETL_1688_GATEWAY", gateway.url + "/openapi")
        ids = tmp_path / "ids.txt"
        ids.write_text(f"{OFFER}\n", encoding="utf-8")
        main(["run", str(ROOT / "rules" / "douyin.yaml"), "--ids", str(ids), "--out", str(tmp_path / "out"), "--rate", "50"])

    report = (tmp_path / "out" / "report.json").read_text(encoding="utf-8")
    assert "isv.echo" in report
    assert TOKEN not in report
    assert SECRET not in report


def test_credentials_file_unquoted_section(monkeypatch, tmp_path):
    for name in ("ETL_1688_APP_KEY", "ETL_1688_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "credentials.yaml"
    path.write_text("1688:\n  app_key: k1\n  app_secret: s1\n  access_token: t1\n", encoding="utf-8")

    from etl.fetch import load_credentials

    credentials = load_credentials(find_source(None, "product.get"), path)

    assert (credentials.app_key, credentials.app_secret, credentials.access_token) == ("k1", "s1", "t1")


def test_broken_credentials_file_not_echoed(monkeypatch, tmp_path):
    for name in ("ETL_1688_APP_KEY", "ETL_1688_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "credentials.yaml"
    path.write_text("1688:\n  app_secret: VerySecret123\n  access_token: [unclosed\n", encoding="utf-8")

    from etl.errors import UsageError
    from etl.fetch import load_credentials

    with pytest.raises(UsageError) as caught:
        load_credentials(find_source(None, "product.get"), path)

    assert "VerySecret123" not in caught.value.render("zh") + caught.value.render("en")

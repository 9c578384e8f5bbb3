"""The fake Douyin and Taobao platforms and the fake 1688 image CDN, driven over HTTP.

The client side uses ``etl.signing``, and the fakes check signatures with their own code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import requests

from etl.signing import Credentials, SignedRequest, douyin_param_json, sign_douyin, sign_top, top_signature
from fakes.douyin import FakeDouyin
from fakes.image_cdn import FakeImageCdn, image_dimensions, image_format, jpeg_bytes, png_bytes
from fakes.taobao import FakeTaobao

TIMEOUT = 5.0

IMAGE_PATH = "/img/ibank/O1CN01abc_!!123-0-cib.jpg"

OFFER = "620000000001"

# 31 Chinese characters are 62 display columns, two over the 60 limit.
TITLE_62_WIDE = "夏" * 31
TITLE_60_WIDE = "夏" * 29 + "T1"


@pytest.fixture
def http():
    session = requests.Session()
    # Proxies from the environment must never see requests meant for 127.0.0.1.
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture
def cdn():
    with FakeImageCdn() as server:
        yield server


@pytest.fixture
def douyin():
    with FakeDouyin() as server:
        yield server


@pytest.fixture
def taobao():
    with FakeTaobao() as server:
        yield server


def send(http: requests.Session, request: SignedRequest, timeout: float = TIMEOUT) -> requests.Response:
    body = request.body if request.body is not None else dict(request.data)
    return http.request(request.method, request.url, params=dict(request.params), data=body, headers=dict(request.headers), files=dict(request.files) or None, timeout=timeout)


# -- Douyin helpers


def douyin_credentials(fake: FakeDouyin) -> Credentials:
    return Credentials(fake.app_key, fake.app_secret, fake.access_token)


def douyin_call(http: requests.Session, fake: FakeDouyin, method: str, params: dict, **sign_options) -> dict:
    credentials = sign_options.pop("credentials", None) or douyin_credentials(fake)
    request = sign_douyin(fake.url, method, params, credentials, **sign_options)
    response = send(http, request)
    assert response.status_code == 200
    return response.json()


def spec_rows(colors=("红色", "黑色"), sizes=("S", "M"), price=1890) -> str:
    rows = [
        {"spec_detail_name1": color, "spec_detail_name2": size, "spec_detail_name3": "", "price": price, "stock_num": 5, "code": "0123"}
        for color in colors
        for size in sizes
    ]
    return json.dumps(rows, ensure_ascii=False)


def douyin_product(fake: FakeDouyin, **overrides) -> dict:
    image = fake.issue_image(jpeg_bytes(800, 800))
    payload = {
        "outer_product_id": OFFER,
        "product_type": 0,
        "category_leaf_id": 20000,
        "name": "夏季纯棉T恤 男款",
        "pic": image,
        "description": image,
        "reduce_type": 1,
        "freight_id": 0,
        "commit": False,
        "specs": "颜色|红色,黑色^尺码|S,M",
        "spec_prices": spec_rows(),
    }
    payload.update(overrides)
    return {key: value for key, value in payload.items() if value is not None}


def assert_douyin_error(answer: dict, code: int, sub_code: str) -> None:
    assert answer["code"] == code, answer
    assert answer["sub_code"] == sub_code, answer
    assert answer["log_id"]


# -- Taobao helpers


def top_credentials(fake: FakeTaobao) -> Credentials:
    return Credentials(fake.app_key, fake.app_secret, fake.session)


def top_call(http: requests.Session, fake: FakeTaobao, method: str, params: dict, **sign_options) -> dict:
    credentials = sign_options.pop("credentials", None) or top_credentials(fake)
    request = sign_top(fake.gateway, method, params, credentials, **sign_options)
    response = send(http, request)
    assert response.status_code == 200
    return response.json()


def taobao_item(fake: FakeTaobao, **overrides) -> dict:
    picture = fake.add_picture(jpeg_bytes(800, 800))
    item = {
        "num": 5,
        "price": Decimal("19.90"),
        "type": "fixed",
        "stuff_status": "new",
        "title": "夏季纯棉T恤 男款",
        "desc": f'<p>纯棉面料<img src="{picture}"/></p>',
        "location.state": "浙江",
        "location.city": "杭州",
        "cid": 50000436,
        "approve_status": "instock",
        "outer_id": OFFER,
        "pic_path": picture,
        "sku_properties": "1627207:28341;20509:28314,1627207:28341;20509:28315",
        "sku_prices": "19.90,21.00",
        "sku_quantities": "2,3",
        "sku_outer_ids": ",",
    }
    item.update(overrides)
    return {key: value for key, value in item.items() if value is not None}


def top_error(answer: dict) -> dict:
    assert "error_response" in answer, answer
    return answer["error_response"]


# -- image bytes


def test_jpeg_bytes_header_and_size():
    body = jpeg_bytes(800, 600)

    assert image_format(body) == "jpeg"
    assert image_dimensions(body) == (800, 600)
    assert body.endswith(b"\xff\xd9")


def test_jpeg_bytes_smaller_image_smaller_body():
    assert len(jpeg_bytes(400, 400)) < len(jpeg_bytes(800, 800))


def test_jpeg_bytes_padded_to_min_size():
    body = jpeg_bytes(16, 16, min_size=4 * 1024 * 1024)

    assert len(body) >= 4 * 1024 * 1024
    assert image_dimensions(body) == (16, 16)


def test_png_bytes_chunks_valid():
    body = png_bytes(3, 2)
    position = 8
    kinds = []
    while position < len(body):
        length = struct.unpack(">I", body[position:position + 4])[0]
        kind = body[position + 4:position + 8]
        data = body[position + 8:position + 8 + length]
        crc = struct.unpack(">I", body[position + 8 + length:position + 12 + length])[0]
        assert crc == zlib.crc32(kind + data)
        kinds.append(kind)
        position += 12 + length

    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    assert image_dimensions(body) == (3, 2)
    assert len(zlib.decompress(body[41:41 + struct.unpack(">I", body[33:37])[0]])) == 2 * (1 + 3 * 3)


# -- image CDN


def test_cdn_serves_registered_jpeg(cdn, http):
    url = cdn.add_image(IMAGE_PATH)

    response = http.get(url, timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content == cdn.body_of(IMAGE_PATH)
    assert image_dimensions(response.content) == (800, 800)


def test_cdn_serves_png(cdn, http):
    url = cdn.add_image("/img/ibank/O1CN01png_!!1-0-cib.png", kind="png", width=640, height=640)

    response = http.get(url, timeout=TIMEOUT)

    assert response.headers["Content-Type"] == "image/png"
    assert image_format(response.content) == "png"


@pytest.mark.parametrize(
    ("suffix_path", "size"),
    [
        pytest.param(IMAGE_PATH + "_400x400.jpg", (400, 400), id="appended-400"),
        pytest.param(IMAGE_PATH + "_120x120.jpg", (120, 120), id="appended-120"),
        pytest.param("/img/ibank/O1CN01abc_!!123-0-cib.460x460xz.jpg", (460, 460), id="replaced-xz"),
    ],
)
def test_cdn_size_variant_smaller(cdn, http, suffix_path, size):
    cdn.add_image(IMAGE_PATH)

    response = http.get(cdn.url_for(suffix_path), timeout=TIMEOUT)

    assert response.status_code == 200
    assert image_dimensions(response.content) == size
    assert response.content != cdn.body_of(IMAGE_PATH)
    assert len(response.content) < len(cdn.body_of(IMAGE_PATH))


def test_cdn_variant_of_unknown_original_404(cdn, http):
    response = http.get(cdn.url_for(IMAGE_PATH + "_400x400.jpg"), timeout=TIMEOUT)

    assert response.status_code == 404


def test_cdn_oversize_image(cdn, http):
    url = cdn.add_image("/img/ibank/big.jpg", min_size=6 * 1024 * 1024)

    response = http.get(url, timeout=TIMEOUT)

    assert len(response.content) >= 6 * 1024 * 1024
    assert image_format(response.content) == "jpeg"


def test_cdn_wrong_content_type(cdn, http):
    url = cdn.add_body("/img/ibank/login.jpg", b"<html><body>login</body></html>", content_type="text/html;charset=UTF-8")

    response = http.get(url, timeout=TIMEOUT)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert image_format(response.content) is None


def test_cdn_unknown_path_404_counted(cdn, http):
    response = http.get(cdn.url_for("/img/ibank/missing.jpg"), timeout=TIMEOUT)

    assert response.status_code == 404
    assert cdn.hits["/img/ibank/missing.jpg"] == 1


def test_cdn_slow_response_times_out(cdn, http):
    url = cdn.add_image("/img/ibank/slow.jpg", delay=1.0)

    with pytest.raises(requests.Timeout):
        http.get(url, timeout=0.2)


@pytest.mark.parametrize(
    ("referer", "status"),
    [
        pytest.param(None, 200, id="none"),
        pytest.param("https://detail.1688.com/offer/620000000001.html", 200, id="1688-page"),
        pytest.param("https://shop.example.com/", 403, id="foreign"),
        pytest.param("https://evil1688.com/", 403, id="lookalike-host"),
    ],
)
def test_cdn_referer_check(cdn, http, referer, status):
    url = cdn.add_image(IMAGE_PATH)
    headers = {"Referer": referer} if referer else {}

    response = http.get(url, headers=headers, timeout=TIMEOUT)

    assert response.status_code == status


def test_cdn_referer_check_off(http):
    with FakeImageCdn(block_referer=False) as cdn:
        url = cdn.add_image(IMAGE_PATH)
        response = http.get(url, headers={"Referer": "https://shop.example.com/"}, timeout=TIMEOUT)

    assert response.status_code == 200


def test_cdn_counts_per_path(cdn, http):
    url = cdn.add_image(IMAGE_PATH)
    http.get(url, timeout=TIMEOUT)
    http.get(url, timeout=TIMEOUT)
    http.get(url + "_400x400.jpg", timeout=TIMEOUT)

    assert cdn.hits[IMAGE_PATH] == 2
    assert cdn.hits[IMAGE_PATH + "_400x400.jpg"] == 1
    assert [record.status for record in cdn.requests] == [200, 200, 200]


# -- Douyin: material center


def upload(http, fake: FakeDouyin, url: str, **params) -> dict:
    return douyin_call(http, fake, "material.uploadImageSync", {"folder_id": "0", "url": url, "material_name": "main.jpg", **params})


def test_douyin_upload_fetches_and_rehosts(cdn, douyin, http):
    source = cdn.add_image(IMAGE_PATH)

    answer = upload(http, douyin, source, need_distinct=True)
    data = answer["data"]
    served = http.get(data["byte_url"], timeout=TIMEOUT)

    assert answer["code"] == 10000
    assert answer["msg"] == "success"
    assert data["is_new"] is True
    assert data["audit_status"] == 3
    assert data["folder_id"] == "0"
    assert data["byte_url"].startswith(douyin.image_prefix)
    assert served.content == cdn.body_of(IMAGE_PATH)
    assert cdn.hits[IMAGE_PATH] == 1
    assert douyin.write_counts["material.uploadImageSync"] == 1


def test_douyin_upload_need_distinct_reuses(cdn, douyin, http):
    source = cdn.add_image(IMAGE_PATH)

    first = upload(http, douyin, source, need_distinct=True)["data"]
    second = upload(http, douyin, source, need_distinct=True)["data"]

    assert second["material_id"] == first["material_id"]
    assert second["is_new"] is False
    assert len(douyin.materials) == 1
    assert douyin.write_counts["material.uploadImageSync"] == 1


def test_douyin_upload_without_distinct_duplicates(cdn, douyin, http):
    source = cdn.add_image(IMAGE_PATH)

    first = upload(http, douyin, source)["data"]
    second = upload(http, douyin, source)["data"]

    assert second["material_id"] != first["material_id"]
    assert second["is_new"] is True


@pytest.mark.parametrize(
    ("register", "code", "sub_code"),
    [
        pytest.param(lambda cdn: cdn.add_body("/img/page.jpg", b"<html>login</html>", content_type="image/jpeg"), 40004, "isv.parameter-invalid:url", id="html-under-image-name"),
        pytest.param(lambda cdn: cdn.add_image("/img/big.jpg", min_size=5 * 1024 * 1024 + 1), 40004, "isv.parameter-invalid:url", id="over-5mb"),
        pytest.param(lambda cdn: cdn.url_for("/img/missing.jpg"), 50002, "isv.business-failed:download-failed", id="404"),
        pytest.param(lambda cdn: cdn.add_body("/img/anim.gif", b"GIF89a" + b"\x00" * 20, content_type="image/gif"), 40004, "isv.parameter-invalid:url", id="gif"),
    ],
)
def test_douyin_upload_rejects(cdn, douyin, http, register, code, sub_code):
    answer = upload(http, douyin, register(cdn))

    assert_douyin_error(answer, code, sub_code)
    assert douyin.materials == []
    assert douyin.write_counts["material.uploadImageSync"] == 0


def test_douyin_upload_slow_source_fails(cdn, http):
    with FakeDouyin(download_timeout=0.2) as douyin:
        answer = upload(http, douyin, cdn.add_image("/img/slow.jpg", delay=1.0))

    assert_douyin_error(answer, 50002, "isv.business-failed:download-failed")


def test_douyin_upload_only_local_urls(douyin, http):
    answer = upload(http, douyin, "https://cbu01.alicdn.com" + IMAGE_PATH)

    assert_douyin_error(answer, 40004, "fake.url-not-local")


def test_douyin_upload_material_name_limit(cdn, douyin, http):
    answer = upload(http, douyin, cdn.add_image(IMAGE_PATH), material_name="图" * 51)

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:material_name")


def test_douyin_audit_pending_then_passed(cdn, http):
    with FakeDouyin(audit_pending_queries=2) as douyin:
        uploaded = upload(http, douyin, cdn.add_image(IMAGE_PATH))["data"]
        query = {"material_id": uploaded["material_id"]}
        pending_url = douyin.materials[0].byte_url
        used_too_early = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=pending_url))
        answers = [douyin_call(http, douyin, "material.queryMaterialDetail", query)["data"]["material_info"] for _ in range(3)]

    assert uploaded["audit_status"] == 1
    assert uploaded["byte_url"] == ""
    assert_douyin_error(used_too_early, 40004, "isv.parameter-invalid:99")
    assert [info["audit_status"] for info in answers] == [1, 1, 3]
    assert [info["byte_url"] for info in answers[:2]] == ["", ""]
    assert answers[2]["byte_url"] == pending_url
    assert answers[2]["photo_info"] == {"width": 800, "height": 800, "format": "jpeg"}


def test_douyin_upload_without_byte_url(cdn, http):
    with FakeDouyin(upload_returns_byte_url=False) as douyin:
        uploaded = upload(http, douyin, cdn.add_image(IMAGE_PATH))["data"]
        info = douyin_call(http, douyin, "material.queryMaterialDetail", {"material_id": uploaded["material_id"]})["data"]["material_info"]

    assert uploaded["audit_status"] == 3
    assert uploaded["byte_url"] == ""
    assert info["byte_url"].endswith(".jpg")


def test_douyin_query_unknown_material(douyin, http):
    answer = douyin_call(http, douyin, "material.queryMaterialDetail", {"material_id": "1"})

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:material_id")


def test_douyin_unknown_image_404(douyin, http):
    response = http.get(douyin.image_prefix + "7000000000000000999.jpg", timeout=TIMEOUT)

    assert response.status_code == 404


# -- Douyin: products


def test_douyin_add_creates_draft(douyin, http):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))
    data = answer["data"]
    [product] = douyin.products_by_outer_id(OFFER)

    assert answer["code"] == 10000
    assert isinstance(data["product_id"], int)
    assert len(str(data["product_id"])) == 19
    assert data["outer_product_id"] == OFFER
    assert len(data["sku"]) == 4
    assert [sku["code"] for sku in data["sku"]] == ["0123"] * 4
    assert product.product_id == data["product_id"]
    assert product.is_draft
    assert product.check_status == 1
    assert douyin.write_counts["product.addV2"] == 1


def test_douyin_add_commit_submits(douyin, http):
    douyin_call(http, douyin, "product.addV2", douyin_product(douyin, commit=True))

    assert douyin.products[0].check_status == 2
    assert not douyin.products[0].is_draft


def test_douyin_second_add_duplicates(douyin, http):
    first = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]
    second = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]

    assert second["product_id"] != first["product_id"]
    assert len(douyin.products_by_outer_id(OFFER)) == 2
    assert douyin.duplicates() == {OFFER: 2}
    assert douyin.write_counts["product.addV2"] == 2


@pytest.mark.parametrize("as_text", [True, False], ids=["product-id-string", "product-id-number"])
def test_douyin_detail_by_product_id(douyin, http, as_text):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]["product_id"]

    answer = douyin_call(http, douyin, "product.detail", {"product_id": str(product_id) if as_text else product_id})
    data = answer["data"]

    assert data["product_id"] == product_id
    assert data["product_id_str"] == str(product_id)
    assert data["outer_product_id"] == OFFER
    assert data["check_status"] == 1
    assert len(data["spec_prices"]) == 4


def test_douyin_detail_by_out_product_id(douyin, http):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]["product_id"]

    data = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER, "show_draft": "true"})["data"]

    assert data["product_id"] == product_id
    assert data["name"] == "夏季纯棉T恤 男款"
    assert data["pic"] == [douyin.materials[0].byte_url]


def test_douyin_detail_out_id_not_found_exact(douyin, http):
    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": "629999999999"})

    assert answer["code"] == 40004
    assert answer["msg"] == "非法的参数"
    assert answer["sub_code"] == "isv.parameter-invalid:4"
    assert answer["sub_msg"] == "out_product_id未找到或商品已删除"


def test_douyin_detail_product_id_not_found(douyin, http):
    answer = douyin_call(http, douyin, "product.detail", {"product_id": "3600000000000009999"})

    assert answer["code"] == 40004
    assert answer["sub_code"] == "isv.parameter-invalid:2010058"
    assert answer["sub_msg"] == "商品不存在或已彻底删除"


def test_douyin_detail_deleted_like_missing(douyin, http):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]["product_id"]
    douyin.delete_product(product_id)

    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})

    assert answer["sub_code"] == "isv.parameter-invalid:4"
    assert answer["sub_msg"] == "out_product_id未找到或商品已删除"


def test_douyin_detail_ignores_outer_product_id(douyin, http):
    # product.detail has no outer_product_id request parameter. Its lookup key is out_product_id.
    douyin_call(http, douyin, "product.addV2", douyin_product(douyin))

    answer = douyin_call(http, douyin, "product.detail", {"outer_product_id": OFFER})

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:product_id")


def test_douyin_edit_updates_never_submitted(douyin, http):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]["product_id"]

    answer = douyin_call(http, douyin, "product.editV2", {"product_id": product_id, "commit": False, "name": "新款夏季T恤"})
    data = douyin_call(http, douyin, "product.detail", {"product_id": str(product_id)})["data"]

    assert answer["code"] == 10000
    assert answer["data"] == {}
    assert data["name"] == "新款夏季T恤"
    assert douyin.write_counts["product.editV2"] == 1


def test_douyin_edit_submitted_keeps_draft(douyin, http):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, commit=True))["data"]["product_id"]

    douyin_call(http, douyin, "product.editV2", {"product_id": product_id, "commit": False, "name": "草稿标题T恤"})
    online = douyin_call(http, douyin, "product.detail", {"product_id": str(product_id), "show_draft": "false"})["data"]
    draft = douyin_call(http, douyin, "product.detail", {"product_id": str(product_id), "show_draft": "true"})["data"]

    assert online["name"] == "夏季纯棉T恤 男款"
    assert draft["name"] == "草稿标题T恤"
    assert draft["draft_status"] == 1


@pytest.mark.parametrize(
    ("params", "sub_code"),
    [
        pytest.param({"commit": False}, "isv.parameter-invalid:product_id", id="no-product-id"),
        pytest.param({"product_id": 3600000000000009999, "commit": False}, "isv.parameter-invalid:2010058", id="unknown-product"),
        pytest.param({"product_id": "x1", "commit": False}, "isv.parameter-invalid:product_id", id="not-a-number"),
    ],
)
def test_douyin_edit_rejects(douyin, http, params, sub_code):
    answer = douyin_call(http, douyin, "product.editV2", params)

    assert_douyin_error(answer, 40004, sub_code)
    assert douyin.write_counts["product.editV2"] == 0


def test_douyin_edit_checks_merged_fields(douyin, http):
    product_id = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))["data"]["product_id"]

    answer = douyin_call(http, douyin, "product.editV2", {"product_id": product_id, "commit": False, "specs": "颜色|红色"})

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:spec_prices")


def test_douyin_name_at_limit_accepted(douyin, http):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, name=TITLE_60_WIDE))

    assert answer["code"] == 10000


def test_douyin_five_pictures_accepted(douyin, http):
    images = "|".join(douyin.issue_image(jpeg_bytes(600 + index, 600)) for index in range(5))

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=images))

    assert answer["code"] == 10000


@pytest.mark.parametrize(
    ("overrides", "sub_code"),
    [
        pytest.param({"name": TITLE_62_WIDE}, "isv.parameter-invalid:name", id="name-too-wide"),
        pytest.param({"name": "夏季T恤😀"}, "isv.parameter-invalid:name", id="name-emoji"),
        pytest.param({"outer_product_id": None}, "isv.parameter-invalid:outer_product_id", id="outer-id-missing"),
        pytest.param({"outer_product_id": ""}, "isv.parameter-invalid:outer_product_id", id="outer-id-empty"),
        pytest.param({"outer_product_id": 620000000001}, "isv.parameter-invalid:outer_product_id", id="outer-id-number"),
        pytest.param({"commit": "false"}, "isv.parameter-invalid:commit", id="commit-string"),
        pytest.param({"category_leaf_id": "20000"}, "isv.parameter-invalid:category_leaf_id", id="category-string"),
        pytest.param({"spec_prices": spec_rows(price=18.9)}, "isv.parameter-invalid:spec_prices", id="price-yuan-float"),
        pytest.param({"spec_prices": spec_rows(price="1890")}, "isv.parameter-invalid:spec_prices", id="price-string"),
        pytest.param({"spec_prices": spec_rows(price=0)}, "isv.parameter-invalid:spec_prices", id="price-zero"),
        pytest.param({"spec_prices": spec_rows(sizes=("S",))}, "isv.parameter-invalid:spec_prices", id="too-few-rows"),
        pytest.param({"spec_prices": spec_rows(colors=("红色", "蓝色"))}, "isv.parameter-invalid:spec_prices", id="value-not-in-specs"),
        pytest.param({"specs": "颜色|红色,黑色^尺码|S,S"}, "isv.parameter-invalid:specs", id="duplicate-spec-value"),
        pytest.param({"spec_prices": json.loads(spec_rows())}, "isv.parameter-invalid:spec_prices", id="spec-prices-not-string"),
        pytest.param({"spec_prices": "[{"}, "isv.parameter-invalid:spec_prices", id="spec-prices-bad-json"),
        pytest.param({"specs": "颜色|红色,黑色^尺码|S,M^款式|A^材质|B"}, "isv.parameter-invalid:specs", id="four-spec-levels"),
        pytest.param({"specs": "颜色红色,黑色"}, "isv.parameter-invalid:specs", id="specs-without-bar"),
        pytest.param({"market_price": Decimal("19.90")}, "isv.parameter-invalid:market_price", id="market-price-yuan"),
    ],
)
def test_douyin_add_limits(douyin, http, overrides, sub_code):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, **overrides))

    assert_douyin_error(answer, 40004, sub_code)
    assert douyin.products == []
    assert douyin.write_counts["product.addV2"] == 0


def test_douyin_duplicate_combination_rejected(douyin, http):
    rows = json.loads(spec_rows())
    rows[3] = dict(rows[0])

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, spec_prices=json.dumps(rows, ensure_ascii=False)))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:spec_prices")
    assert "重复" in answer["sub_msg"]


def test_douyin_six_pictures_rejected(douyin, http):
    images = "|".join(douyin.issue_image(jpeg_bytes(600 + index, 600)) for index in range(6))

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=images))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:pic")


def test_douyin_over_50_images_rejected(douyin, http):
    image = douyin.issue_image(jpeg_bytes(800, 800))

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=image, description="|".join([image] * 50)))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:pic")
    assert "51" in answer["sub_msg"]


@pytest.mark.parametrize("field_name", ["pic", "description", "spec_pic"])
def test_douyin_foreign_image_rejected(douyin, http, field_name):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, **{field_name: "https://cbu01.alicdn.com" + IMAGE_PATH}))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:99")
    assert field_name in answer["sub_msg"]


def test_douyin_own_host_unknown_image_rejected(douyin, http):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=douyin.image_prefix + "made-up.jpg"))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:99")


def test_douyin_spec_pic_count_limited(douyin, http):
    image = douyin.issue_image(jpeg_bytes(800, 800))

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, spec_pic=",".join([image] * 3)))

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:spec_pic")


def test_douyin_mobile_required_when_configured(http):
    with FakeDouyin(require_mobile=True) as douyin:
        missing = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))
        with_mobile = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, mobile="0571-88888888"))

    assert_douyin_error(missing, 40004, "isv.parameter-invalid:mobile")
    assert with_mobile["code"] == 10000


def test_douyin_product_limit(http):
    with FakeDouyin(product_limit=1) as douyin:
        douyin_call(http, douyin, "product.addV2", douyin_product(douyin))
        answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, outer_product_id="620000000002"))

    assert_douyin_error(answer, 50002, "isv.business-failed:2010063")


def test_douyin_decimal_and_chinese_body_accepted(douyin, http):
    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, weight=Decimal("0.250"), weight_unit=0, name="纯棉 T恤/短袖 <新款>"))

    assert answer["code"] == 10000
    assert douyin.calls[-1].params["weight"] == Decimal("0.250")
    assert douyin.calls[-1].params["name"] == "纯棉 T恤/短袖 <新款>"


# -- Douyin: gateway checks


def douyin_raw(http, fake: FakeDouyin, method: str, query: dict, body: bytes, headers: dict | None = None) -> dict:
    request_headers = {"Content-Type": "application/json", "x-open-no-old-err-code": "1"} if headers is None else headers
    response = http.post(fake.url + "/" + method.replace(".", "/"), params=query, data=body, headers=request_headers, timeout=TIMEOUT)
    return response.json()


def douyin_query(fake: FakeDouyin, method: str, timestamp: str, sign: str, sign_method: str = "hmac-sha256") -> dict:
    return {"app_key": fake.app_key, "method": method, "timestamp": timestamp, "v": "2", "sign": sign, "sign_method": sign_method, "access_token": fake.access_token}


def test_douyin_wrong_secret_rejected(douyin, http):
    credentials = Credentials(douyin.app_key, "not-the-secret", douyin.access_token)

    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=credentials)

    assert_douyin_error(answer, 40003, "isv.signature-invalid")


def test_douyin_body_changed_after_signing(douyin, http):
    request = sign_douyin(douyin.url, "product.detail", {"out_product_id": OFFER}, douyin_credentials(douyin))
    tampered = SignedRequest(request.method, request.url, request.params, body=request.body.replace(OFFER.encode(), b"629999999999"), headers=request.headers)

    answer = send(http, tampered).json()

    assert_douyin_error(answer, 40003, "isv.signature-invalid")


@pytest.mark.parametrize(
    "param_json",
    [
        pytest.param('{"show_draft":"true","out_product_id":"620000000001"}', id="keys-unsorted"),
        pytest.param('{"out_product_id": "620000000001"}', id="space-after-colon"),
        pytest.param('{"out_product_id":"620000000001"}\n', id="trailing-newline"),
    ],
)
def test_douyin_non_canonical_body_rejected(douyin, http, param_json):
    # The signature matches the text sent, but that text is not what the platform signs.
    timestamp = str(int(time.time()))
    pattern = f"{douyin.app_secret}app_key{douyin.app_key}methodproduct.detailparam_json{param_json}timestamp{timestamp}v2{douyin.app_secret}"
    sign = hmac.new(douyin.app_secret.encode(), pattern.encode(), hashlib.sha256).hexdigest()

    answer = douyin_raw(http, douyin, "product.detail", douyin_query(douyin, "product.detail", timestamp, sign), param_json.encode())

    assert_douyin_error(answer, 40003, "isv.signature-invalid")


def test_douyin_md5_sign_method_accepted(douyin, http):
    param_json = douyin_param_json({"out_product_id": OFFER})
    timestamp = str(int(time.time()))
    pattern = f"{douyin.app_secret}app_key{douyin.app_key}methodproduct.detailparam_json{param_json}timestamp{timestamp}v2{douyin.app_secret}"
    sign = hashlib.md5(pattern.encode()).hexdigest()

    answer = douyin_raw(http, douyin, "product.detail", douyin_query(douyin, "product.detail", timestamp, sign, "md5"), param_json.encode())

    assert_douyin_error(answer, 40004, "isv.parameter-invalid:4")


@pytest.mark.parametrize("offset", [-601, 601], ids=["behind", "ahead"])
def test_douyin_stale_timestamp_rejected(douyin, http, offset):
    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, now=lambda: time.time() + offset)

    assert_douyin_error(answer, 40003, "fake.timestamp-invalid")


def test_douyin_timestamp_within_skew_accepted(douyin, http):
    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, now=lambda: time.time() - 590)

    assert answer["sub_code"] == "isv.parameter-invalid:4"


def test_douyin_fake_clock_moves(http):
    with FakeDouyin(clock=lambda: 1_700_000_000) as douyin:
        stale = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})
        fresh = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, now=lambda: 1_700_000_000)

    assert stale["sub_code"] == "fake.timestamp-invalid"
    assert fresh["sub_code"] == "isv.parameter-invalid:4"


def test_douyin_wrong_app_key_rejected(douyin, http):
    credentials = Credentials("other-app", douyin.app_secret, douyin.access_token)

    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=credentials)

    assert_douyin_error(answer, 40003, "fake.app-key-invalid")


def test_douyin_method_must_match_path(douyin, http):
    request = sign_douyin(douyin.url, "product.detail", {"out_product_id": OFFER}, douyin_credentials(douyin))
    moved = SignedRequest(request.method, douyin.url + "/product/addV2", request.params, body=request.body, headers=request.headers)

    answer = send(http, moved).json()

    assert_douyin_error(answer, 40003, "fake.method-mismatch")


def test_douyin_header_required(douyin, http):
    request = sign_douyin(douyin.url, "product.detail", {"out_product_id": OFFER}, douyin_credentials(douyin))

    answer = douyin_raw(http, douyin, "product.detail", dict(request.params), request.body, headers={"Content-Type": "application/json"})

    assert_douyin_error(answer, 40001, "fake.missing-parameter:x-open-no-old-err-code")


def test_douyin_unknown_token_rejected(douyin, http):
    credentials = Credentials(douyin.app_key, douyin.app_secret, "someone-elses-token")

    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=credentials)

    assert_douyin_error(answer, 40003, "isv.access-token-no-existed")


def test_douyin_expired_token_then_new(douyin, http):
    old = douyin_credentials(douyin)
    douyin.expire_access_token()
    douyin.access_token = "fresh-token"

    expired = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=old)
    renewed = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})

    assert_douyin_error(expired, 40003, "isv.access-token-expired")
    assert renewed["sub_code"] == "isv.parameter-invalid:4"


def test_douyin_missing_token_rejected(douyin, http):
    credentials = Credentials(douyin.app_key, douyin.app_secret)

    answer = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=credentials)

    assert_douyin_error(answer, 40001, "fake.missing-parameter:access_token")


def test_douyin_unknown_path_404(douyin, http):
    response = http.post(douyin.url + "/product/listV2", data=b"{}", timeout=TIMEOUT)

    assert response.status_code == 404


def test_douyin_get_rejected(douyin, http):
    response = http.get(douyin.url + "/product/detail", timeout=TIMEOUT)

    assert response.status_code == 405


# -- Douyin: test controls


def test_douyin_rate_limit(http):
    with FakeDouyin(rate_limit=4, burst=1) as douyin:
        first = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})
        second = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})
        time.sleep(0.3)
        third = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})

    assert first["sub_code"] == "isv.parameter-invalid:4"
    assert_douyin_error(second, 60000, "isp.traffic-limited")
    assert third["sub_code"] == "isv.parameter-invalid:4"
    assert [record.outcome for record in douyin.calls] == ["error", "rate_limited", "error"]


def test_douyin_fail_next(douyin, http):
    douyin.fail_next("product.addV2", 20000, count=2)

    answers = [douyin_call(http, douyin, "product.addV2", douyin_product(douyin)) for _ in range(3)]

    assert [answer["code"] for answer in answers] == [20000, 20000, 10000]
    assert answers[0]["sub_code"] == "isp.service-error"
    assert len(douyin.products) == 1
    assert [record.outcome for record in douyin.calls_to("product.addV2")] == ["injected", "injected", "ok"]


def test_douyin_fail_next_custom_sub_code(douyin, http):
    douyin.fail_next("product.addV2", 50002, "isv.business-failed:2010326", sub_msg="店铺被处罚")

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))

    assert_douyin_error(answer, 50002, "isv.business-failed:2010326")
    assert answer["sub_msg"] == "店铺被处罚"
    assert answer["msg"] == "业务处理失败"


def test_douyin_fail_next_other_method_untouched(douyin, http):
    douyin.fail_next("product.editV2", 20000)

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin))

    assert answer["code"] == 10000


def test_douyin_fail_next_bad_signature_keeps_it(douyin, http):
    douyin.fail_next("product.detail", 20000)
    credentials = Credentials(douyin.app_key, "wrong", douyin.access_token)

    rejected = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=credentials)
    injected = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})

    assert rejected["sub_code"] == "isv.signature-invalid"
    assert injected["code"] == 20000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda fake: fake.fail_next("product.add", 20000), "unknown method", id="unknown-method"),
        pytest.param(lambda fake: fake.fail_next("product.addV2", 20000, count=0), "count", id="zero-count"),
        pytest.param(lambda fake: fake.drop_after_accept("product.detail"), "no side effect", id="drop-read"),
        pytest.param(lambda fake: fake.set_fault_rate(1.5), "probability", id="rate-over-one"),
        pytest.param(lambda fake: fake.set_rate_limit(0), "calls per second", id="zero-rate-limit"),
    ],
)
def test_douyin_controls_validate(douyin, call, message):
    with pytest.raises(ValueError, match=message):
        call(douyin)


def fault_pattern(http, seed: int) -> list[int]:
    with FakeDouyin(fault_rate=0.5, seed=seed) as douyin:
        return [douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})["code"] for _ in range(12)]


def test_douyin_fault_rate_seeded(http):
    first = fault_pattern(http, 7)
    second = fault_pattern(http, 7)

    assert first == second
    assert 20000 in first
    assert 40004 in first


def test_douyin_fault_rate_one_fails_all(douyin, http):
    douyin.set_fault_rate(1.0)

    answers = [douyin_call(http, douyin, "product.addV2", douyin_product(douyin)) for _ in range(3)]

    assert [answer["sub_code"] for answer in answers] == ["isp.service-error"] * 3
    assert douyin.products == []


def test_douyin_drop_after_accept(douyin, http):
    douyin.drop_after_accept("product.addV2")
    request = sign_douyin(douyin.url, "product.addV2", douyin_product(douyin), douyin_credentials(douyin))

    with pytest.raises(requests.ConnectionError):
        send(http, request)
    found = douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})

    assert len(douyin.products_by_outer_id(OFFER)) == 1
    assert douyin.write_counts["product.addV2"] == 1
    assert douyin.calls_to("product.addV2")[0].outcome == "dropped"
    assert found["data"]["outer_product_id"] == OFFER


def test_douyin_latency(http):
    with FakeDouyin(latency=0.3) as douyin:
        started = time.monotonic()
        douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER})
        elapsed = time.monotonic() - started

    assert elapsed >= 0.3


def test_douyin_call_log_has_no_secrets(douyin, http):
    douyin_call(http, douyin, "product.addV2", douyin_product(douyin))
    douyin_call(http, douyin, "product.detail", {"out_product_id": OFFER}, credentials=Credentials(douyin.app_key, "wrong", douyin.access_token))

    logged = repr(douyin.calls)

    assert douyin.access_token not in logged
    assert douyin.app_secret not in logged
    assert douyin.calls[0].method == "product.addV2"
    assert douyin.calls[0].params["outer_product_id"] == OFFER


def test_douyin_max_requests_in_window():
    def detail(fake: FakeDouyin) -> dict:
        with requests.Session() as session:
            session.trust_env = False
            return douyin_call(session, fake, "product.detail", {"out_product_id": OFFER})

    with FakeDouyin() as douyin:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: detail(douyin), range(4)))

    assert douyin.max_requests_in_window(5.0) == 4


# -- Taobao: picture space


def picture_upload(http, fake: FakeTaobao, body: bytes, **params) -> dict:
    return top_call(http, fake, "taobao.picture.upload", {"picture_category_id": 0, "image_input_title": "主图.jpg", "img": body, **params})


def test_taobao_picture_upload(taobao, http):
    body = jpeg_bytes(800, 800)

    answer = picture_upload(http, taobao, body)
    picture = answer["picture_upload_response"]["picture"]
    served = http.get(picture["picture_path"], timeout=TIMEOUT)

    assert answer["picture_upload_response"]["request_id"]
    assert picture["picture_path"].startswith(taobao.image_prefix)
    assert picture["pixel"] == "800x800"
    assert served.content == body
    assert taobao.write_counts["taobao.picture.upload"] == 1


@pytest.mark.parametrize(
    ("body", "sub_code"),
    [
        pytest.param(jpeg_bytes(16, 16, min_size=3 * 1024 * 1024 + 1), "isv.invalid-parameter:img", id="over-3mb"),
        pytest.param(b"<html>not an image</html>", "isv.invalid-parameter:img", id="html"),
    ],
)
def test_taobao_picture_upload_rejects(taobao, http, body, sub_code):
    error = top_error(picture_upload(http, taobao, body))

    assert error["code"] == 15
    assert error["sub_code"] == sub_code
    assert taobao.pictures == []


def test_taobao_picture_upload_at_3mb_accepted(taobao, http):
    answer = picture_upload(http, taobao, jpeg_bytes(16, 16, min_size=3 * 1024 * 1024 - 8))

    assert "picture_upload_response" in answer


def test_taobao_picture_upload_needs_img(taobao, http):
    error = top_error(top_call(http, taobao, "taobao.picture.upload", {"picture_category_id": 0, "image_input_title": "a.jpg"}))

    assert error["code"] == 40
    assert error["msg"] == "Missing required arguments:img"


# -- Taobao: items


@pytest.mark.parametrize("sign_method", ["md5", "hmac"])
def test_taobao_item_add(taobao, http, sign_method):
    answer = top_call(http, taobao, "taobao.item.add", taobao_item(taobao), sign_method=sign_method)
    item = answer["item_add_response"]["item"]
    [stored] = taobao.items_by_outer_id(OFFER)

    assert isinstance(item["num_iid"], int)
    assert item["created"] == stored.created
    assert answer["item_add_response"]["request_id"]
    assert stored.num_iid == item["num_iid"]
    assert stored.in_warehouse
    assert stored.fields["price"] == "19.90"


def test_taobao_item_add_onsale_by_default(taobao, http):
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao, approve_status=None))

    assert taobao.items[0].approve_status == "onsale"
    assert not taobao.items[0].in_warehouse


def test_taobao_item_add_without_skus(taobao, http):
    answer = top_call(http, taobao, "taobao.item.add", taobao_item(taobao, sku_properties=None, sku_prices=None, sku_quantities=None, sku_outer_ids=None))

    assert "item_add_response" in answer


def test_taobao_second_add_duplicates(taobao, http):
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao))
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao))

    assert taobao.duplicates() == {OFFER: 2}
    assert taobao.write_counts["taobao.item.add"] == 2


def test_taobao_custom_get_finds_items(taobao, http):
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao))
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao, outer_id="620000000002"))

    answer = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": f"{OFFER},620000000002,629999999999", "fields": "num_iid,outer_id,approve_status"})
    items = answer["items_custom_get_response"]["items"]["item"]

    assert [item["outer_id"] for item in items] == [OFFER, "620000000002"]
    assert set(items[0]) == {"num_iid", "outer_id", "approve_status"}
    assert items[0]["approve_status"] == "instock"


def test_taobao_custom_get_no_match_shape(taobao, http):
    answer = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": "629999999999", "fields": "num_iid"})

    assert list(answer) == ["items_custom_get_response"]
    assert list(answer["items_custom_get_response"]) == ["request_id"]


def test_taobao_custom_get_skips_deleted(taobao, http):
    num_iid = top_call(http, taobao, "taobao.item.add", taobao_item(taobao))["item_add_response"]["item"]["num_iid"]
    taobao.delete_item(num_iid)

    answer = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})

    assert "items" not in answer["items_custom_get_response"]


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        pytest.param({"fields": "num_iid"}, 40, "Missing required arguments:outer_id", id="no-outer-id"),
        pytest.param({"outer_id": OFFER}, 40, "Missing required arguments:fields", id="no-fields"),
        pytest.param({"outer_id": ",".join(str(620000000000 + index) for index in range(41)), "fields": "num_iid"}, 41, "Invalid arguments:outer_id", id="41-ids"),
    ],
)
def test_taobao_custom_get_rejects(taobao, http, params, code, message):
    error = top_error(top_call(http, taobao, "taobao.items.custom.get", params))

    assert error["code"] == code
    assert error["msg"] == message


def test_taobao_custom_get_40_ids_accepted(taobao, http):
    outer_ids = ",".join(str(620000000000 + index) for index in range(40))

    answer = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": outer_ids, "fields": "num_iid"})

    assert "items_custom_get_response" in answer


def test_taobao_item_update(taobao, http):
    num_iid = top_call(http, taobao, "taobao.item.add", taobao_item(taobao))["item_add_response"]["item"]["num_iid"]

    answer = top_call(http, taobao, "taobao.item.update", {"num_iid": num_iid, "title": "新款夏季T恤"})

    assert answer["item_update_response"]["item"]["num_iid"] == num_iid
    assert taobao.items[0].fields["title"] == "新款夏季T恤"
    assert taobao.write_counts["taobao.item.update"] == 1


@pytest.mark.parametrize(
    ("params", "code", "sub_code"),
    [
        pytest.param({"title": "新标题"}, 40, None, id="no-num-iid"),
        pytest.param({"num_iid": 799999999999, "title": "新标题"}, 15, "isv.item-not-exist", id="unknown-item"),
        pytest.param({"num_iid": "abc"}, 41, "isv.invalid-parameter:num_iid", id="not-a-number"),
    ],
)
def test_taobao_item_update_rejects(taobao, http, params, code, sub_code):
    error = top_error(top_call(http, taobao, "taobao.item.update", params))

    assert error["code"] == code
    assert error.get("sub_code") == sub_code


def test_taobao_item_update_checks_merged(taobao, http):
    num_iid = top_call(http, taobao, "taobao.item.add", taobao_item(taobao))["item_add_response"]["item"]["num_iid"]

    error = top_error(top_call(http, taobao, "taobao.item.update", {"num_iid": num_iid, "num": 9}))

    assert error["sub_code"] == "isv.invalid-parameter:num"
    assert taobao.items[0].fields["num"] == "5"


def test_taobao_title_at_limit_accepted(taobao, http):
    answer = top_call(http, taobao, "taobao.item.add", taobao_item(taobao, title=TITLE_60_WIDE))

    assert "item_add_response" in answer


@pytest.mark.parametrize(
    ("overrides", "code", "sub_code"),
    [
        pytest.param({"title": TITLE_62_WIDE}, 15, "isv.invalid-parameter:title", id="title-too-wide"),
        pytest.param({"price": "19.999"}, 41, "isv.invalid-parameter:price", id="price-three-decimals"),
        pytest.param({"price": "19.9x"}, 41, "isv.invalid-parameter:price", id="price-not-number"),
        pytest.param({"price": Decimal("25.00")}, 15, "isv.invalid-parameter:price", id="price-above-sku-range"),
        pytest.param({"price": Decimal("9.90")}, 15, "isv.invalid-parameter:price", id="price-below-sku-range"),
        pytest.param({"num": 6}, 15, "isv.invalid-parameter:num", id="num-not-sku-sum"),
        pytest.param({"num": "5.0"}, 41, "isv.invalid-parameter:num", id="num-not-integer"),
        pytest.param({"sku_prices": "19.90"}, 15, "isv.invalid-parameter:sku_properties", id="sku-lists-misaligned"),
        pytest.param({"sku_outer_ids": ",,"}, 15, "isv.invalid-parameter:sku_properties", id="sku-outer-ids-misaligned"),
        pytest.param({"sku_quantities": None}, 15, "isv.invalid-parameter:sku_quantities", id="sku-quantities-missing"),
        pytest.param({"sku_prices": "19.90,abc"}, 15, "isv.invalid-parameter:sku_prices", id="sku-price-not-number"),
        pytest.param({"sku_properties": "1627207:28341,1627207:28341"}, 15, "isv.invalid-parameter:sku_properties", id="sku-duplicate"),
        pytest.param({"desc": "短"}, 15, "isv.invalid-parameter:desc", id="desc-too-short"),
        pytest.param({"desc": '<p>详情<img src="https://img.alicdn.com/imgextra/x.jpg"></p>'}, 15, "isv.invalid-parameter:desc", id="desc-foreign-image"),
        pytest.param({"desc": '<p>详情<img data-src="https://cbu01.alicdn.com/x.jpg"></p>'}, 15, "isv.invalid-parameter:desc", id="desc-lazy-foreign-image"),
        pytest.param({"desc": '<div style="background:url(https://cbu01.alicdn.com/x.jpg)">详情文字</div>'}, 15, "isv.invalid-parameter:desc", id="desc-css-foreign-image"),
        pytest.param({"pic_path": "https://cbu01.alicdn.com" + IMAGE_PATH}, 15, "isv.invalid-parameter:pic_path", id="pic-path-foreign"),
        pytest.param({"outer_id": "x" * 513}, 15, "isv.invalid-parameter:outer_id", id="outer-id-over-512-bytes"),
        pytest.param({"type": "sale"}, 41, "isv.invalid-parameter:type", id="type-unknown"),
        pytest.param({"approve_status": "draft"}, 41, "isv.invalid-parameter:approve_status", id="approve-status-unknown"),
    ],
)
def test_taobao_item_limits(taobao, http, overrides, code, sub_code):
    error = top_error(top_call(http, taobao, "taobao.item.add", taobao_item(taobao, **overrides)))

    assert error["code"] == code
    assert error["sub_code"] == sub_code
    assert taobao.items == []


@pytest.mark.parametrize("field_name", ["outer_id", "title", "desc", "cid", "location.city"])
def test_taobao_item_required(taobao, http, field_name):
    error = top_error(top_call(http, taobao, "taobao.item.add", taobao_item(taobao, **{field_name: None})))

    assert error["code"] == 40
    assert error["msg"] == f"Missing required arguments:{field_name}"


def test_taobao_item_image_file_limit(taobao, http):
    item = taobao_item(taobao, image=jpeg_bytes(16, 16, min_size=500 * 1024 + 1))

    error = top_error(top_call(http, taobao, "taobao.item.add", item))

    assert error["sub_code"] == "isv.invalid-parameter:image"


def test_taobao_item_image_file_accepted(taobao, http):
    answer = top_call(http, taobao, "taobao.item.add", taobao_item(taobao, image=jpeg_bytes(400, 400)))

    assert "item_add_response" in answer
    assert image_format(taobao.items[0].image) == "jpeg"


# -- Taobao: router checks


def test_taobao_wrong_secret_rejected(taobao, http):
    credentials = Credentials(taobao.app_key, "not-the-secret", taobao.session)

    error = top_error(top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"}, credentials=credentials))

    assert error["code"] == 25
    assert error["msg"] == "Invalid signature"


def test_taobao_param_changed_after_signing(taobao, http):
    request = sign_top(taobao.gateway, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"}, top_credentials(taobao))
    tampered = SignedRequest(request.method, request.url, data={**request.data, "outer_id": "629999999999"})

    error = top_error(send(http, tampered).json())

    assert error["code"] == 25


def test_taobao_hmac_signature_as_md5_rejected(taobao, http):
    request = sign_top(taobao.gateway, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"}, top_credentials(taobao), sign_method="hmac")
    relabelled = SignedRequest(request.method, request.url, data={**request.data, "sign_method": "md5"})

    error = top_error(send(http, relabelled).json())

    assert error["code"] == 25


def test_taobao_unsupported_sign_method(taobao, http):
    data = {"method": "taobao.items.custom.get", "app_key": taobao.app_key, "session": taobao.session, "timestamp": top_now(), "format": "json", "v": "2.0", "sign_method": "hmac-sha256", "outer_id": OFFER, "fields": "num_iid", "sign": "00"}

    error = top_error(http.post(taobao.gateway, data=data, timeout=TIMEOUT).json())

    assert error["code"] == 25
    assert error["sub_code"] == "fake.sign-method-unsupported"


def test_taobao_query_string_parameters_accepted(taobao, http):
    request = sign_top(taobao.gateway, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"}, top_credentials(taobao))

    answer = http.get(taobao.gateway, params=dict(request.data), timeout=TIMEOUT).json()

    assert "items_custom_get_response" in answer


def top_now(offset: float = 0) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 8 * 3600 + offset))


def hand_signed(fake: FakeTaobao, timestamp: str) -> dict:
    data = {"method": "taobao.items.custom.get", "app_key": fake.app_key, "session": fake.session, "timestamp": timestamp, "format": "json", "v": "2.0", "sign_method": "md5", "outer_id": OFFER, "fields": "num_iid"}
    data["sign"] = top_signature(data, fake.app_secret, "md5")
    return data


@pytest.mark.parametrize("offset", [-601, 601], ids=["behind", "ahead"])
def test_taobao_stale_timestamp_rejected(taobao, http, offset):
    error = top_error(http.post(taobao.gateway, data=hand_signed(taobao, top_now(offset)), timeout=TIMEOUT).json())

    assert error["code"] == 31
    assert error["msg"] == "Invalid timestamp"


def test_taobao_timestamp_within_skew_accepted(taobao, http):
    answer = http.post(taobao.gateway, data=hand_signed(taobao, top_now(-590)), timeout=TIMEOUT).json()

    assert "items_custom_get_response" in answer


def test_taobao_utc_timestamp_rejected(taobao, http):
    # A client that formats UTC instead of UTC+8 is eight hours behind.
    utc_text = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())

    error = top_error(http.post(taobao.gateway, data=hand_signed(taobao, utc_text), timeout=TIMEOUT).json())

    assert error["code"] == 31


def test_taobao_malformed_timestamp_rejected(taobao, http):
    error = top_error(http.post(taobao.gateway, data=hand_signed(taobao, str(int(time.time()))), timeout=TIMEOUT).json())

    assert error["code"] == 31


@pytest.fixture
def new_york_time(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_taobao_client_in_other_zone_accepted(new_york_time, taobao, http):
    local_text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())

    answer = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})
    local_error = top_error(http.post(taobao.gateway, data=hand_signed(taobao, local_text), timeout=TIMEOUT).json())

    assert "items_custom_get_response" in answer
    assert local_error["code"] == 31


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"method": None}, 21, id="method-missing"),
        pytest.param({"method": "taobao.item.get"}, 22, id="method-unknown"),
        pytest.param({"format": "xml"}, 23, id="format-xml"),
        pytest.param({"app_key": None}, 28, id="app-key-missing"),
        pytest.param({"app_key": "other"}, 29, id="app-key-wrong"),
        pytest.param({"timestamp": None}, 30, id="timestamp-missing"),
        pytest.param({"v": None}, 32, id="version-missing"),
        pytest.param({"v": "two"}, 33, id="version-invalid"),
        pytest.param({"v": "1.0"}, 34, id="version-unsupported"),
        pytest.param({"sign": None}, 24, id="sign-missing"),
        pytest.param({"session": None}, 26, id="session-missing"),
        pytest.param({"session": "other"}, 27, id="session-wrong"),
    ],
)
def test_taobao_router_checks(taobao, http, change, code):
    data = {"method": "taobao.items.custom.get", "app_key": taobao.app_key, "session": taobao.session, "timestamp": top_now(), "format": "json", "v": "2.0", "sign_method": "md5", "outer_id": OFFER, "fields": "num_iid"}
    for name, value in change.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    if "sign" not in change:
        data["sign"] = top_signature(data, taobao.app_secret, "md5")

    error = top_error(http.post(taobao.gateway, data=data, timeout=TIMEOUT).json())

    assert error["code"] == code


def test_taobao_expired_session(taobao, http):
    old = top_credentials(taobao)
    taobao.expire_session()
    taobao.session = "fresh-session"

    expired = top_error(top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"}, credentials=old))
    renewed = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})

    assert expired["code"] == 27
    assert expired["sub_code"] == "invalid-sessionkey"
    assert "items_custom_get_response" in renewed


def test_taobao_unknown_path_404(taobao, http):
    response = http.post(taobao.url + "/router/json", data={"a": "1"}, timeout=TIMEOUT)

    assert response.status_code == 404


# -- Taobao: test controls


def test_taobao_rate_limit(http):
    with FakeTaobao(rate_limit=4, burst=1) as taobao:
        first = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})
        second = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})

    error = top_error(second)
    assert "items_custom_get_response" in first
    assert error["code"] == 7
    assert error["msg"] == "App Call Limited"
    assert error["sub_code"] == "accesscontrol.limited-by-app-access-count"
    assert taobao.calls[1].outcome == "rate_limited"


def test_taobao_fail_next(taobao, http):
    taobao.fail_next("taobao.item.add", 15, count=1)

    failed = top_error(top_call(http, taobao, "taobao.item.add", taobao_item(taobao)))
    passed = top_call(http, taobao, "taobao.item.add", taobao_item(taobao))

    assert failed["code"] == 15
    assert failed["sub_code"] == "isp.remote-service-error"
    assert "item_add_response" in passed
    assert len(taobao.items) == 1


def test_taobao_fault_rate_one(taobao, http):
    taobao.set_fault_rate(1.0, seed=3)

    error = top_error(top_call(http, taobao, "taobao.item.add", taobao_item(taobao)))

    assert error["code"] == 15
    assert error["sub_code"].startswith("isp.")
    assert taobao.items == []


def test_taobao_drop_after_accept(taobao, http):
    taobao.drop_after_accept("taobao.item.add")
    request = sign_top(taobao.gateway, "taobao.item.add", taobao_item(taobao), top_credentials(taobao))

    with pytest.raises(requests.ConnectionError):
        send(http, request)
    found = top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})

    assert len(taobao.items_by_outer_id(OFFER)) == 1
    assert taobao.calls_to("taobao.item.add")[0].outcome == "dropped"
    assert len(found["items_custom_get_response"]["items"]["item"]) == 1


def test_taobao_call_log_has_no_secrets(taobao, http):
    picture_upload(http, taobao, jpeg_bytes(64, 64))
    top_call(http, taobao, "taobao.item.add", taobao_item(taobao))

    logged = repr(taobao.calls)

    assert taobao.session not in logged
    assert taobao.app_secret not in logged
    assert "sign" not in taobao.calls[1].params
    assert taobao.calls[0].params["img"].startswith("<file, ")
    assert taobao.calls[1].params["outer_id"] == OFFER


def test_taobao_latency(http):
    with FakeTaobao(latency=0.3) as taobao:
        started = time.monotonic()
        top_call(http, taobao, "taobao.items.custom.get", {"outer_id": OFFER, "fields": "num_iid"})
        elapsed = time.monotonic() - started

    assert elapsed >= 0.3


# -- end to end: 1688 image → platform image host → product


def test_douyin_rehost_then_publish(cdn, douyin, http):
    source = cdn.add_image(IMAGE_PATH)
    byte_url = upload(http, douyin, source, need_distinct=True)["data"]["byte_url"]

    answer = douyin_call(http, douyin, "product.addV2", douyin_product(douyin, pic=byte_url, description=byte_url, spec_pic=byte_url))

    assert answer["code"] == 10000
    assert douyin.write_counts == {"material.uploadImageSync": 1, "product.addV2": 1}


def test_taobao_rehost_then_publish(cdn, taobao, http):
    source_body = http.get(cdn.add_image(IMAGE_PATH), timeout=TIMEOUT).content
    picture_path = picture_upload(http, taobao, source_body)["picture_upload_response"]["picture"]["picture_path"]

    answer = top_call(http, taobao, "taobao.item.add", taobao_item(taobao, pic_path=picture_path, desc=f'<p>详情<img src="{picture_path}"></p>'))

    assert "item_add_response" in answer
    assert taobao.items[0].fields["pic_path"] == picture_path

"""Compiled JMESPath paths and the one-pass extraction agree with jmespath's interpreter and the two-pass extraction."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import urljoin

import jmespath
import pytest

from benchmarks.generate import OfferGenerator
from etl import jmespath_functions, jsonio
from etl.errors import OfferError
from etl.extract import Profile, coerce_record, load_profile
from etl.jmespath_functions import OPTIONS, ProfileFunctions, compile_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
PROFILES_DIR = ROOT / "rules" / "profiles"

DOCUMENTS = [
    {"a": "x", "b": "y", "n": Decimal("1.5"), "z": 0, "f": False, "e": "", "l": [], "o": {},
     "items": [{"k": 1, "v": "p"}, {"k": 2, "v": None}, {"k": "3"}, "text", [5, 6]],
     "nested": {"deep": {"list": [[1, 2], [3], 4], "name": "n"}}, "img": "img/ibank/a_!!1-0-cib.jpg", "csv": "a,b,,c"},
    {"items": "not a list", "nested": [1, 2], "a": None, "b": 7},
    [{"a": 1}, {"a": 2}],
    "text",
    None,
]

EXPRESSIONS = [
    "a", "missing", "a || b", "e || b", "f || b", "z || b", "l || b", "o || b", "missing || `null`", "a && b", "e && b", "!a", "!z", "!e",
    "nested.deep.name", "nested.deep.missing.more", "a.b", "items[0].k", "items[-1]", "items[9]", "items[1:3]", "items[::-1]",
    "items[].k", "items[*].v", "items[].v || `[]`", "nested.deep.list[]", "nested.deep.list[][]", "items[?k > `1`].v",
    "items[?v == 'p']", "items[?k]", "*.deep", "{first: a, second: b}", "[a, b, missing]", "items[].{key: k, value: to_string(k)}",
    "length(items)", "length(n)", "to_string(n)", "to_decimal(n)", "to_decimal('1.20')", "to_decimal(a)", "split(csv, ',')",
    "split_max(csv, ',', `1`)", "split(n, ',')", "get(nested, 'deep')", "get(items, 'a')", "url_join('https://cbu01.alicdn.com/', img)",
    "url_join('https://cbu01.alicdn.com/', a)", "url_join('https://cbu01.alicdn.com/', n)", "url_join(`1`, img)", "join(',', [a, b])",
    "join(',', [a, n])", "max([`1`, `2`])", "sort_by(items[0:2], &k)[].k", "map(&k, items[0:2])", "a | length(@)", "@", "`[1, 2]`",
    "'literal'", "items[0].k == `1`", "n > `1`", "root().a", "items[].root().b", "abs(n)", "not_null(missing, a)", "keys(nested)",
]


def outcome(function, document) -> tuple:
    try:
        value = function(document)
    except Exception as error:  # both evaluators must raise the same error
        return ("error", type(error).__name__, str(error))
    return ("value", type(value).__name__, repr(value))


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_compiled_path_matches_interpreter(expression):
    compiled = compile_path(expression)
    reference = jmespath.compile(expression)

    for document in DOCUMENTS:
        with jmespath_functions.bound_root(document):
            mine = outcome(compiled.search, document)
            theirs = outcome(lambda data: reference.search(data, options=OPTIONS), document)
        assert mine == theirs, document


@pytest.mark.parametrize(("base", "path"), [
    ("https://cbu01.alicdn.com/", "img/ibank/O1CN01ab_!!123-0-cib.jpg"),
    ("https://cbu01.alicdn.com/", "a/./b"), ("https://cbu01.alicdn.com/", "../a"), ("https://cbu01.alicdn.com/", "a//b"),
    ("https://cbu01.alicdn.com/", "a/.."), ("https://cbu01.alicdn.com/", ".a/..b"), ("https://cbu01.alicdn.com/", "a:b/c"),
    ("https://cbu01.alicdn.com/", "a?x=1#f"), ("https://cbu01.alicdn.com/", "a;p"), ("https://cbu01.alicdn.com/", "/abs/x.jpg"),
    ("https://cbu01.alicdn.com/", "http://other/x.jpg"), ("HTTPS://cbu01.alicdn.com/", "x.jpg"), ("https://h:8080/", "x.jpg"),
    ("https://h/dir/", "x.jpg"), ("https://h", "x.jpg"), ("https:", "img.alicdn.com/x.jpg"), ("https://h/", "图片.jpg"),
])
def test_url_join_matches_urljoin(base, path):
    assert ProfileFunctions()._func_url_join(base, path) == urljoin(base, path.strip())


def test_url_join_matches_urljoin_on_random_paths():
    functions = ProfileFunctions()
    alphabet = "ab./:;?#%@!&=+,-_~*'()$ \t\\é0"
    bases = ["https://cbu01.alicdn.com/", "http://h:80/", "HTTPS://h/", "https://h", "https://h/a/", "https://h/?q"]
    rng = random.Random(20240601)
    for _ in range(20000):
        base = rng.choice(bases)
        path = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        if not path.strip() or path.strip().startswith("//"):
            continue
        assert functions._func_url_join(base, path) == urljoin(base, path.strip()), (base, path)


# -- one pass against two ----------------------------------------------------------------------


@lru_cache(maxsize=None)
def profile(shape: str) -> Profile:
    return load_profile(PROFILES_DIR / f"{shape}.yaml")


def two_pass_record(shape: str, raw: dict) -> dict:
    """Extract with jmespath's interpreter, field by field, then coerce the whole record."""
    def extract(extractors, data):
        record = {}
        for extractor in extractors:
            value = jmespath.compile(extractor.source).search(data, options=OPTIONS)
            if extractor.record is not None:
                value = [extract(extractor.record, item) for item in value or []]
            record[extractor.name] = value
        return record

    with jmespath_functions.bound_root(raw):
        return coerce_record(extract(profile(shape).record, raw), None)


def generated_offers(count: int) -> list[dict]:
    generator = OfferGenerator(20240601)
    return [jsonio.loads(jsonio.dumps(generator.offer(index))) for index in range(count)]


def sample_raws(shape: str) -> list[dict]:
    raws = [jsonio.loads(path.read_text(encoding="utf-8")) for path in sorted((SAMPLES / shape).glob("*.json"))]
    return [raw for raw in raws if outcome(lambda data: profile(shape).extract(data), raw)[0] == "value"]


@pytest.mark.parametrize("shape", ["product.get", "item_get"])
def test_one_pass_equals_two_passes_on_samples(shape):
    raws = sample_raws(shape)

    assert len(raws) >= 5
    for raw in raws:
        assert jsonio.dumps(profile(shape).extract(raw)) == jsonio.dumps(two_pass_record(shape, raw))


def test_one_pass_equals_two_passes_on_generated_offers():
    for raw in generated_offers(200):
        record = profile("product.get").extract(raw)
        reference = two_pass_record("product.get", raw)

        assert jsonio.dumps(record) == jsonio.dumps(reference)
        assert [type(sku["price"]) for sku in record["skus"]] == [type(sku["price"]) for sku in reference["skus"]]


def broken_offer() -> dict:
    raw = generated_offers(3)[1]
    assert len(raw["productInfo"]["skuInfos"]) >= 2
    return raw


def extract_error(raw: dict) -> OfferError:
    with pytest.raises(OfferError) as caught:
        profile("product.get").extract(raw)
    return caught.value


def test_coercion_failure_names_sku():
    raw = broken_offer()
    raw["productInfo"]["skuInfos"][0]["price"] = "abc"
    raw["productInfo"]["skuInfos"][0].pop("consignPrice", None)

    error = extract_error(raw)

    assert (error.key, error.field, error.sku_index) == ("money.invalid", "skus[0].price", 0)


def test_extraction_failure_reported_before_coercion_failure():
    raw = broken_offer()
    raw["productInfo"]["skuInfos"][0]["price"] = "abc"
    raw["productInfo"]["skuInfos"][1]["attributes"] = "not a list"

    error = extract_error(raw)

    assert (error.key, error.field) == ("extract.not_list", "skus[1].specs")


def test_integer_failure_names_field():
    raw = broken_offer()
    raw["productInfo"]["skuInfos"][1]["amountOnSale"] = "2.5"

    error = extract_error(raw)

    assert (error.key, error.field, error.params["value"]) == ("extract.not_integer", "skus[1].stock", "2.5")


def test_type_error_names_field():
    raw = broken_offer()
    raw["productInfo"]["skuInfos"][1]["attributes"][0]["skuImageUrl"] = 5

    error = extract_error(raw)

    assert error.key == "extract.expression_failed"
    assert error.field == "skus[1].specs[0].image"
    assert re.search(r"url_join\(\)", error.params["detail"])

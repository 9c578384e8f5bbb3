"""Secrets never survive redaction: known values, URL parameters and the AOP app key path."""

from __future__ import annotations

import logging

import pytest

from etl.redact import MASK, Redactor

REDACTOR = Redactor(["app-secret-123", "token-xyz", "key-777"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("secret app-secret-123 leaked", f"secret {MASK} leaked"),
        ("https://x/1688/item_get/?key=key-777&secret=app-secret-123&num_iid=1", f"https://x/1688/item_get/?key={MASK}&secret={MASK}&num_iid=1"),
        ("_aop_signature=ABCDEF0123&access_token=abc", f"_aop_signature={MASK}&access_token={MASK}"),
        ("https://gw/openapi/param2/1/com.alibaba.product/alibaba.product.get/9876543", f"https://gw/openapi/param2/1/com.alibaba.product/alibaba.product.get/{MASK}"),
        ("sign=abcdef&timestamp=1", f"sign={MASK}&timestamp=1"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redactor_text(text, expected):
    assert REDACTOR.text(text) == expected


def test_longer_secret_masked_whole():
    redactor = Redactor(["abcd", "abcdefgh"])

    assert redactor.text("abcdefgh") == MASK


def test_logging_filter_redacts_arguments(caplog):
    logger = logging.getLogger("etl.test_redact")
    logger.addFilter(REDACTOR.logging_filter())

    with caplog.at_level(logging.INFO, logger="etl.test_redact"):
        logger.info("calling %s with %s", "https://x/?secret=app-secret-123", "token-xyz")

    assert "app-secret-123" not in caplog.text
    assert "token-xyz" not in caplog.text
    assert MASK in caplog.text


@pytest.mark.parametrize("signature", [
    "FEE0B1662C5E4A9C8B7D6E5F4A3B2C1D",  # TOP md5, 32 upper-case hex
    "3f2a9c1b7e5d4f6a8b0c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a",  # Douyin HMAC-SHA256, 64 lower-case hex
])
def test_echoed_platform_signatures_are_masked(signature):
    text = f"invalid signature: sign {signature} does not match"

    assert Redactor().text(text) == "invalid signature: sign *** does not match"

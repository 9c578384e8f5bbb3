"""Remove secrets from any text before it is printed, logged, stored or raised.

Secrets reach text two ways: as known values (app secret, access token, key) and inside request
URLs and bodies as named parameters (``_aop_signature``, ``sign``, ``secret`` ...). Both are
replaced with ``***``.
"""

from __future__ import annotations

import logging
import re
from typing import Iterable

MASK = "***"

# Parameter names whose values are secret in the 1688, Taobao and Douyin APIs.
SECRET_PARAMETERS = ("access_token", "_aop_signature", "secret", "app_secret", "sign", "session", "key", "app_key", "appkey")

_PARAMETER = re.compile(r"(?i)(?<![A-Za-z0-9_])(" + "|".join(re.escape(name) for name in SECRET_PARAMETERS) + r")=([^&\s\"']+)")
_APP_KEY_PATH = re.compile(r"(/param2/\d+/[^/\s]+/[^/\s]+/)([^/?\s\"']+)")
# Signatures a server may echo back: AOP HMAC-SHA1 and TOP MD5 in upper-case hex (40 and 32
# characters), Douyin HMAC-SHA256 in lower-case hex (64 characters).
_SIGNATURE_VALUE = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-F]{40}|[0-9A-F]{32}|[0-9a-f]{64})(?![0-9A-Za-z])")


class Redactor:
    """Replace known secret values and secret URL parameters in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.secrets = tuple(sorted({value for value in secrets if value and len(value) >= 4}, key=len, reverse=True))

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _PARAMETER.sub(lambda match: f"{match.group(1)}={MASK}", text)
        text = _SIGNATURE_VALUE.sub(MASK, text)
        return _APP_KEY_PATH.sub(lambda match: match.group(1) + MASK, text)

    def logging_filter(self) -> logging.Filter:
        """Build a logging filter that redacts each record's final message, arguments included."""
        redactor = self

        class _RedactingFilter(logging.Filter):
            def filter(self, record: logging.LogRecord) -> bool:
                record.msg = redactor.text(record.getMessage())
                record.args = None
                return True

        return _RedactingFilter()

"""Fake servers for tests. They bind 127.0.0.1 only and never send traffic anywhere else."""

from .gateway_1688 import Fake1688, RequestRecord, aop_signature, parse_fault

__all__ = ["Fake1688", "RequestRecord", "aop_signature", "parse_fault"]

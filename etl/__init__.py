"""Declarative ETL that turns 1688 wholesale offers into Taobao and Douyin Shop drafts.

The public API is small:

- :func:`etl.rules.load_rule` compiles a rule file into an immutable :class:`etl.rules.Rule`;
- :meth:`etl.rules.Rule.apply` maps one raw 1688 response to a validated target payload;
- :func:`etl.runner.run_batch` runs a rule over an ids file and returns per-offer results.
"""

import logging

__version__ = "0.1.0"

# A library part never prints: without this, logging's last-resort handler would write warnings to stderr.
logging.getLogger("etl").addHandler(logging.NullHandler())

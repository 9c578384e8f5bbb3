"""Vetted filters for rule expressions. Each module is one family; ``FILTERS`` is filled in by the expression environment."""

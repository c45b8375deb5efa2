"""Frontend error types: what the backend catches to fall back to eager."""

from __future__ import annotations


class UnsupportedOpError(NotImplementedError):
    """An ATen op (or a form of it) that the importer cannot map to tg.

    `op` names the overload and `where` the user's source line, for the one warning the
    backend prints before running the graph eagerly.
    """

    def __init__(self, message: str, op: str = "", where: str = ""):
        super().__init__(message)
        self.op = op
        self.where = where

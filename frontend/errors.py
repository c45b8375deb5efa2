"""Frontend error types: what the backend catches to fall back to eager."""

from __future__ import annotations


class UnsupportedOpError(NotImplementedError):
    """An ATen op (or a form of it) that the importer cannot map to tg.

    `op` names the overload and `where` the user's source line, for the one warning the
    backend prints before running the graph eagerly. `dynamic`: the form is refused for its
    symbolic sizes, and a static specialization of the graph would import it (Note
    [per-shape specialization], frontend/per_shape.py); None until the importer decides.
    """

    def __init__(self, message: str, op: str = "", where: str = "", dynamic: bool | None = None):
        super().__init__(message)
        self.op = op
        self.where = where
        self.dynamic = dynamic

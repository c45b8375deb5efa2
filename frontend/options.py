"""Validation of dynamlir.compile's option values (the names are checked by
frontend/backend.check_options): a bad value is a ValueError naming the option and what it
allows when the model is compiled, not a fallback warning at its first call."""

from __future__ import annotations

from typing import Any


def check_option_values(options: dict[str, Any]) -> None:
    """Raise ValueError for an option value dynamlir cannot use.

    Args:
        options: dynamlir.compile's keyword options (see frontend/backend.OPTIONS).
    Raises:
        ValueError: naming the option and its allowed values.
    """
    if "pipeline" in options:
        check_pipeline(options["pipeline"])
    if "chip" in options:
        check_chip(options["chip"])


def check_chip(value: Any) -> None:
    from ..lowering.to_gpu import CHIPS

    if value not in CHIPS:
        raise ValueError(
            f"dynamlir: option 'chip' expects a GPU architecture, got {value!r} "
            f"(allowed: {', '.join(CHIPS)})"
        )


def check_pipeline(value: Any) -> None:
    from ..lowering import PIPELINES
    from ..lowering.pipeline import validate_pipeline

    named = ", ".join(sorted(n for n in PIPELINES if n.startswith("tg-cpu")))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"dynamlir: option 'pipeline' expects a pass pipeline string, got {value!r} "
            f"(allowed: a named pipeline ({named}) or a comma-separated pass list)"
        )
    try:
        validate_pipeline(value)
    except ValueError as e:
        raise ValueError(
            f"dynamlir: option 'pipeline' is not a valid pipeline: {e} "
            f"(allowed: a named pipeline ({named}) or a comma-separated pass list)"
        ) from None

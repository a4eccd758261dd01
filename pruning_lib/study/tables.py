"""Plain-text tables with rounded numbers: stable text for nbval and for the command line.

Example:
    >>> print(format_table([{"task": "NQ", "score": 0.61234}], ["task", "score"]))
    task  score
    ----  -----
    NQ    0.612
"""

from __future__ import annotations

from typing import Any


def format_value(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(rows: list[dict[str, Any]], columns: list[str], digits: int = 3) -> str:
    """A plain-text table with rounded floats (stable text for nbval)."""
    cells = [[format_value(r.get(c, ""), digits) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)

"""Numbers printed on a hall table's paper slips, and reading them back when they are entered.

A table's code is `T` and its number (`T07`); a slip is the code and a serial (`T07-013`). The
print sheets number the slips, and a facilitator entering a paper vote types that number: the
code says which table the slip was printed for, so a slip from another table is caught.
"""

import re

SLIP_RE = re.compile(r"^\s*T(\d{1,4})\s*-\s*(\d{1,4})\s*$", re.IGNORECASE)


def table_code(table_number: int) -> str:
    return f"T{table_number:02d}"


def slip_number(table_number: int, serial: int) -> str:
    return f"{table_code(table_number)}-{serial:03d}"


def parse_slip(text: str) -> tuple[int, int] | None:
    """(table number, serial) of a typed slip number, or None when it is not one."""
    match = SLIP_RE.match(text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def normalised_slip(text: str) -> str | None:
    """The slip number as printed (`t7 - 13` → `T07-013`), or None when it is not one."""
    parsed = parse_slip(text)
    return slip_number(*parsed) if parsed else None

"""Slip numbers as printed and as typed back."""

from deliberation.roundtables.slips import normalised_slip, parse_slip, slip_number, table_code


def test_slips_are_printed_with_the_table_code_and_read_back_however_typed():
    assert table_code(7) == "T07" and table_code(112) == "T112"
    assert slip_number(7, 13) == "T07-013"
    assert parse_slip("T07-013") == (7, 13)
    assert normalised_slip(" t7 - 13 ") == "T07-013"
    assert parse_slip("7-13") is None and parse_slip("") is None and parse_slip("T07") is None

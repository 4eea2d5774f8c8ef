"""flowsight.positions: column conversions are exact for non-ASCII text and round-trip."""

from hypothesis import given, strategies as st

from flowsight import positions

LINE = "a = 'é😀中'  # ok"  # é: 2 bytes/1 unit, 😀: 4 bytes/2 UTF-16 units, 中: 3 bytes/1 unit


def test_code_units_per_encoding() -> None:
    assert positions.code_units("😀", "utf-16") == 2
    assert positions.code_units("😀", "utf-32") == 1
    assert positions.code_units("😀", "utf-8") == 4
    assert positions.code_units("é中", "utf-16") == 2


def test_byte_column_to_each_encoding() -> None:
    raw = LINE.encode()
    emoji_end = raw.index("😀".encode()) + 4
    assert positions.byte_column_to(raw, emoji_end, "utf-16") == len("a = 'é") + 2
    assert positions.byte_column_to(raw, emoji_end, "utf-32") == len("a = 'é😀")
    assert positions.byte_column_to(raw, emoji_end, "utf-8") == emoji_end


def test_column_past_line_end_clamps() -> None:
    assert positions.column_to_byte("abc", 99, "utf-16") == 3
    assert positions.column_to_byte("abc", 99, "utf-8") == 3


def test_column_inside_surrogate_pair_rounds_down() -> None:
    # UTF-16 column 1 is between the two halves of the emoji: it maps to the emoji's start.
    assert positions.column_to_byte("😀x", 1, "utf-16") == 0
    assert positions.column_to_byte("😀x", 2, "utf-16") == 4


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40), st.data())
def test_round_trip(line: str, data: st.DataObject) -> None:
    encoding = data.draw(st.sampled_from(["utf-8", "utf-16", "utf-32"]))
    index = data.draw(st.integers(min_value=0, max_value=len(line)))
    prefix = line[:index]
    byte_column = len(prefix.encode())
    column = positions.byte_column_to(line.encode(), byte_column, encoding)
    assert column == positions.code_units(prefix, encoding)
    assert positions.column_to_byte(line, column, encoding) == byte_column


def test_text_lines_convert_both_ways() -> None:
    lines = positions.TextLines("x = 1\r\n" + LINE + "\n")
    emoji_end = LINE.encode().index("😀".encode()) + 4
    assert lines.byte_column(1, len("a = 'é") + 2, "utf-16") == emoji_end
    assert lines.column(1, lines.byte_column(1, 7, "utf-32"), "utf-32") == 7
    assert lines.byte_column(0, 99, "utf-16") == 5
    assert lines.byte_column(9, 3, "utf-16") == 0

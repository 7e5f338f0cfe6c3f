"""The member import's rules: columns and their map, what a valid row is, which member a row names."""
from datetime import date

import pytest
from hypothesis import given, strategies as st

from loyalty_core.member_import import sniff_encoding
from loyalty_core.member_import_rules import (
    ColumnMapError, ImportConflict, ImportRow, Rejection, check_row, member_named, parse_column_map,
    parse_import_birthday, read_header,
)

TODAY = date(2026, 1, 15)


@pytest.mark.parametrize("raw", ["+86 138-0013-8000", "008613800138000", "8613800138000", "１３８００１３８０００",
                                 "138 0013 8000", "(138)0013.8000", " 13800138000 "])
def test_every_spelling_of_one_mobile_number_gives_the_same_member_phone(raw):
    row = check_row(2, {"phone": raw}, TODAY)
    assert isinstance(row, ImportRow) and row.phone == "13800138000"


@pytest.mark.parametrize("cells, reason", [
    ({"phone": "12345"}, "invalid_phone"), ({"phone": "23800138000"}, "invalid_phone"),
    ({"phone": "+1 415 555 0100"}, "invalid_phone"), ({"phone": ""}, "missing_phone"), ({}, "missing_phone"),
    ({"phone": "13800138000", "birthday": "1990-13-01"}, "invalid_birthday"),
    ({"phone": "13800138000", "birthday": "1990-02-30"}, "invalid_birthday"),
    ({"phone": "13800138000", "birthday": "2030-01-01"}, "invalid_birthday"),
    ({"phone": "13800138000", "birthday": "soon"}, "invalid_birthday"),
    ({"phone": "13800138000", "email": "zhang@"}, "invalid_email"),
    ({"phone": "13800138000", "email": "a b@example.com"}, "invalid_email"),
    ({"phone": "13800138000", "openid": "o'; DROP"}, "invalid_openid"),
    ({"phone": "13800138000", "member_no": "C 001"}, "invalid_member_no"),
])
def test_a_row_is_rejected_with_the_reason_and_column_never_the_value(cells, reason):
    rejected = check_row(7, cells, TODAY)
    assert isinstance(rejected, Rejection) and (rejected.row, rejected.reason) == (7, reason)
    assert all(value not in rejected.detail for value in cells.values() if len(value) > 3)


def test_a_row_without_a_phone_is_kept_when_it_names_an_openid():
    row = check_row(2, {"openid": "oMini0000001", "name": "  李   四 "}, TODAY)
    assert isinstance(row, ImportRow) and (row.phone, row.openid, row.name) == ("", "oMini0000001", "李 四")


@pytest.mark.parametrize("text", ["1990-05-20", "1990/5/20", "19900520", "1990年5月20日", "1990.05.20",
                                  "1990-05-20 00:00:00", "1990/05/20T08:30"])
def test_birthdays_in_the_spellings_exports_use(text):
    birthday = parse_import_birthday(text, TODAY)
    assert birthday is not None and (birthday.calendar, birthday.year, birthday.month, birthday.day) == \
        ("solar", 1990, 5, 20)


@pytest.mark.parametrize("raw, gender", [("男", "male"), ("F", "female"), ("女士", "female"), ("1", "male"),
                                         ("unknown", ""), ("", "")])
def test_genders_are_read_and_an_unknown_one_is_left_out(raw, gender):
    assert check_row(2, {"phone": "13800138000", "gender": raw}, TODAY).gender == gender


def test_the_column_map_renames_headers_and_unknown_columns_are_ignored():
    column_map = parse_column_map(["手机号=phone", " 姓名 = name"])
    header = read_header(["\ufeff手机号", "姓名", "备注", "EMAIL", "phone"], column_map)
    assert header.positions == {"phone": 0, "name": 1, "email": 3}
    assert header.cells(["138", "张三", "x", "a@b.cn"]) == {"phone": "138", "name": "张三", "email": "a@b.cn"}


@pytest.mark.parametrize("pairs", [["手机号"], ["手机号=telephone"], ["=phone"]])
def test_a_column_map_that_names_no_known_field_is_refused(pairs):
    with pytest.raises(ColumnMapError):
        parse_column_map(pairs)


def test_a_header_with_neither_phone_nor_openid_is_refused():
    with pytest.raises(ColumnMapError):
        read_header(["姓名", "备注"], {})


def test_a_row_names_the_member_its_phone_or_openid_holds_and_two_different_ones_conflict():
    assert member_named(None, None) is None
    assert member_named("100001", None) == member_named(None, "100001") == member_named("100001", "100001") == "100001"
    with pytest.raises(ImportConflict):
        member_named("100001", "100002")


def test_the_encoding_is_utf8_with_or_without_a_bom_else_gbk():
    text = "手机号,姓名\r\n13800138000,张三\r\n"
    assert sniff_encoding(b"\xef\xbb\xbf" + text.encode()) == "utf-8-sig"
    assert sniff_encoding(text.encode()) == "utf-8"
    assert sniff_encoding(text.encode("gbk")) == "gb18030"
    assert sniff_encoding(text.encode() + "张".encode()[:2]) == "utf-8"     # a character the sniff cut in two


@given(st.text(max_size=30))
def test_no_phone_cell_makes_the_rules_fail(raw):
    assert isinstance(check_row(2, {"phone": raw, "birthday": raw, "email": raw}, TODAY), (ImportRow, Rejection))

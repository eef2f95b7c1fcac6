import pytest

from xiaobao.govdata.codes import valid_credit_code, valid_id_number


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("91350100M000100Y43", True),  # the standard's own example
        ("91310113MA1GK1234K", True),
        ("91310113ma1gk1234k", True),  # case does not matter
        ("91310113MA1GK1234L", False),  # wrong check character
        ("91310113MA1GK1234", False),  # 17 characters
        ("91310113MA1GK12I4K", False),  # I is not in the alphabet
    ],
)
def test_credit_codes(code, valid):
    assert valid_credit_code(code) is valid


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("11010519491231002X", True),  # the standard's own example
        ("11010519491231002x", True),
        ("110105194912310021", False),  # wrong check digit
        ("110105194913310028", False),  # month 13
        ("11010519491231002", False),
    ],
)
def test_id_numbers(number, valid):
    assert valid_id_number(number) is valid

"""Check digits of Norwegian identifiers: organisation numbers, personal numbers and account numbers."""

from __future__ import annotations

import pytest

from broker.domain.identifiers import (
    is_valid_account_number,
    is_valid_fodselsnummer,
    is_valid_orgnr,
    mask_fodselsnummer,
    with_account_check_digit,
    with_fodselsnummer_check_digits,
    with_orgnr_check_digit,
)


@pytest.mark.parametrize("orgnr", ["974760673", "971040238", "910000004", "930000000"])
def test_valid_organisation_numbers(orgnr: str) -> None:
    assert is_valid_orgnr(orgnr)


@pytest.mark.parametrize("orgnr", ["974760674", "97476067", "9747606733", "97476067a", "٩٧٤٧٦٠٦٧٣", ""])
def test_invalid_organisation_numbers(orgnr: str) -> None:
    assert not is_valid_orgnr(orgnr)


def test_an_orgnr_whose_check_digit_would_be_ten_does_not_exist() -> None:
    assert with_orgnr_check_digit("91234567") is None  # remainder 1: no number is issued with this stem
    assert with_orgnr_check_digit("91000000") == "910000004"


@pytest.mark.parametrize(
    ("kind", "birth"),
    [
        ("ordinary", "150580"),
        ("D-number (day + 40)", "550580"),
        ("synthetic (month + 80)", "158580"),
        ("H-number (month + 40)", "154580"),
    ],
)
def test_personal_numbers_of_every_kind_with_check_digits(kind: str, birth: str) -> None:
    number = next(n for i in range(100, 200) if (n := with_fodselsnummer_check_digits(f"{birth}{i}")))
    assert is_valid_fodselsnummer(number), kind
    wrong = number[:10] + str((int(number[10]) + 1) % 10)
    assert not is_valid_fodselsnummer(wrong)


@pytest.mark.parametrize("number", ["15889210181", "03928810037", "22817510020", "04876610170"])
def test_the_demo_persons_are_valid_synthetic_numbers(number: str) -> None:
    assert is_valid_fodselsnummer(number)
    assert int(number[2:4]) > 80


@pytest.mark.parametrize("number", ["15889210182", "32019010085", "01139010085", "1588921018", "1588921018x"])
def test_invalid_personal_numbers(number: str) -> None:
    assert not is_valid_fodselsnummer(number)


def test_account_numbers() -> None:
    assert is_valid_account_number("86011117947")
    assert not is_valid_account_number("86011117948")
    assert with_account_check_digit("8601111794") == "86011117947"


def test_masking_shows_only_the_birth_date() -> None:
    assert mask_fodselsnummer("15889210181") == "158892*****"
    assert "10181" not in mask_fodselsnummer("15889210181")


@pytest.mark.parametrize("number", ["02013299997", "30108299920", "30108299939"])
def test_numbers_issued_from_2032_may_have_any_first_control_digit_of_remainder_0_to_3(number: str) -> None:
    # Skatteetaten's worked examples ("Nytt fødselsnummer fra 2032"): 30108299939 has k1 = 3, remainder 1.
    assert is_valid_fodselsnummer(number)


def test_the_2032_rule_still_bounds_the_first_control_digit_and_keeps_the_second() -> None:
    # 301082999 has the weighted sum 196 (remainder 9): k1 may be 2, 3, 4 or 5 (remainders 0-3), nothing else.
    accepted = [k1 for k1 in range(10) if (n := with_k2("301082999" + str(k1))) and is_valid_fodselsnummer(n)]
    assert accepted == [2, 3, 4, 5]
    assert not is_valid_fodselsnummer("30108299921")  # k1 fine, k2 wrong: the second digit has one value only
    assert not is_valid_fodselsnummer("30108299960")  # k1 = 6 leaves remainder 4


def with_k2(first_ten: str) -> str | None:
    from broker.domain.identifiers import _FNR_WEIGHTS_2, _mod11

    k2 = _mod11(first_ten, _FNR_WEIGHTS_2)
    return None if k2 is None else first_ten + str(k2)


def test_an_account_number_in_its_printed_grouping() -> None:
    assert is_valid_account_number("8601.11.17947") and is_valid_account_number("8601 11 17947")
    assert not is_valid_account_number("8601.11.17948")
    assert not is_valid_account_number("8601.11 17947") and not is_valid_account_number("860.111.17947")
    assert not is_valid_account_number("111.22.33333")  # the official example's placeholder: ten digits

"""Norwegian identifier check digits.

The XSDs only check formats (digit counts); check digits are rules the broker and the simulators apply,
so a typo in an orgnr or a fødselsnummer is caught before a message reaches anyone.
"""

from __future__ import annotations

from functools import lru_cache
from operator import mul

_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_FNR_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_FNR_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ACCOUNT_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    # On the ASCII codes: each code is the digit + 48, so subtract 48 × the weights once (hot path of
    # `dsve validate`, which checks every identifier of every file).
    total: int = sum(map(mul, digits.encode("ascii"), weights))
    return total - 48 * sum(weights[: len(digits)])


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit for ``digits``, or None where none exists (remainder 1)."""
    remainder = _weighted(digits, weights) % 11
    if remainder == 0:
        return 0
    check = 11 - remainder
    return None if check == 10 else check


@lru_cache(maxsize=8192)
def is_valid_orgnr(value: str) -> bool:
    """A 9-digit organisation number whose last digit is the mod-11 check digit."""
    if len(value) != 9 or not (value.isascii() and value.isdigit()):
        return False
    return _mod11(value[:8], _ORGNR_WEIGHTS) == int(value[8])


@lru_cache(maxsize=8192)
def is_valid_account_number(value: str) -> bool:
    """An 11-digit Norwegian bank account number with a mod-11 check digit.

    Also in its printed grouping ``1234.56.78903`` (or with spaces), which schemas that type the field as a
    plain string let through: the grouping is how account numbers are written, so it is no mistake.
    """
    if len(value) == 13 and value[4] == value[7] and value[4] in ". ":
        value = value[:4] + value[5:7] + value[8:]
    if len(value) != 11 or not (value.isascii() and value.isdigit()):
        return False
    return _mod11(value[:10], _ACCOUNT_WEIGHTS) == int(value[10])


def _plausible_birth_date(value: str) -> bool:
    """Day and month of a fødselsnummer, D-number (day+40), H-number (month+40) or synthetic (month+80)."""
    day, month = int(value[0:2]), int(value[2:4])
    if day > 40:
        day -= 40
    if month > 80:
        month -= 80
    elif month > 40:
        month -= 40
    return 1 <= day <= 31 and 1 <= month <= 12


@lru_cache(maxsize=8192)
def is_valid_fodselsnummer(value: str) -> bool:
    """An 11-digit personal number (fødselsnummer, D-number or synthetic test number) with both check digits.

    Both control-digit rules are accepted, as Skatteetaten asks of every system that checks them ("Nytt
    fødselsnummer fra 2032", Folkeregisteret's API documentation): numbers issued before 2032 have the one
    first control digit k1 that leaves remainder 0 (mod 11, weights 3 7 6 1 8 9 4 5 2, k1 weighted 1); numbers
    issued from 1 January 2032 may have any k1 that leaves remainder 0, 1, 2 or 3. The second control digit k2
    (weights 5 4 3 2 7 6 5 4 3 2 over the first ten digits) is computed as before under both rules.
    """
    if len(value) != 11 or not (value.isascii() and value.isdigit()):
        return False
    if not _plausible_birth_date(value):
        return False
    if (_weighted(value[:9], _FNR_WEIGHTS_1) + int(value[9])) % 11 > 3:
        return False
    return _mod11(value[:10], _FNR_WEIGHTS_2) == int(value[10])


def with_orgnr_check_digit(first_eight: str) -> str | None:
    """Complete an orgnr from its first eight digits, or None when no valid check digit exists."""
    check = _mod11(first_eight, _ORGNR_WEIGHTS)
    return None if check is None else first_eight + str(check)


def with_account_check_digit(first_ten: str) -> str | None:
    """Complete an account number from its first ten digits, or None when none exists."""
    check = _mod11(first_ten, _ACCOUNT_WEIGHTS)
    return None if check is None else first_ten + str(check)


def with_fodselsnummer_check_digits(first_nine: str) -> str | None:
    """Complete a fødselsnummer from date and individual number, or None when no check digits exist."""
    k1 = _mod11(first_nine, _FNR_WEIGHTS_1)
    if k1 is None:
        return None
    k2 = _mod11(first_nine + str(k1), _FNR_WEIGHTS_2)
    return None if k2 is None else f"{first_nine}{k1}{k2}"


def mask_fodselsnummer(value: str) -> str:
    """Show only the birth date of a personal number: logs must never hold one in clear text."""
    return value[:6] + "*****" if len(value) == 11 else "*" * len(value)


def _luhn_ok(value: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(value)):
        digit = ord(char) - 48
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _kid_mod11_ok(value: str) -> bool:
    body, check = value[:-1], value[-1]
    total = sum((ord(char) - 48) * (2 + index % 6) for index, char in enumerate(reversed(body)))
    remainder = total % 11
    expected = "0" if remainder == 0 else "-" if remainder == 1 else str(11 - remainder)
    return check == expected


def is_valid_kid(value: str) -> bool:
    """A payment reference (KID, 2-25 characters): digits with a MOD10 (Luhn) or MOD11 check digit.

    Norwegian banks agree per payee which of the two applies; a KID that passes either is accepted. MOD11
    writes the check value 10 as ``-``.
    """
    if not 2 <= len(value) <= 25 or not value.isascii():
        return False
    if not value[:-1].isdigit() or not (value[-1].isdigit() or value[-1] == "-"):
        return False
    return (value[-1] != "-" and _luhn_ok(value)) or _kid_mod11_ok(value)

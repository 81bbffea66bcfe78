"""The official-profile simulators read a value whole when a comment sits inside it (as the schema does)."""

from __future__ import annotations

from pathlib import Path

from participants.official.schema import OfficialSchema

DSVE_SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "third_party" / "dsve-spec"


def test_a_comment_inside_a_reference_does_not_cut_it() -> None:
    data = (DSVE_SPEC / "examples" / "intensjonfrabank-example.xml").read_bytes()
    commented = data.replace(
        b"<referanse>CASPER001-01-01</referanse>", b"<referanse>CASPER<!-- x -->001-01-01</referanse>"
    )
    assert commented != data
    _, decoded = OfficialSchema(DSVE_SPEC).decode(commented)
    assert "CASPER001-01-01" in repr(decoded)
    assert "'CASPER'" not in repr(decoded)

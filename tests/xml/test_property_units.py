"""The property units a document names: read from each matrikkelenhet's children, in any namespace or none."""

from __future__ import annotations

from lxml import etree

from broker.domain.property_units import UnitRef
from broker.xml.property_units import units_in_tree


def _units(xml: str) -> tuple[UnitRef, ...]:
    return units_in_tree(etree.fromstring(xml))


def test_a_unit_in_a_namespace_and_one_without() -> None:
    xml = (
        "<m:melding xmlns:m='urn:x'><m:matrikkelenhet><m:kommunenummer>4601</m:kommunenummer>"
        "<m:gaardsnummer>0165</m:gaardsnummer><m:bruksnummer>412</m:bruksnummer>"
        "<m:seksjonsnummer>3</m:seksjonsnummer></m:matrikkelenhet>"
        "<matrikkelenhet xmlns=''><kommunenummer>0301</kommunenummer><gaardsnummer>1</gaardsnummer>"
        "<bruksnummer>2</bruksnummer><festenummer>7</festenummer></matrikkelenhet></m:melding>"
    )
    assert _units(xml) == (UnitRef("4601-165-412", 0, 3), UnitRef("0301-1-2", 7, 0))


def test_the_first_child_of_a_name_counts_and_other_children_are_passed_over() -> None:
    xml = (
        "<matrikkelenhet><kommunenummer> 4601 </kommunenummer><merknad>x</merknad>"
        "<gaardsnummer>5</gaardsnummer><gaardsnummer>9</gaardsnummer><bruksnummer>6</bruksnummer>"
        "<?pi here?><seksjonsnummer>x</seksjonsnummer></matrikkelenhet>"
    )
    assert _units(f"<a>{xml}</a>") == (UnitRef("4601-5-6", 0, 0),)


def test_a_unit_without_a_number_it_needs_is_left_out() -> None:
    missing = "<matrikkelenhet><kommunenummer>4601</kommunenummer><gaardsnummer>5</gaardsnummer></matrikkelenhet>"
    empty = (
        "<matrikkelenhet><kommunenummer/><gaardsnummer>5</gaardsnummer><bruksnummer>6</bruksnummer></matrikkelenhet>"
    )
    letters = (
        "<matrikkelenhet><kommunenummer>46O1</kommunenummer><gaardsnummer>5</gaardsnummer>"
        "<bruksnummer>6</bruksnummer></matrikkelenhet>"
    )
    assert _units(f"<a>{missing}{empty}{letters}</a>") == ()

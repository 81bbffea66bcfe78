"""The schema catalogue: loading, lookup by root, routing fields, compiled-once schemas, local-only includes."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from lxml import etree

from broker.config import REPO_XSD_DIR
from broker.domain.errors import Error, Refusal
from broker.domain.roles import Role
from broker.xml.catalogue import Catalogue, CatalogueError, compile_schema

MINI = Path(__file__).parent / "data" / "mini"


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue.load(MINI)


def example_root() -> etree._Element:
    return etree.fromstring((MINI / "pantedokument.xml").read_bytes())


def test_loads_every_type_with_roles_and_paths(catalogue: Catalogue) -> None:
    assert [spec.name for spec in catalogue] == ["pantedokument", "pantedokumentKvittering"]
    spec = catalogue["pantedokument"]
    assert spec.family == "pant"
    assert spec.sender_roles == frozenset({Role.BANK})
    assert spec.recipient_roles == frozenset({Role.MEGLER})
    assert spec.root_qname == "{urn:test:pant:v1}pantedokument"
    assert spec.schema_file == (MINI / "pant.xsd").resolve()
    assert spec.paths["sender"] == "hode/avsender/orgnr"
    assert "pantedokument" in catalogue and len(catalogue) == 2
    with pytest.raises(KeyError):
        catalogue["ukjent"]


def test_spec_for_root_needs_namespace_and_name(catalogue: Catalogue) -> None:
    assert catalogue.spec_for_root(example_root()) is catalogue["pantedokument"]
    assert catalogue.spec_for_root(etree.fromstring(b"<pantedokument/>")) is None
    assert catalogue.spec_for_root(etree.fromstring(b'<pantedokument xmlns="urn:other"/>')) is None


def test_routing_fields_are_read_with_the_family_namespace(catalogue: Catalogue) -> None:
    fields = catalogue["pantedokument"].routing_fields(example_root())
    assert fields.message_type == "pantedokument"
    assert fields.message_id == "0b6c5f0e-4d0c-4f43-9d8e-3a8f2f6b1c11"
    assert (fields.sender, fields.recipient) == ("923609016", "930000000")
    assert (fields.sender_reference, fields.recipient_reference) == ("LAAN-2026-77", "OPPGJ-2026-0412")
    assert fields.created is not None and fields.created.utcoffset() is not None


def test_a_field_outside_the_family_namespace_is_not_read(catalogue: Catalogue) -> None:
    data = (
        (MINI / "pantedokument.xml").read_bytes().replace(b"<avsender><orgnr>", b'<avsender><orgnr xmlns="urn:other">')
    )
    with pytest.raises(Refusal) as caught:
        catalogue["pantedokument"].routing_fields(etree.fromstring(data))
    assert caught.value.error is Error.SCHEMA_INVALID
    assert caught.value.issues[0].path == "/pantedokument/hode/avsender/orgnr"


def test_missing_optional_fields_are_none(catalogue: Catalogue) -> None:
    data = (
        (MINI / "pantedokument.xml")
        .read_bytes()
        .replace(b"<mottakersReferanse>OPPGJ-2026-0412</mottakersReferanse>", b"")
    )
    assert catalogue["pantedokument"].routing_fields(etree.fromstring(data)).recipient_reference is None


def test_a_field_is_the_first_in_document_order_on_its_path(catalogue: Catalogue) -> None:
    """The first child of each name is tried first; where it lacks the rest of the path, a later one counts."""
    root = etree.fromstring(
        b'<pantedokument xmlns="urn:test:pant:v1">'
        b"<hode><meldingsid>m-1</meldingsid><avsender/><avsender><orgnr>111111111</orgnr></avsender></hode>"
        b"<hode><meldingsid>m-2</meldingsid><avsender><orgnr>222222222</orgnr></avsender>"
        b"<mottaker><orgnr>333333333</orgnr></mottaker><avsendersReferanse>r</avsendersReferanse></hode>"
        b"</pantedokument>"
    )
    fields = catalogue["pantedokument"].routing_fields(root)
    assert (fields.message_id, fields.sender, fields.recipient) == ("m-1", "111111111", "333333333")
    assert fields.sender_reference == "r"


def test_missing_required_fields_are_all_named(catalogue: Catalogue) -> None:
    root = etree.fromstring(b'<pantedokument xmlns="urn:test:pant:v1"><hode/></pantedokument>')
    with pytest.raises(Refusal) as caught:
        catalogue["pantedokument"].routing_fields(root)
    assert caught.value.error is Error.SCHEMA_INVALID
    assert len(caught.value.issues) == 4


def test_schema_is_compiled_once_per_file_even_from_many_threads(catalogue: Catalogue) -> None:
    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda name=name: seen.append(catalogue.schema_for(catalogue[name])))
        for name in ["pantedokument", "pantedokumentKvittering"] * 4
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(schema) for schema in seen}) == 1
    assert catalogue.schema_for(catalogue["pantedokument"]).validate(example_root().getroottree())


def test_schema_bytes_are_the_stored_file(catalogue: Catalogue) -> None:
    assert catalogue.schema_bytes("pantedokument") == (MINI / "pant.xsd").read_bytes()
    with pytest.raises(KeyError):
        catalogue.schema_bytes("ukjent")


def test_include_from_the_network_is_refused(tmp_path: Path) -> None:
    (tmp_path / "net.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:include schemaLocation="http://127.0.0.1:9/common.xsd"/><xs:element name="a"/></xs:schema>'
    )
    with pytest.raises(CatalogueError, match="not a local file"):
        compile_schema(tmp_path / "net.xsd")


def test_include_outside_the_schema_directory_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(MINI / "common.xsd", tmp_path / "common.xsd")
    (inner / "a.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:include schemaLocation="../common.xsd"/><xs:element name="a" type="Orgnr"/></xs:schema>'
    )
    with pytest.raises(CatalogueError, match="outside"):
        compile_schema(inner / "a.xsd")
    assert compile_schema(inner / "a.xsd", root=tmp_path).validate(etree.fromstring(b"<a>923609016</a>"))


def test_broken_catalogues_fail_loudly(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError):
        Catalogue.load(tmp_path)
    (tmp_path / "catalogue.toml").write_text('[x]\nfamily = "f"\n')
    with pytest.raises(CatalogueError, match="x"):
        Catalogue.load(tmp_path)
    text = (MINI / "catalogue.toml").read_text().replace('sender_roles = ["bank"]', 'sender_roles = ["pirat"]')
    shutil.copy(MINI / "pant.xsd", tmp_path)
    (tmp_path / "catalogue.toml").write_text(text)
    with pytest.raises(CatalogueError, match="pirat"):
        Catalogue.load(tmp_path)


@pytest.mark.skipif(not (REPO_XSD_DIR / "catalogue.toml").exists(), reason="the repository catalogue is not there")
def test_the_repository_catalogue_compiles_and_its_examples_give_routing_fields() -> None:
    catalogue = Catalogue.load(REPO_XSD_DIR)
    catalogue.compile_all()
    for example in sorted((REPO_XSD_DIR / "examples").glob("*.xml")):
        root = etree.parse(str(example)).getroot()
        spec = catalogue.spec_for_root(root)
        assert spec is not None, example.name
        assert catalogue.schema_for(spec).validate(root.getroottree()), example.name
        assert spec.routing_fields(root).sender

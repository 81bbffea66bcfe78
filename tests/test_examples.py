"""The schema catalogue under xsd/: every schema compiles, every example gets its stated verdict.

Three validators must agree, because three kinds of code read these files: lxml (the broker's hot path),
xmllint (what a participant's integrator runs by hand) and xmlschema (the simulators and the SDK decode
and encode with it). Invalid examples state their verdict on the first line and the faulty line on the
second, so a schema change that moves or hides a fault fails here.
"""

from __future__ import annotations

import copy
import functools
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from broker.domain.identifiers import is_valid_account_number, is_valid_fodselsnummer, is_valid_orgnr
from broker.domain.roles import Role

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
EXAMPLES = XSD_DIR / "examples"
INVALID = EXAMPLES / "invalid"
CATALOGUE = tomllib.loads((XSD_DIR / "catalogue.toml").read_text(encoding="utf-8"))
FAMILIES = sorted({spec["family"] for spec in CATALOGUE.values()})
XMLLINT = shutil.which("xmllint") or "/usr/bin/xmllint"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
DOKUMENT_NS = "urn:no:dsve:dokument:v1"
SIGNED_DOCUMENTS = {"pant", "sletting", "eierskifte", "samtykke"}
XS = "{http://www.w3.org/2001/XMLSchema}"

VALID_EXAMPLES = sorted(EXAMPLES.glob("*.xml"))
INVALID_EXAMPLES = sorted(INVALID.glob("*.xml"))
_VERDICT = re.compile(r"<!-- expect: (schema|rule) -->")
_FAULT_LINE = re.compile(r"<!-- fault: line (\d+): .+ -->")

CHECKS = {"orgnr": is_valid_orgnr, "foedselsnummer": is_valid_fodselsnummer, "kontonummer": is_valid_account_number}


class _XsdDirOnly(etree.Resolver):
    """Resolves schema locations to files in xsd/ and refuses everything else, so no fetch can escape."""

    def __init__(self) -> None:
        super().__init__()
        self.resolved: list[str] = []

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        candidate = XSD_DIR / Path(system_url).name
        if not candidate.is_file() or candidate.suffix != ".xsd":
            raise LookupError(f"schema location outside xsd/: {system_url}")
        self.resolved.append(candidate.name)
        return self.resolve_filename(str(candidate), context)


def _parser(resolver: etree.Resolver | None = None) -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )
    if resolver is not None:
        parser.resolvers.add(resolver)
    return parser


_SCHEMAS: dict[str, etree.XMLSchema] = {}


def lxml_schema(schema_file: str) -> etree.XMLSchema:
    if schema_file not in _SCHEMAS:
        parser = _parser(_XsdDirOnly())
        _SCHEMAS[schema_file] = etree.XMLSchema(etree.parse(str(XSD_DIR / schema_file), parser))
    return _SCHEMAS[schema_file]


@functools.cache
def decoder(schema_file: str) -> xmlschema.XMLSchema10:
    return xmlschema.XMLSchema10(str(XSD_DIR / schema_file))


def schema_for(example: Path) -> str:
    """The schema of an example, from its root element through the catalogue."""
    root = etree.parse(str(example), _parser()).getroot()
    return CATALOGUE[etree.QName(root).localname]["schema"]


def xmllint_valid(schema_file: str, example: Path) -> tuple[bool, str]:
    result = subprocess.run(
        [XMLLINT, "--noout", "--nonet", "--schema", str(XSD_DIR / schema_file), str(example)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return result.returncode == 0, result.stderr


def identifier_faults(tree: etree._ElementTree) -> list[str]:
    """Every identifier element whose check digits are wrong, as 'name=value'."""
    faults = []
    for element in tree.iter(etree.Element):
        check = CHECKS.get(etree.QName(element).localname)
        if check is not None and not check(element.text or ""):
            faults.append(f"{etree.QName(element).localname}={element.text}")
    return faults


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


# ----- the schemas themselves -----


@pytest.mark.parametrize("family", FAMILIES)
def test_family_schema_compiles_from_local_files_only(family: str) -> None:
    resolver = _XsdDirOnly()
    etree.XMLSchema(etree.parse(str(XSD_DIR / f"{family}.xsd"), _parser(resolver)))
    assert "felles.xsd" in resolver.resolved
    assert "xmldsig-core-schema.xsd" in resolver.resolved


def test_no_schema_has_a_doctype_or_a_remote_location() -> None:
    for schema_file in XSD_DIR.glob("*.xsd"):
        tree = etree.parse(str(schema_file), _parser())
        assert tree.docinfo.doctype == "", schema_file.name
        for location in tree.getroot().xpath("//@schemaLocation"):
            assert "/" not in location and ":" not in location, (schema_file.name, location)


def test_family_schemas_keep_the_conventions() -> None:
    xs = XS
    felles = etree.parse(str(XSD_DIR / "felles.xsd"), _parser()).getroot()
    assert felles.get("targetNamespace") is None
    for family in FAMILIES:
        root = etree.parse(str(XSD_DIR / f"{family}.xsd"), _parser()).getroot()
        assert root.get("targetNamespace") == f"urn:no:dsve:{family}:v1"
        assert root.get("elementFormDefault") == "qualified"
        assert [inc.get("schemaLocation") for inc in root.iter(f"{xs}include")] == ["felles.xsd"]
        for message in root.findall(f"{xs}element"):
            particles = message.findall(f"{xs}complexType/{xs}sequence/*")
            assert particles[0].get("name") == "hode", message.get("name")
            assert particles[-1].get("ref") == "ds:Signature", message.get("name")
            assert particles[-1].get("minOccurs") == "0", message.get("name")


def test_signed_documents_have_a_namespace_of_their_own() -> None:
    """dokument.xsd declares the signed inner documents as global elements in urn:no:dsve:dokument:v1, each
    with the Id its detached signatures reference; the common types come in the chameleon way."""
    resolver = _XsdDirOnly()
    etree.XMLSchema(etree.parse(str(XSD_DIR / "dokument.xsd"), _parser(resolver)))
    assert {"felles.xsd", "xmldsig-core-schema.xsd"} <= set(resolver.resolved)
    root = etree.parse(str(XSD_DIR / "dokument.xsd"), _parser()).getroot()
    assert root.get("targetNamespace") == DOKUMENT_NS
    assert root.get("elementFormDefault") == "qualified"
    assert [inc.get("schemaLocation") for inc in root.iter(f"{XS}include")] == ["felles.xsd"]
    elements = {element.get("name"): element.get("type") for element in root.findall(f"{XS}element")}
    assert set(elements) == SIGNED_DOCUMENTS
    for type_name in elements.values():
        [complex_type] = root.xpath("xs:complexType[@name=$n]", n=type_name, namespaces={"xs": XS[1:-1]})
        [attribute] = complex_type.findall(f"{XS}attribute")
        assert (attribute.get("name"), attribute.get("type"), attribute.get("use")) == ("Id", "xs:ID", "required")
    declared = xmlschema.XMLSchema10(str(XSD_DIR / "dokument.xsd")).elements
    assert {name.split("}")[-1] for name in declared} == SIGNED_DOCUMENTS


def test_families_refer_to_the_signed_documents_and_never_declare_their_own() -> None:
    """A family places a signed document by reference only, so the document keeps its namespace in every
    message, and the detached signatures follow it in a ``signaturer`` of the family."""
    felles = etree.parse(str(XSD_DIR / "felles.xsd"), _parser()).getroot()
    assert not {t.get("name") for t in felles.iter(f"{XS}complexType")} & {"Pant", "Sletting"}
    carriers = set()
    for family in FAMILIES:
        root = etree.parse(str(XSD_DIR / f"{family}.xsd"), _parser()).getroot()
        assert not SIGNED_DOCUMENTS & {element.get("name") for element in root.iter(f"{XS}element")}, family
        refs = [element for element in root.iter(f"{XS}element") if (element.get("ref") or "").startswith("dok:")]
        if not refs:
            continue
        carriers.add(family)
        assert root.nsmap["dok"] == DOKUMENT_NS
        imports = {i.get("namespace"): i.get("schemaLocation") for i in root.iter(f"{XS}import")}
        assert imports[DOKUMENT_NS] == "dokument.xsd"
        for ref in refs:
            assert ref.get("ref").split(":")[1] in SIGNED_DOCUMENTS
            following = ref.getnext() if ref.getparent().tag != f"{XS}choice" else ref.getparent().getnext()
            assert following.get("name") == "signaturer", (family, ref.get("ref"))
    assert carriers == {"pant", "oppgjoer", "tinglysing"}


WITH_DOCUMENTS = [e for e in VALID_EXAMPLES + INVALID_EXAMPLES if " Id=" in e.read_text(encoding="utf-8")]


@pytest.mark.parametrize("example", WITH_DOCUMENTS, ids=_ids(WITH_DOCUMENTS))
def test_examples_put_signed_documents_in_the_document_namespace(example: Path) -> None:
    """Every signed document (an element with an Id) is in the document namespace, and so is everything in
    it and nothing else."""
    root = etree.parse(str(example), _parser()).getroot()
    documents = [element for element in root.iter(etree.Element) if element.get("Id") is not None]
    assert documents, example.name
    for document in documents:
        assert document.tag in {f"{{{DOKUMENT_NS}}}{name}" for name in SIGNED_DOCUMENTS}, document.sourceline
        assert etree.QName(document.getparent()).namespace == etree.QName(root).namespace
        assert all(etree.QName(e).namespace == DOKUMENT_NS for e in document.iter(etree.Element))
    inside = sum(len(list(d.iter(etree.Element))) for d in documents)
    assert inside == len(root.xpath("//d:*", namespaces={"d": DOKUMENT_NS})), example.name


@pytest.mark.parametrize("family", FAMILIES)
def test_xmlschema_loads_family_schema(family: str) -> None:
    schema = xmlschema.XMLSchema10(str(XSD_DIR / f"{family}.xsd"))
    declared = {name.split("}")[-1] for name in schema.elements}
    expected = {name for name, spec in CATALOGUE.items() if spec["family"] == family}
    assert declared == expected


# ----- valid examples -----


def test_one_example_per_catalogue_type() -> None:
    assert len(CATALOGUE) == 21
    assert {path.stem for path in VALID_EXAMPLES} == set(CATALOGUE)


@pytest.mark.parametrize("example", VALID_EXAMPLES, ids=_ids(VALID_EXAMPLES))
def test_valid_example_passes_lxml_and_xmllint(example: Path) -> None:
    schema_file = schema_for(example)
    schema = lxml_schema(schema_file)
    tree = etree.parse(str(example), _parser())
    assert schema.validate(tree), schema.error_log
    ok, stderr = xmllint_valid(schema_file, example)
    assert ok, stderr


@pytest.mark.parametrize("example", VALID_EXAMPLES, ids=_ids(VALID_EXAMPLES))
def test_valid_example_has_valid_check_digits(example: Path) -> None:
    tree = etree.parse(str(example), _parser())
    assert identifier_faults(tree) == []
    assert tree.docinfo.doctype == ""


@pytest.mark.parametrize("example", VALID_EXAMPLES, ids=_ids(VALID_EXAMPLES))
def test_xmlschema_decodes_example(example: Path) -> None:
    spec = CATALOGUE[example.stem]
    schema = decoder(spec["schema"])
    data = schema.to_dict(str(example), validation="strict")
    assert isinstance(data, dict)
    assert data["hode"]["meldingsid"]
    assert data["hode"]["avsender"]["orgnr"] != data["hode"]["mottaker"]["orgnr"]


# ----- the catalogue -----


@pytest.mark.parametrize("message_type", sorted(CATALOGUE))
def test_catalogue_entry_resolves_against_its_example(message_type: str) -> None:
    spec = CATALOGUE[message_type]
    assert spec["namespace"] == f"urn:no:dsve:{spec['family']}:v1"
    assert spec["schema"] == f"{spec['family']}.xsd"
    assert spec["description"]
    roles = {role.value for role in Role}
    assert spec["sender_roles"] and set(spec["sender_roles"]) <= roles
    assert spec["recipient_roles"] and set(spec["recipient_roles"]) <= roles

    root = etree.parse(str(EXAMPLES / f"{message_type}.xml"), _parser()).getroot()
    assert root.tag == f"{{{spec['namespace']}}}{message_type}"
    assert set(spec["paths"]) == {
        "message_id",
        "created",
        "sender",
        "recipient",
        "sender_reference",
        "recipient_reference",
    }
    for field, path in spec["paths"].items():
        xpath = "/".join(f"n:{step}" for step in path.split("/"))
        found = root.xpath(xpath, namespaces={"n": spec["namespace"]})
        if field == "recipient_reference":
            assert len(found) <= 1, path
        else:
            assert len(found) == 1, (field, path)
            assert (found[0].text or "").strip(), (field, path)


def test_intention_change_goes_both_ways() -> None:
    spec = CATALOGUE["intensjonsendring"]
    assert set(spec["sender_roles"]) == set(spec["recipient_roles"]) == {"bank", "megler"}


def test_replies_carry_the_requests_reference() -> None:
    """A reply copies the request's avsendersReferanse into mottakersReferanse (the correlation rule)."""
    pairs = [
        ("intensjonFraBank", "intensjonssvarFraMegler"),
        ("pantedokument", "pantedokumentKvittering"),
        ("kjoepekontraktforespoersel", "kjoepekontraktsvar"),
        ("restgjeldsforespoersel", "restgjeldssvar"),
        ("innfrielsessaldoforespoersel", "innfrielsessaldosvar"),
        ("finansieringsforespoersel", "finansieringssvar"),
        ("tinglysingsforsendelse", "forsendelsesstatus"),
    ]

    def field(message_type: str, name: str) -> str | None:
        spec = CATALOGUE[message_type]
        root = etree.parse(str(EXAMPLES / f"{message_type}.xml"), _parser()).getroot()
        return root.findtext("/".join(f"{{{spec['namespace']}}}{s}" for s in spec["paths"][name].split("/")))

    for request, reply in pairs:
        assert field(reply, "recipient_reference") == field(request, "sender_reference"), reply
        assert field(reply, "sender") == field(request, "recipient"), reply


# ----- invalid examples -----


def _verdict(example: Path) -> tuple[str, int]:
    first, second = example.read_text(encoding="utf-8").splitlines()[:2]
    verdict = _VERDICT.fullmatch(first)
    fault = _FAULT_LINE.fullmatch(second)
    assert verdict and fault, f"{example.name}: the first two lines must state the verdict and the fault line"
    return verdict.group(1), int(fault.group(1))


def test_invalid_examples_cover_every_family() -> None:
    by_family: dict[str, list[str]] = {family: [] for family in FAMILIES}
    for example in INVALID_EXAMPLES:
        family = example.stem.split("-")[0]
        assert family in by_family, example.name
        by_family[family].append(example.name)
    assert all(len(names) >= 2 for names in by_family.values()), by_family
    rule_faults = [example for example in INVALID_EXAMPLES if _verdict(example)[0] == "rule"]
    assert len(rule_faults) >= 3


@pytest.mark.parametrize("example", INVALID_EXAMPLES, ids=_ids(INVALID_EXAMPLES))
def test_invalid_example_gets_its_verdict(example: Path) -> None:
    verdict, fault_line = _verdict(example)
    family = example.stem.split("-")[0]
    schema_file = f"{family}.xsd"
    assert schema_for(example) == schema_file
    tree = etree.parse(str(example), _parser())
    schema = lxml_schema(schema_file)
    lxml_ok = schema.validate(tree)
    xmllint_ok, stderr = xmllint_valid(schema_file, example)
    if verdict == "schema":
        assert not lxml_ok
        assert not xmllint_ok
        assert [error.line for error in schema.error_log] == [fault_line], schema.error_log
        assert f"{example.name}:{fault_line}:" in stderr
        assert identifier_faults(tree) == []
    else:
        assert lxml_ok, schema.error_log
        assert xmllint_ok, stderr
        faults = identifier_faults(tree)
        assert len(faults) == 1, faults
        value = faults[0].split("=", 1)[1]
        assert value in example.read_text(encoding="utf-8").splitlines()[fault_line - 1]


@pytest.mark.parametrize("example", INVALID_EXAMPLES, ids=_ids(INVALID_EXAMPLES))
def test_xmlschema_agrees_on_invalid_example(example: Path) -> None:
    verdict, _ = _verdict(example)
    schema = decoder(f"{example.stem.split('-')[0]}.xsd")
    assert schema.is_valid(str(example)) is (verdict == "rule")


# ----- signed documents still validate -----


def test_signed_example_validates(test_pki) -> None:
    """The optional enveloped ds:Signature and the inner signatures fit the schema as signxml writes them."""
    from broker.xml.signing import sign_enveloped, sign_inner_document

    tree = etree.parse(str(EXAMPLES / "pantedokument.xml"), _parser())
    ns = CATALOGUE["pantedokument"]["namespace"]
    container = tree.getroot().find(f"{{{ns}}}signaturer")
    for fodselsnummer in ("15889210181", "03928810037"):
        sign_inner_document(tree.getroot(), "pant-1", container, test_pki.credential(fodselsnummer))
    signed = sign_enveloped(tree.getroot(), test_pki.credential("910000004"))
    assert len(container) == 2
    assert signed[-1].tag == f"{{{DS_NS}}}Signature"
    schema = lxml_schema("pant.xsd")
    assert schema.validate(signed.getroottree()), schema.error_log
    assert decoder("pant.xsd").is_valid(etree.tostring(signed).decode())


def test_a_signed_pant_moves_into_the_deed_package_unchanged(test_pki) -> None:
    """The mortgagors sign the pant inside a pantedokument; the same element and signatures, copied into the
    deed package, validate there and verify there: the document namespace travels with the document."""
    from broker.xml.signing import sign_inner_document
    from broker.xml.trust import TrustStore
    from broker.xml.verification import SignatureVerifier

    verifier = SignatureVerifier(TrustStore([test_pki.ca_certificate()]))
    deed = etree.parse(str(EXAMPLES / "pantedokument.xml"), _parser()).getroot()
    pant = deed.find(f"{{{DOKUMENT_NS}}}pant")
    buyers = {"15889210181", "03928810037"}
    for fodselsnummer in sorted(buyers):
        sign_inner_document(deed, "pant-1", pant.getnext(), test_pki.credential(fodselsnummer))
    assert {s.fodselsnummer for s in verifier.verify_inner(deed, "pant-1")} == buyers

    package = etree.parse(str(EXAMPLES / "tinglysingsforsendelse.xml"), _parser()).getroot()
    placeholder = package.find(f".//{{{DOKUMENT_NS}}}pant")
    container = placeholder.getnext()
    moved = copy.deepcopy(pant)
    moved.tail = placeholder.tail
    placeholder.getparent().replace(placeholder, moved)
    container.extend(copy.deepcopy(signature) for signature in pant.getnext())

    assert lxml_schema("tinglysing.xsd").validate(package), lxml_schema("tinglysing.xsd").error_log
    assert decoder("tinglysing.xsd").is_valid(etree.tostring(package).decode())
    assert {s.fodselsnummer for s in verifier.verify_inner(package, "pant-1")} == buyers


# ----- the broker's own validation agrees -----


@pytest.fixture(scope="module")
def broker_catalogue():
    from broker.xml.catalogue import Catalogue

    catalogue = Catalogue.load(XSD_DIR)
    catalogue.compile_all()
    return catalogue


@pytest.mark.parametrize("example", VALID_EXAMPLES + INVALID_EXAMPLES, ids=_ids(VALID_EXAMPLES + INVALID_EXAMPLES))
def test_broker_validation_gives_the_stated_verdict(example: Path, broker_catalogue) -> None:
    from broker.config import XmlLimits
    from broker.domain.errors import Error
    from broker.xml.validation import validate_bytes

    report = validate_bytes(example.read_bytes(), broker_catalogue, XmlLimits())
    if example.parent == EXAMPLES:
        assert report.ok, report.as_dict()
        assert report.message_type == example.stem
        return
    verdict, fault_line = _verdict(example)
    assert report.error is (Error.SCHEMA_INVALID if verdict == "schema" else Error.RULE_VIOLATION)
    assert [issue.line for issue in report.issues] == [fault_line], report.as_dict()


@pytest.mark.parametrize("example", VALID_EXAMPLES + INVALID_EXAMPLES, ids=_ids(VALID_EXAMPLES + INVALID_EXAMPLES))
def test_dsve_validate_agrees_with_xmllint(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`dsve validate` exits 0 for a valid example and 1 for an invalid one, pointing at the fault line.

    On schema faults its verdict is xmllint's; rule faults pass xmllint (check digits are no XSD matter) and
    only the broker's rules refuse them.
    """
    from broker.cli import main

    exit_code = main(["validate", str(example)])
    output = capsys.readouterr().out
    xmllint_ok, _ = xmllint_valid(schema_for(example), example)
    if example.parent == EXAMPLES:
        assert exit_code == 0, output
        assert xmllint_ok
        return
    verdict, fault_line = _verdict(example)
    assert exit_code == 1, output
    assert xmllint_ok is (verdict == "rule")
    assert f"{example}:{fault_line}:" in output


def test_dsve_validate_walks_the_examples_directory(capsys: pytest.CaptureFixture[str]) -> None:
    from broker.cli import main

    assert main(["validate", str(EXAMPLES)]) == 1
    output = capsys.readouterr().out
    assert f"{len(VALID_EXAMPLES) + len(INVALID_EXAMPLES)} files" in output
    for example in INVALID_EXAMPLES:
        assert str(example) in output

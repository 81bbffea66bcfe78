"""Inner documents and the people who must sign them: every signature verified, every named signer present.

A ``pantedokument`` carries the buyers' mortgage (``pant``) signed by every mortgagor; a deed package
carries transfers signed by the sellers and deletions signed by the right's holder. Until the broker checked
them, a bank could send a mortgage whose ``signaturer`` was empty and only the recipient found out. The
documents and their signers are declared next to the catalogue (``signed_documents.toml``); each signature
is verified against the trusted CAs (personal certificates carry the fødselsnummer, enterprise ones the
orgnr), and a document is refused when someone it names as a signer has not signed it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from broker.domain.errors import Error, Refusal
from broker.domain.identifiers import mask_fodselsnummer
from broker.xml.trust import SignerIdentity
from broker.xml.verification import SignatureVerifier

SIGNED_DOCUMENTS_FILE = "signed_documents.toml"
_ID_ATTRIBUTES = ("Id", "ID", "id")


@dataclass(frozen=True, slots=True)
class SignedDocument:
    """One kind of inner document: its qualified name and the paths (from it) to who must sign it."""

    tag: str  # {namespace}localname
    signer_paths: tuple[etree.XPath, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class SignedDocuments:
    documents: Mapping[str, SignedDocument]

    @classmethod
    def load(cls, xsd_dir: Path) -> SignedDocuments:
        """Read ``signed_documents.toml`` in ``xsd_dir``; none declared when the file is absent."""
        path = xsd_dir / SIGNED_DOCUMENTS_FILE
        if not path.exists():
            return cls({})
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{path}: cannot read the signed documents: {exc}") from exc
        documents: dict[str, SignedDocument] = {}
        for name, table in raw.items():
            namespace, signers = table.get("namespace", ""), table.get("signers", [])
            if not isinstance(namespace, str) or not isinstance(signers, list) or not signers:
                raise ValueError(f"{path}: [{name}] needs a namespace and a list of signers")
            compiled = tuple(etree.XPath(_qualified(p), namespaces={"d": namespace}) for p in signers)
            tag = f"{{{namespace}}}{name}" if namespace else name
            documents[tag] = SignedDocument(tag, compiled, str(table.get("description", "")))
        return cls(documents)

    def check(self, root: etree._Element, verifier: SignatureVerifier) -> None:
        """Refuse unless every declared inner document under ``root`` is signed by everyone it names.

        ``root`` belongs to the caller's thread alone (a ``VerifiedDocument``'s root): its inner documents are
        canonicalised in place, not in a copy per signature."""
        if not self.documents:
            return
        for element in root.iter(*self.documents):
            document = self.documents.get(str(element.tag))
            if document is not None:
                _check_document(element, document, root, verifier)


def _qualified(path: str) -> str:
    """``a/b/c`` as an XPath of elements in the document's namespace, text only (``d:a/d:b/d:c/text()``)."""
    return "/".join(f"d:{step}" for step in path.split("/")) + "/text()"


def named_signers(element: etree._Element, document: SignedDocument) -> set[str]:
    named: set[str] = set()
    for path in document.signer_paths:
        found = path(element)
        assert isinstance(found, list)
        named.update(str(text).strip() for text in found if str(text).strip())
    return named


def _who(identifier: str) -> str:
    return mask_fodselsnummer(identifier) if len(identifier) == 11 else identifier


def _signed_by(identity: SignerIdentity) -> set[str]:
    return {value for value in (identity.fodselsnummer, identity.orgnr) if value}


def _check_document(
    element: etree._Element, document: SignedDocument, root: etree._Element, verifier: SignatureVerifier
) -> None:
    name = etree.QName(element).localname
    element_id = next((element.get(a) for a in _ID_ATTRIBUTES if element.get(a)), None)
    if element_id is None:
        raise Refusal(Error.SIGNER_MISSING, f"the {name} has no Id, so nobody can have signed it")
    try:
        signers = verifier.verify_inner(root, element_id, owned=True)  # the checked message's own tree
    except Refusal as refusal:
        raise Refusal(refusal.error, f"the {name} {element_id!r}: {refusal.detail}", refusal.issues) from refusal
    signed = set().union(*(_signed_by(identity) for identity in signers))
    missing = sorted(named_signers(element, document) - signed)
    if missing:
        who = ", ".join(_who(identifier) for identifier in missing)
        raise Refusal(Error.SIGNER_MISSING, f"the {name} {element_id!r} is not signed by {who}")

"""The registration use case: judge a deed package and, when every control passes, register it whole.

The rules and the writes run in one database transaction with the touched units locked (row locks on
PostgreSQL; SQLite lets one writer at a time), so two packages on the same unit are judged one after the
other and neither sees the other half-done. ``process_package`` works
on plain objects; ``handle_submission`` is the same use case for a verified XML tree, answering the signed
status messages, so any transport (the broker's queue, a test, the demo) can drive it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from broker.domain.errors import Error, Refusal
from broker.xml.keys import SigningCredential
from broker.xml.verification import SIGNATURE_TAG, SignatureVerifier, require_signer_orgnr
from participants.kartverket.controls import Control, ControlResult, Outcome, outcome_of
from participants.kartverket.messages import (
    AVSLUTTET,
    MOTTATT,
    NAMESPACE,
    DecodedDocument,
    StatusReport,
    SubmissionUnreadable,
    decode_submission,
    signed_status,
)
from participants.kartverket.model import Operation, Package, Party, RegisteredDocument, SignedDocument, Signers
from participants.kartverket.register import LandRegister
from participants.kartverket.rules import assess
from participants.kartverket.seed import KARTVERKET


@dataclass(frozen=True, slots=True)
class Decision:
    """The end of one package: outcome, every failed control, and what was registered (empty for
    ``valider`` and for a refusal)."""

    innsendingsreferanse: str
    operation: Operation
    outcome: Outcome | None
    results: tuple[ControlResult, ...] = ()
    registered: tuple[RegisteredDocument, ...] = ()


async def receive(package: Package, register: LandRegister) -> bool:
    """A ``tinglys`` package's reference is noted at receipt, per submitter, whatever its outcome; False when
    the submitter has used it before (the package is then refused there and then). ``valider`` uses none."""
    if package.operation is not Operation.TINGLYS:
        return True
    async with register.transaction() as tx:
        return await tx.receive(package.sender_orgnr, package.innsendingsreferanse, register.clock())


def _repeated(package: Package) -> Decision:
    result = ControlResult(Control.INNSENDINGSREFERANSE_BRUKT, None, package.innsendingsreferanse)
    return Decision(package.innsendingsreferanse, package.operation, Outcome.AVVIST, (result,))


async def process_package(package: Package, register: LandRegister, *, received: bool = False) -> Decision:
    """Judge ``package`` against the register and register it when it passes and the operation is
    ``tinglys``. All documents are written in one transaction: any failure leaves the register untouched.
    ``received``: the caller has already noted its reference (``receive``)."""
    if not received and not await receive(package, register):
        return _repeated(package)
    async with register.transaction() as tx:
        state = await tx.load_state(package)
        results = assess(package, state)
        registered: list[RegisteredDocument] = []
        outcome: Outcome | None = outcome_of(results)
        if outcome is Outcome.TINGLYST and package.operation is Operation.TINGLYS:
            registered = await tx.register(package, register.clock())
        elif outcome is Outcome.TINGLYST:
            outcome = None  # a validation that finds nothing has no outcome: never read as a registration
    return Decision(package.innsendingsreferanse, package.operation, outcome, tuple(results), tuple(registered))


def _signers_of(verifier: SignatureVerifier, root: etree._Element, decoded: DecodedDocument) -> SignedDocument:
    """The document with the identities its valid signatures prove; a missing or bad signature is recorded
    for the rules to report, so one bad document does not hide the others' findings."""
    try:
        identities = verifier.verify_inner(root, decoded.element_id)
    except Refusal as refusal:
        if refusal.error is Error.SIGNATURE_MISSING:
            return SignedDocument(decoded.document, Signers())
        return SignedDocument(decoded.document, Signers(), refusal.detail or refusal.error.spec.title)
    persons = frozenset(i.fodselsnummer for i in identities if i.fodselsnummer)
    organisations = frozenset(i.orgnr for i in identities if i.orgnr)
    return SignedDocument(decoded.document, Signers(persons, organisations))


def _verified_root(tree: etree._Element | etree._ElementTree, verifier: SignatureVerifier) -> etree._Element:
    """The signed content: a tree still carrying the sender's enveloped signature is verified here and the
    verifier's copy used; a tree without one is taken as the content a caller has already verified."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    if len(root) and root[-1].tag == SIGNATURE_TAG:
        verified = verifier.verify_enveloped(root)
        sender = verified.root.find(f"{{{NAMESPACE}}}hode/{{{NAMESPACE}}}avsender/{{{NAMESPACE}}}orgnr")
        require_signer_orgnr(verified.signer, sender.text if sender is not None and sender.text else "")
        return verified.root
    return root


async def handle_submission(
    tree: etree._Element | etree._ElementTree,
    verifier: SignatureVerifier,
    register: LandRegister,
    credential: SigningCredential,
    kartverket: Party = KARTVERKET,
) -> list[bytes]:
    """Answer one ``tinglysingsforsendelse``: the signed MOTTATT status, then the signed AVSLUTTET status
    with the outcome; a reference the sender has used before gets only the AVSLUTTET/AVVIST status. Raises
    Refusal when the sender's own signature fails, and SubmissionUnreadable when the package is too broken
    to say whom to answer: neither can be answered safely."""
    root = _verified_root(tree, verifier)
    final: StatusReport | None
    try:
        submission = decode_submission(root)
    except SubmissionUnreadable as unreadable:
        if unreadable.header is None:
            raise
        header = unreadable.header
        reference = _text(root, "innsendingsreferanse") or header.sender_reference
        finding = ControlResult(Control.FORSENDELSE_UGYLDIG, None, "; ".join(unreadable.problems)[:3500])
        final = StatusReport(reference, AVSLUTTET, Outcome.AVVIST, (finding,))
    else:
        header = submission.header
        reference = submission.innsendingsreferanse
        final = None
    if final is None:
        package = Package(
            reference,
            submission.operation,
            tuple(_signers_of(verifier, root, decoded) for decoded in submission.documents),
            header.sender.ident,
        )
        if not await receive(package, register):  # refused at receipt: never MOTTATT
            repeated = _repeated(package)
            final = StatusReport(reference, AVSLUTTET, repeated.outcome, repeated.results)
            return [signed_status(final, header, kartverket, register.clock(), credential)]
    received = signed_status(StatusReport(reference, MOTTATT), header, kartverket, register.clock(), credential)
    if final is None:
        decision = await process_package(package, register, received=True)
        final = StatusReport(reference, AVSLUTTET, decision.outcome, decision.results, decision.registered)
    return [received, signed_status(final, header, kartverket, register.clock(), credential)]


def _text(root: etree._Element, name: str) -> str:
    element = root.find(f"{{{NAMESPACE}}}{name}")
    return (element.text or "").strip() if element is not None else ""

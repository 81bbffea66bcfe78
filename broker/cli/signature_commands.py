"""Subcommands: ``dsve sign``, ``dsve verify`` and ``dsve pki init``.

Exit codes follow the CLI's rule: 0 ok, 1 a finding (a signature refused), 2 usage or unreadable input.
Every ``dsve`` invocation imports this module to build its parser, so the signing, verification and PKI
modules (cryptography, signxml, lxml) are imported inside the commands that use them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from broker.domain.identifiers import is_valid_fodselsnummer, is_valid_orgnr, mask_fodselsnummer


def _pair(kind: str, is_valid: Callable[[str], bool]) -> Callable[[str], tuple[str, str]]:
    """An argparse type for ``ID:NAME`` whose ID passes its check-digit rule."""

    def parse(value: str) -> tuple[str, str]:
        identifier, sep, name = value.partition(":")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected {kind}:NAME, got {value!r}")
        if not is_valid(identifier):
            shown = identifier if kind == "ORGNR" else mask_fodselsnummer(identifier)
            raise argparse.ArgumentTypeError(f"{shown} is not a valid {kind.lower()}")
        return identifier, name.strip()

    parse.__name__ = kind.lower()
    return parse


def _sign(args: argparse.Namespace) -> int:
    from broker.domain.errors import Refusal
    from broker.xml.keys import CredentialError, SigningCredential
    from broker.xml.signing import SigningError, sign_enveloped_bytes

    try:
        cred = SigningCredential.from_files(args.key, args.cert)
        data = Path(args.input).read_bytes()
    except (OSError, CredentialError) as exc:
        print(f"dsve sign: {exc}", file=sys.stderr)
        return 2
    try:
        signed = sign_enveloped_bytes(data, cred)
    except Refusal as exc:
        print(f"dsve sign: {args.input}: {exc.detail}", file=sys.stderr)
        return 2
    except SigningError as exc:
        print(f"dsve sign: {args.input}: {exc}", file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_bytes(signed)
    else:
        sys.stdout.buffer.write(signed)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from broker.config import XmlLimits
    from broker.domain.errors import Refusal
    from broker.xml.parsing import parse_xml
    from broker.xml.trust import TrustStore
    from broker.xml.verification import SignatureVerifier

    try:
        trust = TrustStore.from_pem_files(args.ca)
    except (OSError, ValueError) as exc:
        print(f"dsve verify: cannot load the trust store: {exc}", file=sys.stderr)
        return 2
    try:
        tree = parse_xml(Path(args.input).read_bytes(), XmlLimits())
    except OSError as exc:
        print(f"dsve verify: {exc}", file=sys.stderr)
        return 2
    except Refusal as exc:
        print(f"dsve verify: {args.input}: unreadable: {exc.detail}", file=sys.stderr)
        return 2
    try:
        verified = SignatureVerifier(trust).verify_enveloped(tree)
    except Refusal as exc:
        print(f"{args.input}: refused: {exc.error.spec.code} {exc.error.spec.slug}: {exc.detail}")
        return 1
    print(f"{args.input}: signature valid; signed by {verified.signer.display}")
    return 0


def _pki_init(args: argparse.Namespace) -> int:
    from broker.xml.pki import DEMO_ORGANISATIONS, DEMO_PERSONS, init_test_pki

    chosen = bool(args.org or args.person)
    organisations = args.org if chosen else list(DEMO_ORGANISATIONS)
    persons = args.person if chosen else list(DEMO_PERSONS)
    try:
        pki = init_test_pki(args.directory, organisations or [], persons or [], key_type=args.key_type)
    except OSError as exc:
        print(f"dsve pki init: {exc}", file=sys.stderr)
        return 2
    print(f"CA certificate: {pki.ca_cert_path}")
    for orgnr, files in pki.enterprise.items():
        print(f"enterprise {orgnr}: {files.cert_path}")
    names = dict(persons or [])
    for fnr in pki.persons:
        print(f"person {mask_fodselsnummer(fnr)} {names.get(fnr, '')}: in {pki.directory / 'persons'}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this group's subcommands."""
    sign = subparsers.add_parser("sign", help="sign an XML document with an enveloped XML-DSig signature")
    sign.add_argument("--key", required=True, help="PEM private key (RSA or EC P-256)")
    sign.add_argument("--cert", required=True, help="PEM certificate, optionally followed by intermediates")
    sign.add_argument("input", metavar="IN", help="the XML document to sign")
    sign.add_argument("-o", "--output", metavar="OUT", help="where to write the signed document (default stdout)")
    sign.set_defaults(func=_sign)

    verify = subparsers.add_parser("verify", help="verify a document's enveloped signature against trusted CAs")
    verify.add_argument("--ca", action="append", required=True, help="a trusted CA certificate (PEM); repeatable")
    verify.add_argument("input", metavar="IN", help="the signed XML document")
    verify.set_defaults(func=_verify)

    pki = subparsers.add_parser("pki", help="the test PKI")
    pki_commands = pki.add_subparsers(dest="pki_command", metavar="COMMAND")
    init = pki_commands.add_parser(
        "init",
        help="create a test CA with enterprise and personal certificates (default: the demo identities)",
    )
    init.add_argument("directory", metavar="DIR")
    init.add_argument("--org", action="append", type=_pair("ORGNR", is_valid_orgnr), metavar="ORGNR:NAME")
    init.add_argument("--person", action="append", type=_pair("FNR", is_valid_fodselsnummer), metavar="FNR:NAME")
    init.add_argument("--key-type", choices=("rsa", "ec"), default="rsa")
    init.set_defaults(func=_pki_init)

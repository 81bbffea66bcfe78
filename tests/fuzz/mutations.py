"""Mutators: from a seed and a ``random.Random``, a hostile variant.

Three kinds. Byte mutations (flip, insert, delete, repeat, splice two seeds, insert a token the parser
must treat with care) test the hardened parser and everything behind it on raw input. Tree mutations
(change a text value, an attribute, a name, a namespace; duplicate, drop or move an element; wrap text in
a comment or CDATA) make documents that parse, and, signed again by their sender, reach the checks behind
the signature: identifier rules, routing fields, inner signatures. Grant mutations change one header
field or claim of a JWT bearer grant, signed again or not, or its compact form.

Everything is driven by the ``random.Random`` it is given, so the Hypothesis test (``st.randoms``) and
the long run share one mutator and a finding can be replayed from its seed.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import random
import time
import uuid
import warnings
import zipfile

import jwt
from cryptography.hazmat.primitives import serialization
from lxml import etree

from tests.fuzz.world import AUDIENCE, World

TOKENS: tuple[bytes, ...] = (
    b"<!-- x -->",
    b"<!---->",
    b"<?pi x?>",
    b"<![CDATA[9]]>",
    b"<![CDATA[",
    b"]]>",
    b"&amp;",
    b"&lt;",
    b"&#0;",
    b"&#x10FFFF;",
    b"&#xD800;",
    b"&#65;",
    b"&e;",
    b"&",
    b'<!DOCTYPE a [<!ENTITY e "x">]>',
    b"<!DOCTYPE a SYSTEM 'http://127.0.0.1/x.dtd'>",
    b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.1"?>',
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"\xe2\x80\xae",
    b' xmlns="urn:x"',
    b' xmlns:ds="http://www.w3.org/2000/09/xmldsig#"',
    b' xml:space="preserve"',
    b' Id="pant-1"',
    b' Id="x"',
    b"<a>",
    b"</a>",
    b"<x/>",
    b"<ds:Signature/>",
    b"\r\n",
    b"\t",
    b" ",
    b"\xd9\xa3",  # ARABIC-INDIC DIGIT THREE: str.isdigit() is true, int() of it is fine, the schema refuses it
    b"\xc2\xb2",  # SUPERSCRIPT TWO: isdigit() true, int() fails
    b"9" * 40,
    b"-",
    b"+",
    b"T",
    b"Z",
    b"+14:00",
    b"9999-12-31T23:59:59",
)

TEXT_VALUES: tuple[str, ...] = (
    "",
    " ",
    "0",
    "-1",
    "00000000000",
    "000000000",
    "999999999",
    "910000004",
    "920000002",
    "930000000",
    "971040238",
    "910000005",
    "15889210181",
    "15889210182",
    "31129999999",
    "15031000006",
    "15031000007",
    "٩١٠٠٠٠٠٠٤",
    "²²²²²²²²²",
    "９１００００００４",
    "1" * 5000,
    "x" * 300,
    "2026-11-20T13:40:00+01:00",
    "2026-02-30T25:61:00",
    "2026-11-20",
    "+99999-01-01T00:00:00Z",
    "2026-11-20T13:40:00+99:00",
    "280000000000",
    "280000000001",
    "1e9",
    "NaN",
    "true",
    "\u202e",
    "\ud7ff",
    "BB-REF-0dff75-TAIL",
    "3d9a1f44-7b2e-4c51-8e06-1f2a3b4c5d6e",
    "not-a-uuid",
    "a\nb",
    "Kari Nordmann",
)

NAMES: tuple[str, ...] = (
    "orgnr",
    "foedselsnummer",
    "kontonummer",
    "meldingsid",
    "avsender",
    "mottaker",
    "avsendersReferanse",
    "mottakersReferanse",
    "opprettet",
    "matrikkelenhet",
    "kommunenummer",
    "gaardsnummer",
    "bruksnummer",
    "signaturer",
    "pant",
    "Signature",
    "x",
)


def mutate_bytes(data: bytes, rnd: random.Random, other: bytes | None = None) -> bytes:
    """One to four byte-level changes."""
    buffer = bytearray(data)
    for _ in range(rnd.randint(1, 4)):
        choice = rnd.randrange(8)
        at = rnd.randint(0, len(buffer))
        if choice == 0 and buffer:
            buffer[min(at, len(buffer) - 1)] ^= 1 << rnd.randrange(8)
        elif choice == 1:
            buffer[at:at] = bytes([rnd.randrange(256)])
        elif choice == 2 and buffer:
            del buffer[at : at + rnd.randint(1, 32)]
        elif choice == 3 and buffer:
            chunk = buffer[at : at + rnd.randint(1, 64)]
            buffer[at:at] = chunk * rnd.randint(1, 8)
        elif choice == 4 and other:
            cut = rnd.randint(0, len(other))
            buffer = buffer[:at] + bytearray(other[cut:])
        elif choice == 5:
            buffer[at:at] = rnd.choice(TOKENS)
        elif choice == 6:
            # Tokens belong between markup: put one right after a '>' near the chosen place.
            close = buffer.find(b">", at)
            if close >= 0:
                buffer[close + 1 : close + 1] = rnd.choice(TOKENS)
        else:
            start = buffer.find(b">", at)
            end = buffer.find(b"<", start + 1) if start >= 0 else -1
            if start >= 0 and end > start:
                buffer[start + 1 : end] = rnd.choice(TEXT_VALUES).encode("utf-8", "surrogatepass")
    return bytes(buffer)


def _elements(root: etree._Element) -> list[etree._Element]:
    return [element for element in root.iter() if isinstance(element.tag, str)]


def mutate_tree(root: etree._Element, rnd: random.Random) -> etree._Element:
    """One to three changes to a copy of the tree; the result is well-formed XML."""
    root = copy.deepcopy(root)
    for _ in range(rnd.randint(1, 3)):
        elements = _elements(root)
        element = rnd.choice(elements)
        choice = rnd.randrange(10)
        try:
            if choice <= 2:
                element.text = rnd.choice(TEXT_VALUES) if len(element) == 0 else element.text
                if len(element) and rnd.random() < 0.5:
                    element.text = rnd.choice(TEXT_VALUES)
            elif choice == 3 and element is not root:
                parent = element.getparent()
                if parent is not None:
                    parent.insert(parent.index(element), copy.deepcopy(element))
            elif choice == 4 and element is not root:
                parent = element.getparent()
                if parent is not None:
                    parent.remove(element)
            elif choice == 5:
                namespace = etree.QName(element).namespace
                name = rnd.choice(NAMES)
                element.tag = f"{{{namespace}}}{name}" if namespace and rnd.random() < 0.8 else name
            elif choice == 6:
                attribute = rnd.choice(("Id", "ID", "id", "versjon", "{http://www.w3.org/XML/1998/namespace}space"))
                element.set(attribute, rnd.choice(("pant-1", "x", "", "preserve", "eierskifte-1")))
            elif choice == 7:
                target = rnd.choice(elements)
                if target is not element and element not in target.iterancestors() and element is not root:
                    target.append(element)
            elif choice == 8 and element.text:
                text = element.text
                cut = rnd.randint(0, len(text))
                element.text = text[:cut]
                filler = etree.Comment(" x ") if rnd.random() < 0.7 else etree.ProcessingInstruction("x", "y")
                filler.tail = text[cut:]
                element.insert(0, filler)
            else:
                element.text = etree.CDATA(element.text or "1") if rnd.random() < 0.5 else element.text
        except (ValueError, TypeError):
            continue  # lxml refused the change itself (an invalid name or character): try another
    return root


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


JSON_VALUES: tuple[object, ...] = (
    None,
    True,
    0,
    -1,
    2**64,
    1e308,
    float("inf"),
    float("nan"),
    "",
    "x" * 300,
    [],
    {},
    ["x"],
    "910000004",
    "910000005",
    "٩١٠٠٠٠٠٠٤",
    "RS256",
    "ES256",
    "HS256",
    "none",
    "EdDSA",
    "PS256",
    AUDIENCE,
    [AUDIENCE],
)


def grant_assertion(world: World, rnd: random.Random) -> str:
    """A bearer-grant assertion: valid, or with one header field or claim changed, or its compact form."""
    orgnr = rnd.choice(sorted(world.participants))
    credential = world.credentials[orgnr]
    now = int(time.time())
    der = credential.certificate.public_bytes(serialization.Encoding.DER)
    x5c: list[object] = [base64.b64encode(der).decode("ascii")]
    claims: dict[str, object] = {
        "iss": orgnr,
        "sub": orgnr,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    header: dict[str, object] = {"x5c": x5c}
    choice = rnd.randrange(6)
    if choice == 1:
        claims[rnd.choice(("iss", "sub", "aud", "iat", "exp", "nbf", "jti"))] = rnd.choice(JSON_VALUES)
    elif choice == 2:
        header[rnd.choice(("alg", "x5c", "typ", "kid", "crit", "b64"))] = rnd.choice(JSON_VALUES)
    elif choice == 3:
        odd = rnd.choice(world.odd_certificates)
        entry = base64.b64encode(odd.public_bytes(serialization.Encoding.DER)).decode("ascii")
        header["x5c"] = rnd.choice(([entry], [entry, x5c[0]], [x5c[0], entry], [entry[:-8]], [entry] * 6))
    elif choice == 4:
        del claims[rnd.choice(sorted(claims))]
    algorithm = "ES256" if credential.is_ec else "RS256"
    if rnd.random() < 0.1:
        algorithm = "HS256"
    if algorithm == "HS256":
        key: object = b"k" * 32
    else:
        key = credential.private_key
    try:
        token = jwt.encode(claims, key, algorithm=algorithm, headers=header)  # type: ignore[arg-type]
    except Exception:  # the library would not make this token: write it by hand, with a made-up signature
        token = ".".join(
            (_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()), _b64url(b"\x00" * 64))
        )
    if choice == 5:
        parts = token.split(".")
        which = rnd.randrange(len(parts))
        raw = mutate_bytes(parts[which].encode("ascii"), rnd)
        parts[which] = raw.decode("latin-1")
        if rnd.random() < 0.2:
            parts.insert(rnd.randint(0, len(parts)), rnd.choice(("", "e30", "x")))
        token = ".".join(parts)
    return token


ZIP_NAMES: tuple[str, ...] = (
    "melding.xml",
    "vedlegg.pdf",
    "../melding.xml",
    "/etc/passwd",
    "a\\b.xml",
    "C:x.xml",
    "nested.zip",
    "MELDING.xml",
    "dir/",
    "dir/melding.xml",
    "\u00e6\u00f8\u00e5.xml",
    "x" * 300,
)


def zip_upload(world: World, rnd: random.Random) -> bytes:
    """An upload ZIP made of examples under tricky names, compressed or not, then perhaps changed byte-wise."""
    buffer = io.BytesIO()
    method = rnd.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for _ in range(rnd.randint(0, 4)):
            content = rnd.choice(world.seeds).data if rnd.random() < 0.8 else b"PK\x03\x04" + b"x" * 50
            name = rnd.choice(ZIP_NAMES)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a duplicate name is what the reader must refuse
                archive.writestr(name, content)
    data = buffer.getvalue()
    return mutate_bytes(data, rnd) if rnd.random() < 0.7 else data

"""Kartverket's example submissions, changed for one rule at a time: edits on the parsed tree, re-serialised
in the examples' own encoding."""

from __future__ import annotations

import copy

from lxml import etree

from participants.kartverket.etinglysing.schema import NAMESPACE
from tests.kartverket.etinglysing.conftest import example

NS = {"i": NAMESPACE}


class Edit:
    def __init__(self, name: str) -> None:
        self.root = etree.fromstring(example(name))

    def all(self, path: str) -> list[etree._Element]:
        found = self.root.xpath(path, namespaces=NS)
        assert isinstance(found, list) and found, path
        return [e for e in found if isinstance(e, etree._Element)]

    def one(self, path: str) -> etree._Element:
        return self.all(path)[0]

    def set(self, path: str, text: str) -> Edit:
        for element in self.all(path):
            element.text = text
        return self

    def remove(self, path: str) -> Edit:
        for element in self.all(path):
            parent = element.getparent()
            assert parent is not None
            parent.remove(element)
        return self

    def rename(self, path: str, local: str) -> Edit:
        self.one(path).tag = f"{{{NAMESPACE}}}{local}"
        return self

    def add(self, path: str, xml: str, *, after: str | None = None) -> Edit:
        """Insert ``xml`` (in the innsending namespace) as the last child of ``path``, or after its child ``after``."""
        element = etree.fromstring(f'<wrap xmlns="{NAMESPACE}">{xml}</wrap>')
        parent = self.one(path)
        anchor = parent.find(f"i:{after}", NS) if after else None
        position = parent.index(anchor) + 1 if anchor is not None else len(parent)
        for offset, child in enumerate(list(element)):
            parent.insert(position + offset, child)
        return self

    def duplicate(self, path: str) -> Edit:
        element = self.one(path)
        element.addnext(copy.deepcopy(element))
        return self

    def bytes(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="ISO-8859-1")

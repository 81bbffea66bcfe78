"""Where an element is: a readable path and its line and column in the submitted bytes.

libxml2 reports schema errors with a line and a node path like ``/*/*[3]`` but, for most of them, column 0.
A client fixing its document needs the real position, so the column is found here: the element's start
line comes from the parsed tree (``sourceline``), and that line of the source is scanned for the element's
start tag. Columns are 1-based character positions of the ``<`` of the start tag; when several elements of
the same name start on one line, the n-th start tag on the line belongs to the n-th such element. Without
the source (or when the scan finds nothing, e.g. the tag is hidden behind a comment), the column is 0.
"""

from __future__ import annotations

import re
from functools import cached_property

from lxml import etree

from broker.domain.errors import Issue

_NODE_PATH_STEP = re.compile(r"^(?:(?P<prefix>[\w.-]+):)?(?P<name>\*|[\w.-]+)(?:\[(?P<position>\d+)\])?$")


def tag_name(element: etree._Element) -> str:
    """The element's ``{namespace}name``; empty for comments and processing instructions.

    A parsed element's tag is always a string; lxml lets a program store other kinds of tag, so the
    type says more than a parsed tree holds.
    """
    tag = element.tag
    return tag if isinstance(tag, str) else ""


def local_name(element: etree._Element) -> str:
    """The tag without its namespace (``{urn:...}beloep`` is ``beloep``)."""
    return tag_name(element).rpartition("}")[2]


def _step_matches(element: etree._Element, step: re.Match[str]) -> bool:
    if step["name"] == "*":
        return True
    return local_name(element) == step["name"] and element.prefix == step["prefix"]


def readable_path(element: etree._Element) -> str:
    """``/pantedokument/pant/beloep``: local names, with ``[n]`` only where a sibling shares the name."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node)
        parent = node.getparent()
        if parent is not None:
            tag = tag_name(node)
            before = sum(1 for _ in node.itersiblings(tag, preceding=True))
            if before or next(node.itersiblings(tag), None) is not None:
                name = f"{name}[{before + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


class Locator:
    """Positions of elements in one document, for turning findings into issues."""

    def __init__(self, tree: etree._ElementTree, source: bytes | str | None = None) -> None:
        self.tree = tree
        self._source = source

    @cached_property
    def _lines(self) -> list[str] | None:
        """The source split the way libxml2 counts lines (after line-end normalisation)."""
        source = self._source
        if source is None:
            return None
        if isinstance(source, bytes):
            encoding = self.tree.docinfo.encoding or "utf-8"
            try:
                text = source.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                text = source.decode("utf-8", "replace")
            text = text.removeprefix("\ufeff")
        else:
            text = source
        return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    def element_at(self, node_path: str | None) -> etree._Element | None:
        """The element a libxml2 node path (``/*/*[3]``, ``/p:a/p:b[2]``) names, or None when it names none.

        The path is walked step by step rather than evaluated as XPath, so its prefixes need no namespace
        map: libxml2 writes ``*`` for elements in a default namespace and ``prefix:name`` otherwise.
        """
        if not node_path or not node_path.startswith("/"):
            return None
        steps = node_path[1:].split("/")
        node: etree._Element | None = None
        for step in steps:
            match = _NODE_PATH_STEP.match(step)
            if match is None:
                return None
            candidates = [self.tree.getroot()] if node is None else list(node)
            chosen = [c for c in candidates if isinstance(c.tag, str) and _step_matches(c, match)]
            position = int(match["position"] or 1)
            if len(chosen) < position:
                return None
            node = chosen[position - 1]
        return node

    def column(self, element: etree._Element) -> int:
        """The 1-based column of ``element``'s start tag on its line, or 0 when it cannot be found."""
        lines = self._lines
        line = element.sourceline or 0
        if lines is None or not 0 < line <= len(lines):
            return 0
        qualified = f"{element.prefix}:{local_name(element)}" if element.prefix else local_name(element)
        # Elements of the same name that start earlier on the same line own the earlier start tags.
        earlier = 0
        for other in self.tree.getroot().iter(tag_name(element)):
            if other is element:
                break
            if other.sourceline == line:
                earlier += 1
        pattern = re.compile("<" + re.escape(qualified) + r"(?=[\s/>])")
        for index, match in enumerate(pattern.finditer(lines[line - 1])):
            if index == earlier:
                return match.start() + 1
        return 0

    def issue(self, element: etree._Element, message: str, code: str) -> Issue:
        return Issue(message, element.sourceline or 0, self.column(element), readable_path(element), code)

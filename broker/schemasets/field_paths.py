"""Field paths of a mapping file (``avsender/@id``, ``//person/@id``) compiled to XPath.

A mapping file names fields the way a reader of the schema would, relative to the root element; the set's
namespace (or none, for a schema without a target namespace) is added to every element step here, so the
mapping never repeats it. Only plain steps are allowed (names, ``*``, ``[n]``, a final ``@attribute``, a
leading ``//`` for "anywhere"): a mapping file is configuration, not a place for arbitrary XPath.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

_PREFIX = "s"
_ELEMENT_STEP = re.compile(r"^(?P<name>\*|[A-Za-z_][\w.-]*)(?:\[(?P<position>[1-9]\d{0,3})\])?$")
_ATTRIBUTE_STEP = re.compile(r"^@(?P<name>[A-Za-z_][\w.-]*)$")


class FieldPathError(ValueError):
    """A field path that is not of the allowed plain form."""


@dataclass(frozen=True, slots=True)
class FieldPath:
    """One compiled field path; :meth:`values` gives the text of every element or attribute it selects."""

    source: str
    xpath: etree.XPath

    def nodes(self, root: etree._Element) -> list[etree._Element | str]:
        found = self.xpath(root)
        return list(found) if isinstance(found, list) else []

    def values(self, root: etree._Element) -> list[tuple[etree._Element, str]]:
        """``(element, text)`` per match; for an attribute the element is its owner."""
        out: list[tuple[etree._Element, str]] = []
        for node in self.nodes(root):
            if isinstance(node, etree._Element):
                out.append((node, (node.text or "").strip()))
            elif isinstance(node, str):
                owner = node.getparent() if hasattr(node, "getparent") else None
                if isinstance(owner, etree._Element):
                    out.append((owner, node.strip()))
        return out

    def first(self, root: etree._Element) -> str | None:
        values = self.values(root)
        return (values[0][1] or None) if values else None


def compile_field_path(path: str, namespace: str) -> FieldPath:
    """Compile ``path`` relative to the root element, element steps in ``namespace`` ("" for none)."""
    text = path.strip()
    anywhere = text.startswith("//")
    steps = [step for step in text.lstrip("/").split("/")]
    if not steps or any(not step for step in steps):
        raise FieldPathError(f"field path {path!r} has an empty step")
    compiled: list[str] = []
    for index, step in enumerate(steps):
        attribute = _ATTRIBUTE_STEP.match(step)
        if attribute is not None:
            if index != len(steps) - 1:
                raise FieldPathError(f"field path {path!r}: an attribute may only be the last step")
            compiled.append(f"@{attribute['name']}")
            continue
        element = _ELEMENT_STEP.match(step)
        if element is None:
            raise FieldPathError(f"field path {path!r}: step {step!r} is not a name, *, name[n] or @attribute")
        name = element["name"]
        qualified = name if name == "*" or not namespace else f"{_PREFIX}:{name}"
        position = f"[{element['position']}]" if element["position"] else ""
        compiled.append(qualified + position)
    expression = ("descendant-or-self::node()/" if anywhere else "") + "/".join(compiled)
    if anywhere and compiled[0].startswith("@"):
        expression = "descendant-or-self::*/" + "/".join(compiled)
    namespaces = {_PREFIX: namespace} if namespace else None
    try:
        return FieldPath(text, etree.XPath(expression, namespaces=namespaces))
    except etree.XPathSyntaxError as exc:
        raise FieldPathError(f"field path {path!r}: {exc}") from exc

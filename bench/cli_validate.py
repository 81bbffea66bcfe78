"""Benchmark: ``dsve validate DIR`` against ``xmllint --noout --schema`` on the same generated files.

Generates variants of every ``xsd/examples/*.xml`` (new message ids, references and amounts; about one in
twenty made invalid, half against the schema and half against an identifier rule) into a temporary
directory, one subdirectory per message type. Then it times ``dsve validate DIR`` and xmllint run once per
schema file over that schema's files, and prints both wall times and their ratio (goal: dsve/xmllint ≤ 1).
xmllint checks the schema only, so it finds fewer invalid files; both counts are printed.

    python bench/cli_validate.py            # 10,000 files
    python bench/cli_validate.py --smoke    # about 200 files, a few seconds
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
XSD_DIR = ROOT / "xsd"
sys.path.insert(0, str(ROOT))

from broker.xml.catalogue import Catalogue  # noqa: E402


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _variant(template: etree._Element, rng: random.Random, fault: str | None) -> bytes:
    root = etree.fromstring(etree.tostring(template))
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = _local(element)
        if name == "meldingsid":
            element.text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        elif name == "avsendersReferanse":
            element.text = f"REF-{rng.randrange(10**8):08d}"
        elif name.lower().endswith("beloep") and (element.text or "").strip().isdigit():
            element.text = str(rng.randrange(1, 10_000_000))
    if fault == "schema":
        target = next((e for e in root.iter() if isinstance(e.tag, str) and _local(e) == "opprettet"), None)
        if target is not None:
            target.text = "i morgen"
    elif fault == "rule":
        target = next((e for e in root.iter() if isinstance(e.tag, str) and _local(e) == "orgnr"), None)
        if target is not None and target.text:
            target.text = target.text[:8] + str((int(target.text[8]) + 1) % 10)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def generate(directory: Path, count: int, seed: int) -> tuple[dict[Path, list[str]], int, int]:
    """Write ``count`` files; answer them grouped by schema file, and the schema- and rule-faults made."""
    catalogue = Catalogue.load(XSD_DIR)
    rng = random.Random(seed)
    templates = []
    for example in sorted((XSD_DIR / "examples").glob("*.xml")):
        root = etree.parse(str(example)).getroot()
        spec = catalogue.spec_for_root(root)
        if spec is not None:
            templates.append((spec, root))
    if not templates:
        raise SystemExit("no examples in xsd/examples match the catalogue")
    by_schema: dict[Path, list[str]] = defaultdict(list)
    schema_faults = rule_faults = 0
    for n in range(count):
        spec, template = templates[n % len(templates)]
        fault = None
        if n % 20 == 7:
            fault, schema_faults = "schema", schema_faults + 1
        elif n % 20 == 17:
            fault, rule_faults = "rule", rule_faults + 1
        folder = directory / spec.name
        folder.mkdir(exist_ok=True)
        path = folder / f"{n:05d}.xml"
        path.write_bytes(_variant(template, rng, fault))
        by_schema[spec.schema_file].append(str(path))
    return by_schema, schema_faults, rule_faults


def time_dsve(directory: Path) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(["dsve", "validate", str(directory)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"dsve validate failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def time_startup(example: str, schema: Path) -> tuple[float, float]:
    """Wall time of each tool on one file: what every invocation pays before its first file."""
    runs = {"dsve": ["dsve", "validate", example], "xmllint": ["xmllint", "--noout", "--schema", str(schema), example]}
    best = {}
    for name, command in runs.items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(command, capture_output=True, check=False)
            times.append(time.perf_counter() - started)
        best[name] = min(times)
    return best["dsve"], best["xmllint"]


def time_xmllint(by_schema: dict[Path, list[str]]) -> tuple[float, int]:
    """xmllint once per schema file (it takes one schema per run), one after another."""
    invalid = 0
    started = time.perf_counter()
    for schema, files in by_schema.items():
        result = subprocess.run(
            ["xmllint", "--noout", "--nonet", "--schema", str(schema), *files],
            capture_output=True,
            text=True,
            check=False,
        )
        invalid += result.stderr.count(" fails to validate")
    return time.perf_counter() - started, invalid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="files to generate (default 10,000)")
    parser.add_argument("--smoke", action="store_true", help="about 200 files: a quick check that it all runs")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    count = 200 if args.smoke else args.count
    if shutil.which("xmllint") is None or shutil.which("dsve") is None:
        raise SystemExit("needs xmllint and the dsve command on PATH")
    directory = Path(tempfile.mkdtemp(prefix="dsve-bench-"))
    try:
        started = time.perf_counter()
        by_schema, schema_faults, rule_faults = generate(directory, count, args.seed)
        print(
            f"generated {count} files in {time.perf_counter() - started:.1f} s "
            f"({schema_faults} schema faults, {rule_faults} rule faults, {len(by_schema)} schemas)"
        )
        # Warm the page cache and the interpreter's bytecode cache, so neither run pays for the other.
        time_xmllint(by_schema)
        dsve_s, dsve_summary = time_dsve(directory)
        xmllint_s, xmllint_invalid = time_xmllint(by_schema)
        dsve_s = min(dsve_s, time_dsve(directory)[0])
        print(
            f"dsve validate: {dsve_s:6.2f} s  ({count / dsve_s:8.0f} files/s, {os.cpu_count()} cores)  {dsve_summary}"
        )
        print(
            f"xmllint:       {xmllint_s:6.2f} s  ({count / xmllint_s:8.0f} files/s)  "
            f"{xmllint_invalid} invalid (schema only)"
        )
        print(f"ratio dsve/xmllint: {dsve_s / xmllint_s:.2f}")
        schema, files = next(iter(by_schema.items()))
        dsve_start, xmllint_start = time_startup(files[0], schema)
        print(
            f"one file (startup): dsve {dsve_start:.2f} s, xmllint {xmllint_start:.3f} s; "
            f"without startup: dsve {(dsve_s - dsve_start) * 1e6 / count:.0f} µs/file, "
            f"xmllint {(xmllint_s - xmllint_start * len(by_schema)) * 1e6 / count:.0f} µs/file"
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

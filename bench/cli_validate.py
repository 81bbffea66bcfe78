"""Benchmark: ``dsve validate DIR`` against ``xmllint --noout --schema`` on the same generated files.

Generates variants of every ``xsd/examples/*.xml`` (new message ids, references and amounts; about one in
twenty made invalid, half against the schema and half against an identifier rule) into a temporary
directory, one subdirectory per message type. Then it times ``dsve validate DIR`` and xmllint run once per
schema file over that schema's files, and prints both wall times and their ratio (goal: dsve/xmllint ≤ 1).
xmllint checks the schema only, so it finds fewer invalid files; both counts are printed.

The two tools run alternately, ``--repeat`` times each, so load from other work on the machine falls on
both alike; the best and worst wall times are printed with the load average before and after. ``dsve`` is
the one installed beside this interpreter, so a version manager's shim in front of it is not timed.

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


def dsve_command() -> str | None:
    """The ``dsve`` script of this interpreter's environment, else the first on PATH."""
    beside = Path(sys.executable).parent / "dsve"
    return str(beside) if beside.is_file() else shutil.which("dsve")


def time_dsve(dsve: str, directory: Path, xsd_dir: Path) -> tuple[float, str]:
    started = time.perf_counter()
    command = [dsve, "validate", "--xsd-dir", str(xsd_dir), str(directory)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"dsve validate failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def time_startup(dsve: str, example: str, schema: Path, xsd_dir: Path) -> tuple[float, float]:
    """Wall time of each tool on one file: what every invocation pays before its first file."""
    runs = {
        "dsve": [dsve, "validate", "--xsd-dir", str(xsd_dir), example],
        "xmllint": ["xmllint", "--noout", "--schema", str(schema), example],
    }
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


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="files to generate (default 10,000)")
    parser.add_argument("--smoke", action="store_true", help="about 200 files: a quick check that it all runs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each tool, alternating (default 3)")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    count = 200 if args.smoke else args.count
    repeat = 1 if args.smoke else max(1, args.repeat)
    dsve = dsve_command()
    if shutil.which("xmllint") is None or dsve is None:
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
        time_dsve(dsve, directory, XSD_DIR)
        load_before = load_average()
        dsve_times: list[float] = []
        xmllint_times: list[float] = []
        for _ in range(repeat):
            xmllint_s, xmllint_invalid = time_xmllint(by_schema)
            xmllint_times.append(xmllint_s)
            dsve_s, dsve_summary = time_dsve(dsve, directory, XSD_DIR)
            dsve_times.append(dsve_s)
        dsve_s, xmllint_s = min(dsve_times), min(xmllint_times)
        print(
            f"dsve validate: {dsve_s:6.2f} s (worst {max(dsve_times):.2f}; {count / dsve_s:6.0f} files/s, "
            f"{os.cpu_count()} cores)  {dsve_summary}"
        )
        print(
            f"xmllint:       {xmllint_s:6.2f} s (worst {max(xmllint_times):.2f}; {count / xmllint_s:6.0f} files/s)  "
            f"{xmllint_invalid} invalid (schema only)"
        )
        load = f"load {load_before} → {load_average()}"
        print(f"ratio dsve/xmllint: {dsve_s / xmllint_s:.2f} (best runs of {repeat}; {load})")
        schema, files = next(iter(by_schema.items()))
        dsve_start, xmllint_start = time_startup(dsve, files[0], schema, XSD_DIR)
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

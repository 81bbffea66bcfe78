"""Benchmark: ``dsve validate DIR`` against ``xmllint --noout --schema`` on the same generated files.

Generates variants of every ``xsd/examples/*.xml`` (new message ids, references and amounts; about one in
twenty made invalid, half against the schema and half against an identifier rule) into a temporary
directory, one subdirectory per message type. Then it times ``dsve validate DIR`` and xmllint run once per
schema file over that schema's files, and prints both wall times and their ratio (goal: dsve/xmllint ≤ 0.9,
and one file in ≤ 60 ms with start-up).
xmllint checks the schema only, so it finds fewer invalid files; both counts are printed.

The tools run alternately, ``--repeat`` times each, so load from other work on the machine falls on all
alike; the best and worst wall times are printed with the load average before and after, and the CPU time
of the best run (user + system of the process and its workers), which a busy machine disturbs far less.
``dsve`` is the script installed beside this interpreter (a version manager's shim in front of it is not
timed), run on this checkout's code (``PYTHONPATH``). ``--baseline DIR`` times the code of another checkout
(e.g. ``git archive REV | tar -x -C DIR``) the same way in the same invocation: before and after, side by side.

    python bench/cli_validate.py                          # 10,000 files
    python bench/cli_validate.py --baseline /tmp/before   # and the same runs on another checkout's code
    python bench/cli_validate.py --smoke                  # about 200 files, a few seconds
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

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


class Timed(NamedTuple):
    wall_s: float
    cpu_s: float


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[Timed, subprocess.CompletedProcess[str]]:
    """Run ``command``; its wall time and the CPU time (user + system) of it and its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Timed(wall, cpu), result


def code_env(tree: Path) -> dict[str, str]:
    """The environment that makes ``dsve`` run the code of ``tree`` (not the installed checkout's).

    Without ``PYTHONDONTWRITEBYTECODE``: an installed command runs from compiled bytecode (pip compiles it on
    installation) and ``dsve`` caches the parsed catalogue the same way, so the warm-up run writes both;
    with the variable set, every timed run would compile the sources and parse the catalogue again.
    """
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(tree)}


def time_dsve(dsve: str, directory: Path, xsd_dir: Path, tree: Path) -> tuple[Timed, str]:
    command = [dsve, "validate", "--xsd-dir", str(xsd_dir), str(directory)]
    elapsed, result = timed(command, code_env(tree))
    if result.returncode not in (0, 1):
        raise SystemExit(f"dsve validate failed ({result.returncode}): {result.stderr.strip()}")
    return elapsed, result.stdout.strip().splitlines()[-1]


def time_startup(command: list[str], runs: int, env: dict[str, str] | None = None) -> Timed:
    """The best wall and best CPU time of ``runs`` runs on one file: what every invocation pays first."""
    times = [timed(command, env)[0] for _ in range(runs)]
    return Timed(min(t.wall_s for t in times), min(t.cpu_s for t in times))


def time_xmllint(by_schema: dict[Path, list[str]]) -> tuple[Timed, int]:
    """xmllint once per schema file (it takes one schema per run), one after another."""
    invalid = 0
    wall = cpu = 0.0
    for schema, files in by_schema.items():
        elapsed, result = timed(["xmllint", "--noout", "--nonet", "--schema", str(schema), *files])
        wall, cpu = wall + elapsed.wall_s, cpu + elapsed.cpu_s
        invalid += result.stderr.count(" fails to validate")
    return Timed(wall, cpu), invalid


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _line(name: str, runs: list[Timed], count: int, note: str) -> str:
    best = min(runs, key=lambda t: t.wall_s)
    worst = max(t.wall_s for t in runs)
    return (
        f"{name:<15}{best.wall_s:6.2f} s (worst {worst:.2f}; CPU {best.cpu_s:.2f} s; "
        f"{count / best.wall_s:6.0f} files/s)  {note}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000, help="files to generate (default 10,000)")
    parser.add_argument("--smoke", action="store_true", help="about 200 files: a quick check that it all runs")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each tool, alternating (default 3)")
    parser.add_argument("--startup-runs", type=int, default=10, help="runs on one file per tool (default 10)")
    parser.add_argument("--baseline", type=Path, help="another checkout whose code is timed alongside")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    count = 200 if args.smoke else args.count
    repeat = 1 if args.smoke else max(1, args.repeat)
    startup_runs = 2 if args.smoke else max(1, args.startup_runs)
    dsve = dsve_command()
    if shutil.which("xmllint") is None or dsve is None:
        raise SystemExit("needs xmllint and the dsve command on PATH")
    trees = {"dsve validate": ROOT}
    if args.baseline is not None:
        if not (args.baseline / "broker" / "cli" / "__init__.py").is_file():
            raise SystemExit(f"{args.baseline} is no checkout of this project")
        trees["baseline"] = args.baseline.resolve()
    directory = Path(tempfile.mkdtemp(prefix="dsve-bench-"))
    try:
        started = time.perf_counter()
        by_schema, schema_faults, rule_faults = generate(directory, count, args.seed)
        print(
            f"generated {count} files in {time.perf_counter() - started:.1f} s "
            f"({schema_faults} schema faults, {rule_faults} rule faults, {len(by_schema)} schemas; "
            f"{os.cpu_count()} cores)"
        )
        # Warm the page cache and the interpreters' bytecode caches, so no run pays for another.
        time_xmllint(by_schema)
        for tree in trees.values():
            time_dsve(dsve, directory, XSD_DIR, tree)
        load_before = load_average()
        runs: dict[str, list[Timed]] = {name: [] for name in (*trees, "xmllint")}
        summaries: dict[str, str] = {}
        for _ in range(repeat):
            xmllint_time, xmllint_invalid = time_xmllint(by_schema)
            runs["xmllint"].append(xmllint_time)
            for name, tree in trees.items():
                elapsed, summaries[name] = time_dsve(dsve, directory, XSD_DIR, tree)
                runs[name].append(elapsed)
        for name in trees:
            print(_line(name + ":", runs[name], count, summaries[name]))
        print(_line("xmllint:", runs["xmllint"], count, f"{xmllint_invalid} invalid (schema only)"))
        xmllint_s = min(t.wall_s for t in runs["xmllint"])
        load = f"load {load_before} → {load_average()}"
        for name in trees:
            label = "ratio dsve/xmllint" if name == "dsve validate" else "ratio baseline/xmllint"
            print(f"{label}: {min(t.wall_s for t in runs[name]) / xmllint_s:.2f} (best runs of {repeat}; {load})")
        schema, files = next(iter(by_schema.items()))
        one_file = {
            name: ([dsve, "validate", "--xsd-dir", str(XSD_DIR), files[0]], code_env(tree))
            for name, tree in trees.items()
        }
        one_file["xmllint"] = (["xmllint", "--noout", "--schema", str(schema), files[0]], None)
        # The floor under any Python command here: the interpreter with this environment's site hooks.
        one_file["python -c pass"] = ([sys.executable, "-c", "pass"], None)
        startup: dict[str, Timed] = {name: Timed(float("inf"), float("inf")) for name in one_file}
        for _ in range(startup_runs):  # alternating, like the batches
            for name, (command, env) in one_file.items():
                best = time_startup(command, 1, env)
                startup[name] = Timed(min(startup[name].wall_s, best.wall_s), min(startup[name].cpu_s, best.cpu_s))
        floor = startup.pop("python -c pass")
        shown = ", ".join(
            f"{name.split()[0]} {t.wall_s * 1e3:.0f} ms (CPU {t.cpu_s * 1e3:.0f})" for name, t in startup.items()
        )
        print(f"one file, start-up included (best of {startup_runs}): {shown}")
        own = ", ".join(f"{name.split()[0]} {(startup[name].wall_s - floor.wall_s) * 1e3:.0f} ms" for name in trees)
        print(
            f"the interpreter alone (python -c pass, best of {startup_runs}): {floor.wall_s * 1e3:.0f} ms "
            f"(CPU {floor.cpu_s * 1e3:.0f}); above it: {own}"
        )
        per_file = ", ".join(
            f"{name.split()[0]} {(min(t.wall_s for t in runs[name]) - startup[name].wall_s) * 1e6 / count:.0f}"
            for name in trees
        )
        xmllint_each = (xmllint_s - startup["xmllint"].wall_s * len(by_schema)) * 1e6 / count
        print(f"without start-up, µs/file: {per_file}, xmllint {xmllint_each:.0f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

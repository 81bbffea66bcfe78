"""The long fuzz run: ``python -m tests.fuzz.run --cpu-seconds 3600 --log fuzz.log [--workers 2] [--targets T]``.

``--targets`` picks the readers: ``native`` (the submit pipeline, the token grant, the upload ZIP reader;
``targets.py``), ``intake`` (file-transfer packages of the official schema sets and their manifests, Kartverket's
forsendelse intake, bearer tokens, webhook subscriptions; ``intake_targets.py``) or ``all`` (the default).

Each worker builds its own world and runs inputs until its share of the CPU budget is spent (CPU time,
not wall time: on a busy machine the run takes longer than its budget). Every ``--every`` seconds a JSON
line goes to the log: executions, CPU seconds, findings, and how the inputs ended (accepted, or which
refusal), so the log shows the run reached the checks behind the signature. A finding is written to the
findings directory with the worker seed and execution number that replay it and its traceback; the run
goes on. Exit status 1 when anything was found.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import os
import random
import sys
import time
from pathlib import Path

from tests.fuzz.intake_targets import build_intake, one_intake_execution
from tests.fuzz.targets import Finding, Outcome, describe, one_execution
from tests.fuzz.world import build_world

# The share of inputs that go to the intake targets when both kinds run.
INTAKE_SHARE = 0.4


def _log(path: Path, record: dict[str, object]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")


def work(
    worker: int, seed: int, cpu_budget: float, log: Path, findings_dir: Path, every: float, targets: str = "all"
) -> None:
    world = build_world()
    intake = build_intake(world) if targets != "native" else None
    share = {"native": 0.0, "intake": 1.0}.get(targets, INTAKE_SHARE)

    def execute(rnd: random.Random) -> Outcome:
        if intake is not None and rnd.random() < share:
            return one_intake_execution(world, intake, rnd)
        return one_execution(world, rnd, used)

    used: set[str] = set()
    outcomes: collections.Counter[str] = collections.Counter()
    found: collections.Counter[str] = collections.Counter()
    start_cpu = time.process_time()
    started = time.time()
    last = start_cpu
    executions = 0
    while True:
        cpu = time.process_time() - start_cpu
        if cpu >= cpu_budget:
            break
        rnd = random.Random(f"{seed}:{worker}:{executions}")
        try:
            outcome = execute(rnd)
            outcomes[f"{outcome.target}:{outcome.label}"] += 1
        except Finding as finding:
            key = str(finding)[:200]
            if not found[key]:
                name = f"finding-{worker}-{executions}.txt"
                replay = f"seed {seed} worker {worker} execution {executions}\n"
                (findings_dir / name).write_text(replay + describe(finding) + "\n", encoding="utf-8")
                (findings_dir / name).with_suffix(".input").write_bytes(finding.data)
            found[key] += 1
        executions += 1
        if time.process_time() - last >= every:
            last = time.process_time()
            _progress(log, worker, executions, last - start_cpu, started, found, outcomes, final=False)
    _progress(log, worker, executions, time.process_time() - start_cpu, started, found, outcomes, final=True)
    if intake is not None:
        intake.close(world)
    world.close()


def _progress(
    log: Path,
    worker: int,
    executions: int,
    cpu: float,
    started: float,
    found: collections.Counter[str],
    outcomes: collections.Counter[str],
    *,
    final: bool,
) -> None:
    _log(
        log,
        {
            "worker": worker,
            "final": final,
            "executions": executions,
            "cpu_s": round(cpu, 1),
            "wall_s": round(time.time() - started, 1),
            "findings": sum(found.values()),
            "distinct_findings": sorted(found),
            "outcomes": dict(outcomes.most_common()),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-seconds", type=float, default=60.0, help="CPU budget of the whole run")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--log", type=Path, default=Path("fuzz.log"))
    parser.add_argument("--findings", type=Path, default=Path("fuzz-findings"))
    parser.add_argument("--every", type=float, default=60.0, help="CPU seconds between progress lines")
    parser.add_argument("--targets", choices=("all", "native", "intake"), default="all")
    args = parser.parse_args(argv)
    args.findings.mkdir(parents=True, exist_ok=True)
    share = args.cpu_seconds / args.workers
    settings = {key: str(value) for key, value in vars(args).items()}
    _log(args.log, {"start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **settings})
    processes = [
        multiprocessing.Process(
            target=work, args=(n, args.seed, share, args.log, args.findings, args.every, args.targets)
        )
        for n in range(args.workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    finals = [json.loads(line) for line in args.log.read_text().splitlines() if '"final": true' in line]
    finals = [f for f in finals if f.get("final")][-args.workers :]
    total = {
        "total_executions": sum(int(f["executions"]) for f in finals),
        "total_cpu_s": round(sum(float(f["cpu_s"]) for f in finals), 1),
        "total_findings": sum(int(f["findings"]) for f in finals),
        "pid": os.getpid(),
    }
    _log(args.log, total)
    print(json.dumps(total), file=sys.stderr)
    return 1 if total["total_findings"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What one document's checks cost: back to back, split over two threads, and alone with pauses between.

Two questions behind the check workers and the low-rate figures (bench/README.md, "check workers"): do the
checks (hardened parse, enveloped and inner signatures) run in parallel in two threads (no: they hold the
interpreter's lock), and what does the same work cost in CPU when it comes one document at a time with the
machine idle in between, as at 20 or 100 msg/s. Run: ``python -m bench.check_cost [-n 1000]``.

``--mix N`` instead times every check a submission gets (``check_document`` as a check worker runs it, the
answer's wire form included) on N messages of ``bench.e2e``'s mix, back to back: the figure to compare two
trees by, alternating ``PYTHONPATH`` between them. Where the machine's speed swings, count instructions
instead (``valgrind --tool=cachegrind``, as ``bench/README.md`` shows): a count does not move with it.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from bench.verify import NS, build_document
from broker.config import XmlLimits
from broker.xml.parsing import parse_xml
from broker.xml.pki import DEMO_PERSONS, init_test_pki
from broker.xml.signing import sign_enveloped, sign_inner_document
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier


def _threads(work: Callable[[int], None], n: int, count: int) -> float:
    """Wall µs per document with ``count`` threads sharing ``n`` documents."""
    threads = [threading.Thread(target=work, args=(n // count,)) for _ in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / n * 1e6


def _paused(work: Callable[[int], None], n: int, pause_s: float) -> float:
    """This thread's CPU µs per document when each comes after a pause."""
    spent = 0.0
    for _ in range(n):
        time.sleep(pause_s)
        before = time.thread_time()
        work(1)
        spent += time.thread_time() - before
    return spent / n * 1e6


def mix_cost(count: int, rounds: int) -> None:
    """The best of ``rounds`` passes over ``count`` messages of the e2e mix: this thread's CPU per document."""
    from bench.common import broker_env, new_deployment, presign
    from broker.config import Settings
    from broker.usecases.check_worker_process import CHECKED, WorkerCheckers, answer

    with tempfile.TemporaryDirectory() as directory:
        deployment = new_deployment(Path(directory))
        bodies = [message.body for message in presign(deployment, count, "cost")]
        settings = Settings.from_env(broker_env(deployment, Path(directory), "sqlite+aiosqlite://"))
        checkers = WorkerCheckers.load(settings)
        outcomes = {answer(checkers, body)[0] for body in bodies}
        if outcomes != {CHECKED}:
            raise SystemExit(f"the mix should pass every check: {sorted(outcomes)}")
        best = float("inf")
        for _ in range(rounds):
            before = time.thread_time()
            for body in bodies:
                answer(checkers, body)
            best = min(best, (time.thread_time() - before) / len(bodies) * 1e6)
        size = sum(map(len, bodies)) // len(bodies)
        print(f"{count} messages of the e2e mix ({size} bytes on average): {best:.0f} µs of CPU per document")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000, help="documents per measurement (a tenth with pauses)")
    parser.add_argument("--mix", type=int, metavar="N", help="time all checks on N messages of the e2e mix")
    parser.add_argument("--rounds", type=int, default=7, help="passes over the mix, best taken (default 7)")
    args = parser.parse_args()
    if args.mix:
        mix_cost(args.mix, max(1, args.rounds))
        return
    with tempfile.TemporaryDirectory() as directory:
        pki = init_test_pki(directory, [("910000004", "Nordlys Sparebank")], DEMO_PERSONS[:2], "rsa")
        limits = XmlLimits()
        root = parse_xml(build_document(0), limits).getroot()
        container = root.find(f"{{{NS}}}signaturer")
        for fnr, _ in DEMO_PERSONS[:2]:
            sign_inner_document(root, "pant-1", container, pki.credential(fnr))
        signed = etree.tostring(sign_enveloped(root, pki.credential("910000004")), xml_declaration=True)
        verifier = SignatureVerifier(TrustStore.from_pem_files([pki.ca_cert_path]))

        def work(count: int) -> None:
            for _ in range(count):
                verified = verifier.verify_enveloped(parse_xml(signed, limits), owned=True)
                verifier.verify_inner(verified.root, "pant-1")

        work(100)
        print(f"a signed deed of {len(signed)} bytes, two personal signatures; n={args.n}")
        one = _threads(work, args.n, 1)
        two = _threads(work, args.n, 2)
        print(f"one thread:  {one:7.0f} µs per document (wall)")
        print(f"two threads: {two:7.0f} µs per document (wall): {one / two:.2f}× the throughput of one")
        few = max(args.n // 10, 20)
        print(f"back to back:        {_paused(work, few, 0.0):7.0f} µs of CPU per document")
        for pause_ms in (10, 50):
            print(f"after {pause_ms:2d} ms pauses:   {_paused(work, few, pause_ms / 1000):7.0f} µs of CPU per document")


if __name__ == "__main__":
    main()

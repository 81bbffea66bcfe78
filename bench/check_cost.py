"""What one document's checks cost: back to back, split over two threads, and alone with pauses between.

Two questions behind the check workers and the low-rate figures (bench/README.md, "check workers"): do the
checks (hardened parse, enveloped and inner signatures) run in parallel in two threads (no: they hold the
interpreter's lock), and what does the same work cost in CPU when it comes one document at a time with the
machine idle in between, as at 20 or 100 msg/s. Run: ``python -m bench.check_cost [-n 1000]``.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000, help="documents per measurement (a tenth with pauses)")
    args = parser.parse_args()
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

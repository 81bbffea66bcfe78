"""`dsve sim kartverket-cases` and `dsve sim kartverket-decide`: the case officer's side of manual handling.

A submission with UAVKLART control results is registered and waits UNDER_BEHANDLING; the case officer lists
those and ends one as TINGLYST or NEKTET. The final forsendelsesstatus is printed (or written to a file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

from participants.kartverket.etinglysing.controls import Behandlingsutfall
from participants.kartverket.etinglysing.service import ETinglysing, NotPending, UnknownInnsending
from participants.kartverket.register import LandRegister


def register_cases(kinds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = kinds.add_parser("kartverket-cases", help="the Kartverket simulator's submissions in manual handling")
    decide = kinds.add_parser("kartverket-decide", help="end a submission in manual handling as TINGLYST or NEKTET")
    decide.add_argument("innsending_id", type=int)
    decide.add_argument("utfall", choices=("TINGLYST", "NEKTET"))
    decide.add_argument("-o", "--output", type=Path, help="write the final forsendelsesstatus here (default: stdout)")
    for parser in (listing, decide):
        parser.add_argument("--database-url", default=os.environ.get("DSVE_SIM_DATABASE_URL"))
        parser.add_argument("--xsd-dir", type=Path, default=None, help="default: the etinglysing schema set")
    listing.set_defaults(func=lambda args: asyncio.run(_list(args)))
    decide.set_defaults(func=lambda args: asyncio.run(_decide(args)))


async def _open(args: argparse.Namespace) -> ETinglysing:
    from broker.config import Settings

    url = args.database_url or f"sqlite+aiosqlite:///{(Settings.from_env().data_dir / 'grunnbok.db').resolve()}"
    service = ETinglysing(await LandRegister.open(url), args.xsd_dir)
    await service.prepare()
    return service


async def _list(args: argparse.Namespace) -> int:
    service = await _open(args)
    try:
        for innsending_id, innsender, reference, status in await service.pending():
            findings = json.loads(status).get("behandlingsinformasjon", {}).get("kontrollresultater", {})
            codes = ", ".join(k["kodeverdi"] for k in findings.get("kontrollresultat", []))
            print(f"{innsending_id}  innsender {innsender}  forsendelsesreferanse {reference}  {codes}")
    finally:
        await service.register.close()
    return 0


async def _decide(args: argparse.Namespace) -> int:
    service = await _open(args)
    try:
        status = await service.decide(args.innsending_id, Behandlingsutfall(args.utfall))
    except (UnknownInnsending, NotPending) as problem:
        print(f"dsve: innsending {args.innsending_id}: {problem}", flush=True)
        return 1
    finally:
        await service.register.close()
    if args.output:
        args.output.write_bytes(status)
    else:
        print(status.decode("utf-8"))
    return 0

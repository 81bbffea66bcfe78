"""Connection outages on the real RabbitMQ, limited to the connections of one test.

``rabbitmqctl close_all_connections`` would also cut every other test run sharing the server, so the
same server-side close is applied to the connections whose ``connection_name`` starts with the test's
prefix.
"""

from __future__ import annotations

import asyncio
import re

_ROW = re.compile(r"^(<[^>]+>)\s.*\{\"connection_name\",\"([^\"]*)\"\}")


async def _rabbitmqctl(*args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {err.decode(errors='replace')}")
    return out.decode(errors="replace")


async def close_connections(name_prefix: str, explanation: str = "test") -> int:
    """Close, from the server side, every connection whose name starts with ``name_prefix``; return how many."""
    listing = await _rabbitmqctl("list_connections", "pid", "client_properties", "-q")
    rows = (_ROW.match(line) for line in listing.splitlines())
    pids = [row.group(1) for row in rows if row and row.group(2).startswith(name_prefix)]
    await asyncio.gather(*(_rabbitmqctl("close_connection", pid, explanation) for pid in pids))
    return len(pids)

"""The registry's change counter is read once for every request that asked while the previous read ran,
never from a read that began before the request asked."""

from __future__ import annotations

import asyncio

from broker.store.registry_version import RegistryVersion


class _Gated(RegistryVersion):
    """Each read answers its own number once the gate opens."""

    def __init__(self) -> None:
        super().__init__(":unused:", 1.0)
        self.reads = 0
        self.gate = asyncio.Event()

    async def _read_once(self) -> int | None:
        self.reads += 1
        number = self.reads
        await self.gate.wait()
        return number


async def test_callers_that_ask_during_a_read_share_the_next_one() -> None:
    version = _Gated()
    first = asyncio.create_task(version.read())
    await asyncio.sleep(0)  # read 1 is under way
    later = [asyncio.create_task(version.read()) for _ in range(50)]
    await asyncio.sleep(0)
    version.gate.set()
    assert await first == 1
    assert set(await asyncio.gather(*later)) == {2}  # not read 1, which began before they asked
    assert version.reads == 2
    await version.close()


async def test_a_failed_read_reaches_its_callers_and_the_next_read_is_fresh() -> None:
    class _FailsOnce(_Gated):
        async def _read_once(self) -> int | None:
            number = await super()._read_once()
            if number == 1:
                raise OSError("disk I/O error")
            return number

    version = _FailsOnce()
    version.gate.set()
    failed, after = await asyncio.gather(version.read(), version.read(), return_exceptions=True)
    assert isinstance(failed, OSError)
    assert after == 2  # asked once read 1 was under way: the next read answers it
    assert await version.read() == 3
    await version.close()


async def test_close_cancels_what_waits() -> None:
    version = _Gated()
    waiting = asyncio.create_task(version.read())
    await asyncio.sleep(0)
    await version.close()
    assert (await asyncio.gather(waiting, return_exceptions=True))[0].__class__ is asyncio.CancelledError

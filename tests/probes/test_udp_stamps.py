"""An answer is timed by when it reached this machine, from the endpoint's first datagram.

The kernel turns receive stamping on for the first socket that asks for it from a work
queue, a moment after the ask; a datagram arriving before then is stamped when it is
read. An endpoint opened just before a sweep whose loop then stalls would read every
answer queued during the stall as arriving at the stall's end: the device blamed for our
delay. Over loopback, on a machine where no other socket keeps stamping on, the old
endpoint misread the first datagram of 20 of 20 fresh endpoints this way.
"""
from __future__ import annotations

import asyncio
import socket
import time

from probes.udp import UdpEndpoint


def test_a_fresh_endpoint_times_its_first_datagram_by_its_arrival():
    async def go() -> list[float]:
        waits = []
        for _ in range(10):
            got: list[float] = []
            ep = UdpEndpoint(lambda _d, _a, at: got.append(at)).open(asyncio.get_running_loop())
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
                tx.sendto(b"answer", ("127.0.0.1", ep.sock.getsockname()[1]))
                sent = time.monotonic()
                time.sleep(0.2)             # the loop stalls; the answer waits in the buffer
                assert ep.drain() == 1
            ep.close()
            waits.append(got[0] - sent)
            await asyncio.sleep(0.05)       # the kernel turns stamping off again meanwhile
        return waits
    waits = asyncio.run(go())
    # arrival within a few milliseconds of the send, never the read 0.2 s later
    assert max(waits) < 0.05, waits


def test_an_endpoint_reads_its_own_answers_not_its_stamp_check():
    # the datagram the endpoint sends itself to check the stamps is never handed on
    async def go() -> int:
        got: list[bytes] = []
        ep = UdpEndpoint(lambda d, _a, _t: got.append(d)).open(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        ep.drain()
        ep.close()
        return len(got)
    assert asyncio.run(go()) == 0

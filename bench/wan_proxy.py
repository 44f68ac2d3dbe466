#!/usr/bin/env python3
"""A WAN on loopback: a TCP proxy that delays and rate-caps what it forwards.

This kernel has no netem, so the link is emulated in user space. Each direction is one link
shared by every connection through the proxy (as parallel uploads share a bureau's line):
a chunk read from one side leaves when the link is free, takes size / rate to serialise, and
arrives one one-way delay (RTT / 2) later. A new connection's first bytes wait one RTT, as a
TCP handshake would make them. Bytes on the link plus a bounded queue in front of it are
limited, so a sender is held back (its socket blocks) rather than queued without end.

Usage: wan_proxy.py --listen PORT --target HOST:PORT --rtt-ms 40 --rate-mbit 100
Prints "listening on PORT" once ready; stops on SIGTERM. Loopback only.
"""
import argparse
import asyncio
import signal
import time

READ_SIZE = 64 * 1024


class Link:
    """One direction of the emulated line."""

    def __init__(self, rate_bytes_per_s, one_way_s, queue_bytes):
        self.rate = rate_bytes_per_s
        self.delay = one_way_s
        self.free_at = 0.0
        # What the line holds in flight (rate x delay) plus the queue in front of it.
        self.capacity = int(rate_bytes_per_s * one_way_s) + queue_bytes
        self.held = 0
        self.changed = asyncio.Condition()

    async def admit(self, size):
        """Waits for room, then returns when the chunk will arrive at the far end."""
        async with self.changed:
            while self.held + size > self.capacity and self.held > 0:
                await self.changed.wait()
            self.held += size
        now = time.monotonic()
        start = max(now, self.free_at)
        self.free_at = start + size / self.rate
        return self.free_at + self.delay

    async def release(self, size):
        async with self.changed:
            self.held -= size
            self.changed.notify_all()


async def pump(reader, writer, link, not_before):
    """Forwards one direction of one connection through `link`."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            item = await queue.get()
            if item is None:
                break
            arrive, data = item
            wait = arrive - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                pass
            await link.release(len(data))
        try:
            writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):
            pass

    delivering = asyncio.ensure_future(deliver())
    wait = not_before - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            arrive = await link.admit(len(data))
            queue.put_nowait((arrive, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait(None)
    await delivering


async def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", type=int, default=0)
    parser.add_argument("--target", required=True, help="HOST:PORT on loopback")
    parser.add_argument("--rtt-ms", type=float, required=True)
    parser.add_argument("--rate-mbit", type=float, required=True)
    parser.add_argument("--queue-kib", type=int, default=512, help="bottleneck queue in front of each link")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        raise SystemExit("the proxy forwards to loopback only")
    rate = args.rate_mbit * 1e6 / 8
    one_way = args.rtt_ms / 2000
    upstream = Link(rate, one_way, args.queue_kib * 1024)
    downstream = Link(rate, one_way, args.queue_kib * 1024)

    async def serve(client_reader, client_writer):
        handshake_done = time.monotonic() + 2 * one_way
        try:
            server_reader, server_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, upstream, handshake_done),
                             pump(server_reader, client_writer, downstream, handshake_done))
        for writer in (client_writer, server_writer):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", args.listen)
    print(f"listening on {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())

"""uvicorn's httptools protocol, sending each response's head and body in one write.

uvicorn writes the status line and headers when the app sends `http.response.start` and
the body when it sends `http.response.body`: two `send` system calls, two TCP segments,
and on a loopback or LAN connection most of the kernel's work twice. Every response of
this server is complete before it is sent (endpoints return the whole body), so holding
the head until the body's write costs no latency. Measured with
`benchmarks/bench_server.py --servers ours --phases lookup+create,get` (issue 2, point 9):
a GET by id cost 321-333 µs of server CPU with two writes and 286-291 µs with one.

Nothing else changes: an informational head (`100 Continue`, `101`) is written at once,
and whatever is held is written when the response completes without a body write (HEAD,
where uvicorn writes no body) or the connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingHttpToolsProtocol", "CoalescingTransport"]


class CoalescingTransport:
    """A transport that holds a final response head until the next write or flush."""

    __slots__ = ("_held", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + bytes(data))
        elif _is_final_head(data):
            self._held = bytes(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        """Write whatever is held (a head whose response had no body write)."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _is_final_head(data: bytes | bytearray | memoryview) -> bool:
    """A status line and headers (and nothing more) of a final, not 1xx, response."""
    head = bytes(data[:13])
    return (
        head.startswith(b"HTTP/")
        and bytes(data[-4:]) == b"\r\n\r\n"
        and len(head) == 13
        and head[9:10] != b"1"
    )


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose responses leave in one write (see the module docstring)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Flow control keeps the real transport (set above); responses go through this.
        self.transport = CoalescingTransport(transport)  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        transport = self.transport
        if isinstance(transport, CoalescingTransport):
            transport.flush()
        super().on_response_complete()

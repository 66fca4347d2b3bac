"""CoalescingTransport: a response's head and body leave in one write; nothing is lost or
held back (1xx heads, responses without a body write, closing)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from reference_server.http_protocol import CoalescingHttpToolsProtocol, CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


class _Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def _pair() -> tuple[CoalescingTransport, _Recorder]:
    raw = _Recorder()
    transport: Any = raw
    return CoalescingTransport(transport), raw


def test_head_and_body_go_out_in_one_write() -> None:
    t, raw = _pair()
    t.write(HEAD)
    assert raw.writes == []
    t.write(b"{}")
    assert raw.writes == [HEAD + b"{}"]


def test_each_response_of_a_keep_alive_connection_is_one_write() -> None:
    t, raw = _pair()
    for body in (b"{}", b"[]"):
        t.write(HEAD)
        t.write(body)
    assert raw.writes == [HEAD + b"{}", HEAD + b"[]"]


def test_informational_heads_are_written_at_once() -> None:
    t, raw = _pair()
    t.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    t.write(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\n\r\n")
    assert len(raw.writes) == 2


def test_a_head_without_body_write_is_flushed() -> None:
    t, raw = _pair()
    t.write(HEAD)
    t.flush()
    assert raw.writes == [HEAD]
    t.flush()
    assert raw.writes == [HEAD]


def test_close_writes_what_is_held_first() -> None:
    t, raw = _pair()
    t.write(HEAD)
    t.close()
    assert raw.writes == [HEAD]
    assert raw.closed
    assert t.is_closing()


def test_bytes_leave_in_order_whatever_they_look_like() -> None:
    """A body chunk that looks like a head may be held too, but only until the next write
    or the end of the response: the bytes on the wire are always those written, in order."""
    t, raw = _pair()
    parts = [HEAD, b"0\r\n\r\n", b"HTTP/1.1 200 OK\r\nx: y\r\n\r\n", b"{}"]
    for part in parts:
        t.write(part)
    t.flush()
    assert b"".join(raw.writes) == b"".join(parts)


class _Socketish(_Recorder):
    """What uvicorn's protocol asks of a transport, beyond writing."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


async def _app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"{}"})


def _serve(request: bytes) -> list[bytes]:
    """The writes uvicorn makes through CoalescingHttpToolsProtocol for raw request bytes."""

    async def run() -> list[bytes]:
        config = uvicorn.Config(
            _app, http=CoalescingHttpToolsProtocol, lifespan="off", access_log=False
        )
        config.load()
        protocol = CoalescingHttpToolsProtocol(
            config=config, server_state=ServerState(), app_state={}
        )
        raw = _Socketish()
        transport: Any = raw
        protocol.connection_made(transport)
        protocol.data_received(request)
        for _ in range(100):
            await asyncio.sleep(0)
        written = list(raw.writes)  # before connection_lost, whose close() flushes too
        protocol.connection_lost(None)
        return written

    return asyncio.run(run())


def test_through_uvicorn_a_response_is_one_write() -> None:
    writes = _serve(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n{}")


def test_through_uvicorn_a_head_response_is_written_though_no_body_is() -> None:
    writes = _serve(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(writes) == 1, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b"\r\n\r\n")

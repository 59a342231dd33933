"""Test helpers for the real-node tests: an anvil that skips or fails, and a faulty proxy.

Without anvil the real-node tests skip, except where `$FLEXEMU_REQUIRE_ANVIL` is set (CI sets
it after `npm ci`): there a missing anvil is a failure, so CI cannot pass without running them.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from arbitration.chain.anvil import AnvilNode, find_anvil, running_anvil

REQUIRE_ANVIL = "FLEXEMU_REQUIRE_ANVIL"

#: A fault plan: (JSON-RPC method, how many times it was seen including this one) -> action.
#: Actions: "forward"; "refuse" (close the connection, the node never sees the request);
#: "lose_reply" (forward, then close the connection without answering); "502"; or a JSON-RPC
#: error object to answer with instead of forwarding.
Plan = Callable[[str, int], Any]


def require_anvil() -> None:
    """Skip the calling test when anvil is missing, or fail it where it must run."""
    if find_anvil() is None:
        reason = "anvil is not installed (run `npm ci` in contracts/)"
        if os.environ.get(REQUIRE_ANVIL):
            pytest.fail(f"{reason}, and ${REQUIRE_ANVIL} says these tests must run")
        pytest.skip(reason)


@contextmanager
def anvil_or_skip(**options: Any) -> Iterator[AnvilNode]:
    require_anvil()
    with running_anvil(**options) as node:
        yield node


def unused_port() -> int:
    """A port nothing listens on right now (the kernel's pick, released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FaultyProxy:
    """An HTTP JSON-RPC proxy in front of a node that misbehaves as a plan says."""

    def __init__(self, upstream: str, plan: Plan) -> None:
        self.upstream = upstream
        self.plan = plan
        self.seen: Counter[str] = Counter()
        self.actions: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def decide(self, method: str) -> Any:
        with self._lock:
            self.seen[method] += 1
            action = self.plan(method, self.seen[method])
            self.actions.append((method, action if isinstance(action, str) else "error"))
            return action

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = json.loads(body)
                action = proxy.decide(request.get("method", ""))
                if action == "refuse":
                    self.close_connection = True
                    return
                if action == "502":
                    self._reply(502, b"bad gateway")
                    return
                if isinstance(action, dict):
                    error = {"jsonrpc": "2.0", "id": request.get("id"), "error": action}
                    self._reply(200, json.dumps(error).encode())
                    return
                answer = requests.post(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                if action == "lose_reply":
                    self.close_connection = True
                    return
                self._reply(answer.status_code, answer.content)

            def _reply(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        return Handler


def faults(**first: Any) -> Plan:
    """A plan failing the first occurrences of methods: `faults(eth_call=["502", "refuse"])`."""

    def plan(method: str, seen: int) -> Any:
        actions = first.get(method, [])
        return actions[seen - 1] if seen <= len(actions) else "forward"

    return plan

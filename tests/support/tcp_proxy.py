"""A small threaded TCP proxy on loopback that can cut every live connection on demand.

    with TcpProxy("127.0.0.1", 8188) as proxy:     # listens on 127.0.0.1:<free port>
        url = proxy.url                           # http://127.0.0.1:<port>
        ...
        proxy.cut_all()                           # reset every open connection (new ones still work)

Each accepted connection gets its own upstream connection and two pump threads. ``cut_all`` closes
both sides of every live pair at once, as a network drop or a restarted load balancer would, and
returns how many it cut; the proxy keeps accepting new connections afterwards.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

_CHUNK = 65536


class TcpProxy:
    """Forward 127.0.0.1:<port> to (upstream_host, upstream_port); ``cut_all`` drops live connections."""

    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server((listen_host, 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._closed = False
        self.accepted = 0
        self.cut = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "TcpProxy":
        self._thread.start()
        return self

    def __enter__(self) -> "TcpProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def live(self) -> int:
        """How many client connections are open right now."""
        with self._lock:
            return len(self._pairs)

    def cut_all(self) -> int:
        """Reset every live connection (both sides); returns how many were cut."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _reset(sock)
        self.cut += len(pairs)
        return len(pairs)

    def close(self) -> None:
        """Stop accepting and cut everything still open."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        self.cut_all()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.2)
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            done = [0]
            with self._lock:
                self._pairs.append(pair)
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink, pair, done),
                                 name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, pair: tuple[socket.socket, socket.socket],
              done: list[int]) -> None:
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)  # pass the end of this direction on
        with self._lock:
            done[0] += 1
            finished = done[0] == 2
            if finished and pair in self._pairs:
                self._pairs.remove(pair)
        if finished:
            for sock in pair:
                with contextlib.suppress(OSError):
                    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a dropped connection looks to the peer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()

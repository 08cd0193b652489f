"""The request's input image: image_url (SSRF-guarded fetch) or image_base64, size-, time- and pixel-capped.

The download has one deadline for everything (connect, headers, body): a watchdog shuts the socket
when it passes, so a server dripping one byte a second cannot hold the job. The image's header is
read (Pillow, no decoding) for its format and size, so a decompression bomb never reaches ComfyUI.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import io
import ipaddress
import socket
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit

from PIL import Image, UnidentifiedImageError

from engine.errors import ImageInputError
from engine.quote import quote

Resolver = Callable[[str, int], list[str]]
Connector = Callable[[tuple[str, int], float], socket.socket]

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# Cloud metadata services; most are link-local or private already, listed so the intent is explicit.
_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32", "168.63.129.16/32",
    "192.0.0.192/32", "fd00:ec2::254/128",
))
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp"),
           "GIF": ("gif", "image/gif")}
"""Pillow's format names the worker accepts, with the file extension and content type it uploads them as."""
NAT64 = ipaddress.ip_network("64:ff9b::/96")
"""The NAT64 well-known prefix: its last 32 bits are an IPv4 address."""
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
"""Deprecated IPv4-compatible IPv6 addresses (::a.b.c.d)."""


@dataclass(frozen=True)
class InputImage:
    """A checked input image: its bytes, and how it is uploaded to ComfyUI."""

    data: bytes
    extension: str
    content_type: str
    width: int
    height: int


def inspect_image(data: bytes, field: str, max_pixels: int) -> InputImage:
    """Read the image's header (not its pixels): PNG, JPEG, WebP or GIF, at most ``max_pixels``."""
    if not data:
        raise ImageInputError(field, "the image is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
    except Image.DecompressionBombError:
        raise ImageInputError(field, f"the image has over {2 * (Image.MAX_IMAGE_PIXELS or 0)} pixels, "
                                     f"over the {max_pixels} pixel limit (IMAGE_MAX_PIXELS)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageInputError(field, "not a PNG, JPEG, WebP or GIF image") from None
    if kind not in FORMATS:
        raise ImageInputError(field, f"a {kind} image; send a PNG, JPEG, WebP or GIF")
    if width * height > max_pixels:
        raise ImageInputError(field, f"the image is {width}x{height} pixels, over the {max_pixels} pixel "
                                     "limit (IMAGE_MAX_PIXELS)")
    return InputImage(data, *FORMATS[kind], width, height)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: mapped, 6to4, Teredo (server and client), NAT64, compatible."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses that are not a cloud metadata endpoint; an IPv6
    address that embeds an IPv4 address (mapped, 6to4, Teredo, NAT64) is judged by what it embeds too."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    candidates = [ip, *(_embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else [])]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates = [ip.ipv4_mapped]
    return all(c.is_global and not c.is_multicast and not c.is_reserved and not any(c in net for net in _BLOCKED)
               for c in candidates)


def default_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (getaddrinfo)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        reason = err.strerror if isinstance(err, socket.gaierror) else "not a valid host name"
        raise ImageInputError("image_url", f"cannot resolve host {quote(host)}: {reason}") from None
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class _Target:
    """Where one URL points, checked: scheme, host (IDNA-encoded where it is a name), port, request path."""

    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> _Target:
    """Check a URL's shape; every shape Python's URL parsing or IDNA refuses is an image_url error."""
    try:
        parts = urlsplit(url)
        hostname, port = parts.hostname, parts.port
    except ValueError as err:
        raise ImageInputError("image_url", f"not a valid URL ({err}): {quote(url)}") from None
    if parts.scheme not in ("http", "https") or not hostname:
        raise ImageInputError("image_url", f"only http and https URLs are accepted, got {quote(url)}")
    if parts.username or parts.password:
        raise ImageInputError("image_url", "URLs with credentials are not accepted")
    try:
        ipaddress.ip_address(hostname)
        host = hostname
    except ValueError:
        try:
            host = hostname.encode("idna").decode("ascii")
        except UnicodeError:
            raise ImageInputError("image_url", f"{quote(hostname)} is not a valid host name") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


def _public_ip(host: str, port: int, resolve: Resolver) -> str:
    """Resolve and require every address to be public; return the one to connect to (pinned, no re-resolve)."""
    addresses = resolve(host, port)
    if not addresses:
        raise ImageInputError("image_url", f"host {quote(host)} has no address")
    for address in addresses:
        if not is_public_address(address):
            raise ImageInputError("image_url", f"host {quote(host)} resolves to {address}, which is not a public "
                                  "address (loopback, private, link-local and metadata addresses are refused)")
    return addresses[0]


class _Watchdog:
    """Shuts the connection's socket when the deadline passes, so no read (headers or body) outlives it."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.fired = False
        self._conn: http.client.HTTPConnection | None = None
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, conn: http.client.HTTPConnection) -> None:
        self._conn = conn

    def _fire(self) -> None:
        self.fired = True
        sock = self._conn.sock if self._conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def remaining(self) -> float:
        return max(0.01, self.deadline - time.monotonic())

    def cancel(self) -> None:
        self._timer.cancel()


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to an already-checked IP address, keeping the URL's host for the Host header."""

    def __init__(self, target: _Target, ip: str, connector: Connector, watchdog: _Watchdog):
        super().__init__(target.host, target.port, timeout=watchdog.remaining())
        self._ip, self._connector, self._watchdog = ip, connector, watchdog
        watchdog.watch(self)

    def connect(self) -> None:
        self.sock = self._connector((self._ip, self.port), self._watchdog.remaining())


class _PinnedHTTPS(_PinnedHTTP, http.client.HTTPSConnection):
    """HTTPS to an already-checked IP address; certificate and SNI use the URL's host."""

    def __init__(self, target: _Target, ip: str, connector: Connector, watchdog: _Watchdog):
        http.client.HTTPSConnection.__init__(self, target.host, target.port, timeout=watchdog.remaining())
        self._ip, self._connector, self._watchdog = ip, connector, watchdog
        watchdog.watch(self)

    def connect(self) -> None:
        sock = self._connector((self._ip, self.port), self._watchdog.remaining())
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host, do_handshake_on_connect=False)
        self.sock.do_handshake()  # after self.sock is set, so the watchdog can cut a stalled handshake too


def _read_capped(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    """Read the body, refusing it as soon as it grows past max_bytes."""
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise ImageInputError("image_url", f"the image is {int(length)} bytes, over the {max_bytes} byte "
                              "limit (IMAGE_MAX_BYTES)")
    chunks, size = [], 0
    while chunk := response.read1(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ImageInputError("image_url", f"the image is over the {max_bytes} byte limit (IMAGE_MAX_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_image_url(url: str, *, max_bytes: int, timeout: float, resolve: Resolver = default_resolver,
                    connect: Connector = socket.create_connection) -> bytes:
    """GET an http/https URL to a public address, re-checking every redirect; returns the body bytes.

    ``timeout`` bounds the whole download, redirects included.
    """
    watchdog = _Watchdog(time.monotonic() + timeout)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            target = parse_url(url)
            ip = _public_ip(target.host, target.port, resolve)
            conn = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target, ip, connect, watchdog)
            try:
                conn.request("GET", target.path, headers={"User-Agent": "ltx2-worker", "Accept": "image/*"})
                response = conn.getresponse()
                if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                    url = urljoin(url, response.getheader("Location"))
                    continue
                if response.status != 200:
                    raise ImageInputError("image_url", f"the server answered HTTP {response.status}")
                return _read_capped(response, max_bytes)
            except (OSError, http.client.HTTPException, ValueError) as err:
                if watchdog.fired or isinstance(err, TimeoutError):  # each socket wait is what is left
                    raise ImageInputError("image_url", f"the download took longer than {timeout:g} s "
                                                       "(IMAGE_FETCH_TIMEOUT_S, or what was left of the job's "
                                                       "deadline)") from None
                raise ImageInputError("image_url", f"download failed: {err or type(err).__name__}") from None
            finally:
                conn.close()
        raise ImageInputError("image_url", f"more than {MAX_REDIRECTS} redirects")
    finally:
        watchdog.cancel()


def decode_image_base64(text: str, *, max_bytes: int) -> bytes:
    """Plain base64 or a data: URI -> bytes, refusing anything over max_bytes before decoding it."""
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise ImageInputError("image_base64", "a data: URI must be of the form data:<type>;base64,<data>")
    payload = "".join(text.split())
    if len(payload) // 4 * 3 > max_bytes + 2:
        raise ImageInputError("image_base64", f"the image is over the {max_bytes} byte limit (IMAGE_MAX_BYTES)")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageInputError("image_base64", "not valid base64") from None
    if len(data) > max_bytes:
        raise ImageInputError("image_base64", f"the image is over the {max_bytes} byte limit (IMAGE_MAX_BYTES)")
    return data


def has_image(request: Mapping[str, Any]) -> bool:
    """Whether the request carries an input image to load (a t2v request carries none)."""
    return bool(request.get("image_url") or request.get("image_base64"))


def load_request_image(request: Mapping[str, Any], *, max_bytes: int, timeout: float, max_pixels: int,
                       resolve: Resolver = default_resolver,
                       connect: Connector = socket.create_connection) -> InputImage | None:
    """The request's checked image, or None when it has none (t2v)."""
    url, b64 = request.get("image_url"), request.get("image_base64")
    if url and b64:
        raise ImageInputError("image_url/image_base64", "give either image_url or image_base64, not both")
    if url:
        data = fetch_image_url(str(url), max_bytes=max_bytes, timeout=timeout, resolve=resolve, connect=connect)
        return inspect_image(data, "image_url", max_pixels)
    if b64:
        return inspect_image(decode_image_base64(str(b64), max_bytes=max_bytes), "image_base64", max_pixels)
    return None

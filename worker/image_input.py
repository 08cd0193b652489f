"""The request's input image: image_url (SSRF-guarded fetch) or image_base64, size-capped and sniffed."""

from __future__ import annotations

import base64
import binascii
import http.client
import ipaddress
import socket
import time
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit

from engine.errors import ImageInputError

Resolver = Callable[[str, int], list[str]]
Connector = Callable[[tuple[str, int], float], socket.socket]

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# Cloud metadata services; most are link-local or private already, listed so the intent is explicit.
_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "169.254.169.254/32", "169.254.170.2/32", "100.100.100.200/32", "168.63.129.16/32",
    "192.0.0.192/32", "fd00:ec2::254/128",
))
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)


def sniff_image(data: bytes) -> tuple[str, str]:
    """(extension, content type) from the magic bytes; ImageInputError when it is not PNG/JPEG/WebP/GIF."""
    for magic, ext, mime in _MAGIC:
        if data.startswith(magic):
            return ext, mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    raise ImageInputError("", "the input image is not a PNG, JPEG, WebP or GIF file")


def is_public_address(address: str) -> bool:
    """True only for globally routable unicast addresses that are not a cloud metadata endpoint."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_global and not ip.is_multicast and not ip.is_reserved
            and not any(ip in net for net in _BLOCKED))


def default_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to (getaddrinfo)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise ImageInputError("image_url", f"cannot resolve host {host!r}: {err.strerror}") from None
    return [str(info[4][0]) for info in infos]


def _public_ip(host: str, port: int, resolve: Resolver) -> str:
    """Resolve and require every address to be public; return the one to connect to (pinned, no re-resolve)."""
    addresses = resolve(host, port)
    if not addresses:
        raise ImageInputError("image_url", f"host {host!r} has no address")
    for address in addresses:
        if not is_public_address(address):
            raise ImageInputError("image_url", f"host {host!r} resolves to {address}, which is not a public "
                                  "address (loopback, private, link-local and metadata addresses are refused)")
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to an already-checked IP address, keeping the URL's host for the Host header."""

    def __init__(self, host: str, port: int, ip: str, connector: Connector, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip, self._connector = ip, connector

    def connect(self) -> None:
        self.sock = self._connector((self._ip, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an already-checked IP address; certificate and SNI use the URL's host."""

    def __init__(self, host: str, port: int, ip: str, connector: Connector, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._ip, self._connector = ip, connector

    def connect(self) -> None:
        sock = self._connector((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    """Read the body, refusing it as soon as it grows past max_bytes or the overall timeout passes."""
    length = response.getheader("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise ImageInputError("image_url", f"the image is {int(length)} bytes, over the {max_bytes} byte "
                              "limit (IMAGE_MAX_BYTES)")
    chunks, size = [], 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise ImageInputError("image_url", f"the image is over the {max_bytes} byte limit (IMAGE_MAX_BYTES)")
        if time.monotonic() > deadline:
            raise ImageInputError("image_url", "the download took too long (IMAGE_FETCH_TIMEOUT_S)")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_image_url(url: str, *, max_bytes: int, timeout: float, resolve: Resolver = default_resolver,
                    connect: Connector = socket.create_connection) -> bytes:
    """GET an http/https URL to a public address, re-checking every redirect; returns the body bytes."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ImageInputError("image_url", f"only http and https URLs are accepted, got {url[:100]!r}")
        if parts.username or parts.password:
            raise ImageInputError("image_url", "URLs with credentials are not accepted")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ImageInputError("image_url", f"invalid port in {url[:100]!r}") from None
        ip = _public_ip(parts.hostname, port, resolve)
        connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
        conn = connection_class(parts.hostname, port, ip, connect, timeout)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request("GET", target, headers={"User-Agent": "ltx2-worker", "Accept": "image/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308) and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise ImageInputError("image_url", f"the server answered HTTP {response.status}")
            return _read_capped(response, max_bytes, deadline)
        except (OSError, http.client.HTTPException) as err:
            raise ImageInputError("image_url", f"download failed: {err or type(err).__name__}") from None
        finally:
            conn.close()
    raise ImageInputError("image_url", f"more than {MAX_REDIRECTS} redirects")


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


def load_request_image(request: Mapping[str, Any], *, max_bytes: int, timeout: float,
                       resolve: Resolver = default_resolver,
                       connect: Connector = socket.create_connection) -> tuple[bytes, str, str] | None:
    """The request's image as (bytes, extension, content type), or None when it has none (t2v)."""
    url, b64 = request.get("image_url"), request.get("image_base64")
    if url and b64:
        raise ImageInputError("", "give either image_url or image_base64, not both")
    if url:
        data = fetch_image_url(str(url), max_bytes=max_bytes, timeout=timeout, resolve=resolve, connect=connect)
    elif b64:
        data = decode_image_base64(str(b64), max_bytes=max_bytes)
    else:
        return None
    return (data, *sniff_image(data))

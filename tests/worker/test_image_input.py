"""Input image: SSRF guard (also on redirects), size caps, magic bytes, base64 and data: URIs."""

import base64
import http.server
import socket
import threading
import time

import pytest

from engine.errors import ImageInputError
from tests.support import image_bytes, png_header
from worker.image_input import (
    decode_image_base64,
    fetch_image_url,
    inspect_image,
    is_public_address,
    load_request_image,
)

PNG, JPEG, WEBP, GIF = (image_bytes(kind) for kind in ("PNG", "JPEG", "WEBP", "GIF"))
PUBLIC_IP = "93.184.215.14"
LIMITS = {"max_bytes": 10**6, "timeout": 2, "max_pixels": 4096 * 4096}


class ImageServer(http.server.ThreadingHTTPServer):
    """Loopback HTTP server: /png, /html, /big (no Content-Length), /huge (big Content-Length),
    /slow, /redirect?to=<url>; records every path it was asked for."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.paths = []
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.paths.append((self.headers["Host"], self.path))
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(1)
        body = {"/png": PNG, "/html": b"<html>hello</html>", "/big": b"\x00" * 5000,
                "/bomb": png_header(13000, 13000)}.get(self.path, PNG)
        self.send_response(200)
        if self.path == "/huge":
            self.send_header("Content-Length", str(10**9))
        elif self.path != "/big":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the worker hung up early on purpose (size cap, timeout): that is the behaviour under test


@pytest.fixture
def server():
    srv = ImageServer()
    yield srv
    srv.shutdown()
    srv.server_close()


def public_dns(server, names=("images.example.com", "cdn.example.com")):
    """Resolver + connector that map public-looking names to the loopback server, without leaving the machine."""
    table = {name: [PUBLIC_IP] for name in names}
    table.update({"evil.example.com": ["10.0.0.5"], "metadata.example.com": ["169.254.169.254"],
                  "mixed.example.com": [PUBLIC_IP, "127.0.0.1"]})

    def resolve(host, port):
        return table.get(host) or [socket.gethostbyname(host)]

    def connect(address, timeout):
        assert address[0] == PUBLIC_IP, "only checked public addresses may be connected to"
        return socket.create_connection(("127.0.0.1", server.port), timeout)

    return {"resolve": resolve, "connect": connect}


def test_the_header_decides_the_type_and_size():
    found = [inspect_image(d, "image_base64", 100) for d in (PNG, JPEG, WEBP, GIF)]
    assert [(i.extension, i.content_type, i.width, i.height) for i in found] == [
        ("png", "image/png", 8, 8), ("jpg", "image/jpeg", 8, 8), ("webp", "image/webp", 8, 8),
        ("gif", "image/gif", 8, 8)]


@pytest.mark.parametrize("data, rule", [
    (b"", "image_base64: the image is empty"),
    (b"<html>", "image_base64: not a PNG, JPEG, WebP or GIF image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "image_base64: not a PNG, JPEG, WebP or GIF image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image_base64: not a PNG, JPEG, WebP or GIF image"),
    (image_bytes("BMP"), "image_base64: a BMP image; send a PNG, JPEG, WebP or GIF"),
])
def test_content_errors_name_the_field(data, rule):
    with pytest.raises(ImageInputError) as err:
        inspect_image(data, "image_base64", 4096 * 4096)
    assert str(err.value) == rule


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = png_header(13000, 13000)
    assert len(bomb) < 100
    with pytest.raises(ImageInputError) as err:
        inspect_image(bomb, "image_url", 4096 * 4096)
    assert str(err.value) == ("image_url: the image is 13000x13000 pixels, over the 16777216 pixel limit "
                              "(IMAGE_MAX_PIXELS)")


@pytest.mark.parametrize("address, public", [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.1", False), ("172.16.0.1", False),
    ("169.254.169.254", False), ("100.100.100.200", False), ("168.63.129.16", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("::1", False), ("::ffff:127.0.0.1", False), ("fd00:ec2::254", False),
    ("fe80::1%eth0", False), ("not-an-ip", False), ("8.8.8.8", True), (PUBLIC_IP, True),
    ("2606:4700:4700::1111", True),
    ("2002:7f00:1::1", False), ("2002:a9fe:a9fe::1", False), ("2002:c0a8:101::1", False),  # 6to4 of private IPv4
    ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
    ("64:ff9b::7f00:1", False), ("64:ff9b::a00:1", False),  # NAT64 of loopback and 10.0.0.1
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
    ("::127.0.0.1", False), ("::ffff:10.0.0.1", False),
])
def test_only_public_addresses_pass(address, public):
    assert is_public_address(address) is public


def test_a_url_to_a_loopback_server_is_refused_before_connecting(server):
    with pytest.raises(ImageInputError, match="resolves to 127.0.0.1, which is not a public address"):
        fetch_image_url(f"http://127.0.0.1:{server.port}/png", max_bytes=10**6, timeout=2)
    with pytest.raises(ImageInputError, match="not a public address"):
        fetch_image_url(f"http://localhost:{server.port}/png", max_bytes=10**6, timeout=2)
    with pytest.raises(ImageInputError, match="not a public address"):
        fetch_image_url(f"http://[2002:7f00:1::1]:{server.port}/png", max_bytes=10**6, timeout=2)
    assert server.paths == []


def test_a_public_address_url_is_fetched_with_its_host_header(server):
    data = fetch_image_url(f"http://images.example.com:{server.port}/png", max_bytes=10**6, timeout=2,
                           **public_dns(server))
    assert data == PNG
    assert server.paths == [(f"images.example.com:{server.port}", "/png")]


def test_redirects_are_followed_and_checked_again(server):
    dns = public_dns(server)
    target = f"http://cdn.example.com:{server.port}/png"
    url = f"http://images.example.com:{server.port}/redirect?to={target}"
    assert fetch_image_url(url, max_bytes=10**6, timeout=2, **dns) == PNG
    for bad in ("http://evil.example.com/png", "http://metadata.example.com/latest/meta-data",
                f"http://127.0.0.1:{server.port}/png", "file:///etc/passwd", "http://mixed.example.com/png"):
        server.paths.clear()
        with pytest.raises(ImageInputError, match="not a public address|only http and https"):
            fetch_image_url(f"http://images.example.com:{server.port}/redirect?to={bad}", max_bytes=10**6,
                            timeout=2, **dns)
        assert len(server.paths) == 1, "the refused redirect target must never be requested"


def test_https_is_spoken_to_the_pinned_address(server):
    with pytest.raises(ImageInputError, match="image_url: download failed: .*SSL"):
        fetch_image_url(f"https://images.example.com:{server.port}/png", max_bytes=10**6, timeout=2,
                        **public_dns(server))


def test_redirect_loops_stop(server):
    url = f"http://images.example.com:{server.port}/redirect?to=/redirect?to=/redirect?to=/redirect?to=" \
          "/redirect?to=/redirect?to=/redirect?to=/png"
    with pytest.raises(ImageInputError, match="more than 5 redirects"):
        fetch_image_url(url, max_bytes=10**6, timeout=2, **public_dns(server))


@pytest.mark.parametrize("path", ["/huge", "/big"])
def test_oversize_downloads_are_refused(server, path):
    with pytest.raises(ImageInputError, match="over the 4096 byte limit \\(IMAGE_MAX_BYTES\\)"):
        fetch_image_url(f"http://images.example.com:{server.port}{path}", max_bytes=4096, timeout=2,
                        **public_dns(server))


def test_a_slow_server_times_out(server):
    started = time.monotonic()
    with pytest.raises(ImageInputError, match="took longer than 0.2 s \\(IMAGE_FETCH_TIMEOUT_S"):
        fetch_image_url(f"http://images.example.com:{server.port}/slow", max_bytes=4096, timeout=0.2,
                        **public_dns(server))
    assert time.monotonic() - started < 0.9


@pytest.fixture
def dripping():
    """A server that answers one byte every 0.1 s, headers and all (never finishing a 64 KiB read)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"\x00" * 100000:
                    if stop.is_set():
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break
                    time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    listener.close()


def test_a_server_dripping_bytes_is_cut_at_the_one_deadline(dripping):
    def connect(address, timeout):
        return socket.create_connection(("127.0.0.1", dripping), timeout)

    started = time.monotonic()
    with pytest.raises(ImageInputError, match="took longer than 0.5 s"):
        fetch_image_url("http://images.example.com/x.png", max_bytes=10**6, timeout=0.5,
                        resolve=lambda host, port: [PUBLIC_IP], connect=connect)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("url, rule", [
    ("http://[::1/x.png", "image_url: not a valid URL (Invalid IPv6 URL)"),
    ("http://" + "a" * 64 + ".example.com/x.png", " is not a valid host name"),
    ("http://a..b/x.png", '"a..b" is not a valid host name'),
    ("http://ex\u2100ample.com/x.png", "image_url: not a valid URL ("),
])
def test_every_bad_url_shape_is_an_image_url_error(url, rule):
    with pytest.raises(ImageInputError) as err:
        fetch_image_url(url, max_bytes=100, timeout=1, resolve=lambda h, p: [PUBLIC_IP])
    assert rule in str(err.value) and str(err.value).startswith("image_url: ")


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://x", "http://",
                                 "http://user:pw@example.com/a.png", "http://example.com:99999/a.png"])
def test_only_plain_http_and_https_urls(url):
    with pytest.raises(ImageInputError, match="image_url: "):
        fetch_image_url(url, max_bytes=100, timeout=1, resolve=lambda h, p: [PUBLIC_IP])


def test_base64_plain_and_data_uri():
    encoded = base64.b64encode(PNG).decode()
    assert decode_image_base64(encoded, max_bytes=1000) == PNG
    assert decode_image_base64(f"data:image/png;base64,{encoded[:20]}\n{encoded[20:]}", max_bytes=1000) == PNG
    with pytest.raises(ImageInputError, match="not valid base64"):
        decode_image_base64("not base64!", max_bytes=1000)
    with pytest.raises(ImageInputError, match="data:<type>;base64"):
        decode_image_base64("data:image/png," + encoded, max_bytes=1000)


def test_base64_over_the_cap_is_refused_before_decoding():
    with pytest.raises(ImageInputError, match="over the 100 byte limit"):
        decode_image_base64("A" * 10_000, max_bytes=100)


def test_load_request_image_checks_the_image_and_names_its_field(server):
    assert load_request_image({"prompt": "t2v"}, **LIMITS) is None
    png = load_request_image({"image_base64": base64.b64encode(PNG).decode()}, **LIMITS)
    assert (png.data, png.extension, png.content_type) == (PNG, "png", "image/png")
    with pytest.raises(ImageInputError, match="^image_base64: not a PNG, JPEG, WebP or GIF"):
        load_request_image({"image_base64": base64.b64encode(b"%PDF-1.7").decode()}, **LIMITS)
    with pytest.raises(ImageInputError, match="^image_url: the image is 13000x13000 pixels"):
        load_request_image({"image_url": f"http://images.example.com:{server.port}/bomb"}, **LIMITS,
                           **public_dns(server))
    with pytest.raises(ImageInputError, match="^image_url: not a PNG, JPEG, WebP or GIF"):
        load_request_image({"image_url": f"http://images.example.com:{server.port}/html"}, **LIMITS,
                           **public_dns(server))
    with pytest.raises(ImageInputError, match="either image_url or image_base64"):
        load_request_image({"image_url": "http://a", "image_base64": "AAAA"}, **LIMITS)

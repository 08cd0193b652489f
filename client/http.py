"""HTTP to one endpoint: RunPod's (https://api.runpod.ai/v2/<id>, Bearer key) or the worker's local API."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

import requests

from engine.errors import ConfigError

from .errors import EndpointError

RUNPOD_API = "https://api.runpod.ai/v2"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0


def endpoint_url(url: str | None, endpoint: str | None) -> str:
    """The endpoint's base URL from ``--url`` or ``--endpoint ID`` (exactly one of them)."""
    if bool(url) == bool(endpoint):
        raise ConfigError("give the endpoint as --url URL or --endpoint ID (one of them)")
    if endpoint:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", endpoint):
            raise ConfigError(f"endpoint: {endpoint!r} is not a RunPod endpoint id")
        return f"{RUNPOD_API}/{endpoint}"
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"url: {url!r} is not an http(s) URL")
    return (url or "").rstrip("/")


def is_runpod(url: str) -> bool:
    """True for RunPod's hosted API, which needs an API key."""
    return urlsplit(url).hostname == urlsplit(RUNPOD_API).hostname


def reason(exc: requests.RequestException) -> str:
    """The innermost reason of a connection error ('[Errno 111] Connection refused'), not urllib3's story."""
    text = str(exc)
    found = re.findall(r"\[Errno -?\d+\][^'\")]*", text)
    if found:
        return found[-1].strip()
    return "timed out" if isinstance(exc, requests.Timeout) else type(exc).__name__


class Endpoint:
    """One endpoint's base URL and API key; ``call`` returns the JSON answer or raises EndpointError."""

    def __init__(self, url: str, api_key: str | None = None):
        self.url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("RUNPOD_API_KEY") or None
        if is_runpod(self.url) and not self.api_key:
            raise ConfigError(f"{self.url} is RunPod's API: set RUNPOD_API_KEY to an API key with access to it")
        self.session = requests.Session()
        if self.api_key:
            self.session.headers["Authorization"] = f"Bearer {self.api_key}"

    def close(self) -> None:
        """Close the connection pool."""
        self.session.close()

    def send(self, method: str, path: str, body: Any = None, read_timeout: float | None = READ_TIMEOUT_S
             ) -> requests.Response:
        """One request; connection problems become EndpointError, HTTP statuses are left to the caller."""
        try:
            return self.session.request(method, self.url + path, json=body, timeout=(CONNECT_TIMEOUT_S, read_timeout))
        except requests.RequestException as exc:
            raise EndpointError(f"{self.url} does not answer ({method} {path}): {reason(exc)}") from exc

    def call(self, method: str, path: str, body: Any = None, read_timeout: float | None = READ_TIMEOUT_S
             ) -> dict[str, Any]:
        """One request whose answer must be HTTP 2xx with a JSON object."""
        return self.answer(self.send(method, path, body, read_timeout), method, path)

    def answer(self, response: requests.Response, method: str, path: str) -> dict[str, Any]:
        """The JSON object of a 2xx answer; anything else as one EndpointError line."""
        where = f"{method} {self.url}{path}"
        if response.status_code in (401, 403):
            raise EndpointError(f"{where}: HTTP {response.status_code}: the endpoint refused the API key; set "
                                "RUNPOD_API_KEY to a key with access to this endpoint", response.status_code)
        if not 200 <= response.status_code < 300:
            body = " ".join(response.text.split())[:200]
            raise EndpointError(f"{where}: HTTP {response.status_code}{': ' + body if body else ''}",
                                response.status_code)
        try:
            answer = response.json()
        except ValueError:
            raise EndpointError(f"{where}: the answer is not JSON: {response.text[:200]!r}") from None
        if not isinstance(answer, dict):
            raise EndpointError(f"{where}: the answer is not a JSON object: {str(answer)[:200]}")
        return answer

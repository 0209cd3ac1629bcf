"""A small browser for the site tests: keeps cookies, sends forms with the XSRF token the way
a page's form would, and never follows redirects (the tests look at them)."""

from __future__ import annotations

import html
import re
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPResponse

#: The web client's URL the test sites are configured with.
CLIENT_URL = "http://client.test:8080/play/"


class Clock:
    """A settable monotonic clock for the sign-in limits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Browser:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        # force_instance: each browser its own client, so closing one leaves the others.
        self.client = AsyncHTTPClient(force_instance=True)

    def close(self) -> None:
        self.client.close()

    async def request(self, method: str, path: str, *, body: str | None = None,
                      headers: dict[str, str] | None = None) -> HTTPResponse:
        all_headers = dict(headers or {})
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = await self.client.fetch(
            self.base_url + path, method=method, body=body, headers=all_headers,
            follow_redirects=False, raise_error=False,
            allow_nonstandard_methods=True)
        for header in response.headers.get_list("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel.value == "":
                    self.cookies.pop(name, None)  # cleared (Tornado's clear_cookie)
                else:
                    self.cookies[name] = morsel.value
        return response

    async def get(self, path: str, **options: Any) -> HTTPResponse:
        return await self.request("GET", path, **options)

    async def xsrf(self) -> str:
        """The `_xsrf` cookie's value, fetching a page with a form first if there is none."""
        if "_xsrf" not in self.cookies:
            await self.get("/signin")
        return self.cookies["_xsrf"]

    async def submit(self, path: str, fields: dict[str, str] | None = None, *,
                     xsrf: bool = True, headers: dict[str, str] | None = None) -> HTTPResponse:
        """POST a form, with the `_xsrf` field a page's form carries (unless `xsrf=False`)."""
        fields = dict(fields or {})
        if xsrf:
            fields["_xsrf"] = await self.xsrf()
        return await self.request("POST", path, body=urlencode(fields), headers=headers)


def text(response: HTTPResponse) -> str:
    """The page's text as a person reads it: no tags, entities decoded, spaces collapsed."""
    body = response.body.decode("utf-8")
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def set_cookie(response: HTTPResponse, name: str) -> str | None:
    """The raw Set-Cookie header for cookie `name`, if the response sets it."""
    for header in response.headers.get_list("Set-Cookie"):
        if header.startswith(name + "="):
            return header
    return None

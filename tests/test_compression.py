"""Compression by the app itself (issue 13, item 3): precompressed static files, compressed
pages only for requests the app's pages or the person made (BREACH), caching headers."""

from __future__ import annotations

import gzip
import re

import brotli
import pytest
from flask import Flask

from interrupters import compression, security

BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd", "Sec-Fetch-Site": "same-origin"}
ASSETS = re.compile(r'(?:src|href)="(/static/v/[^"]+)"')


def decode(body: bytes, encoding: str | None) -> bytes:
    if encoding == "br":
        return bytes(brotli.decompress(body))
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def asset_url(app: Flask, filename: str) -> str:
    with app.test_request_context():
        return security.asset(filename)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br, zstd", "br"), ("", None)],
)
def test_static_files_come_precompressed(app, client, accept, expected):
    url = asset_url(app, "css/app.css")
    plain = client.get(url, headers={"Accept-Encoding": ""})
    response = client.get(url, headers={"Accept-Encoding": accept})
    try:
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == expected
        assert response.mimetype == "text/css"
        body = response.get_data()
        assert decode(body, expected) == plain.get_data()
        if expected:
            assert len(body) < len(plain.get_data()) / 2
        assert int(response.headers["Content-Length"]) == len(body)
        assert "Accept-Encoding" in response.vary
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        # Versioned: kept for a year, never asked again, whoever signs in.
        cache = response.cache_control
        assert cache.max_age == security.STATIC_MAX_AGE and cache.immutable and cache.public
        assert "Cookie" not in response.vary and "Set-Cookie" not in response.headers
    finally:
        response.close()
        plain.close()


def test_every_script_and_style_of_a_page_has_its_compressed_twin(app, client, login_as):
    login_as("interrupter")
    page = client.get("/contacts/new", headers=BROWSER)
    html = decode(page.get_data(), page.headers.get("Content-Encoding")).decode()
    urls = [u for u in ASSETS.findall(html) if u.endswith((".js", ".css"))]
    assert urls, "the page links no scripts or styles"
    for url in urls:
        response = client.get(url, headers=BROWSER)
        try:
            assert response.status_code == 200, url
            assert response.headers.get("Content-Encoding") == "br", url
        finally:
            response.close()


def test_a_static_file_asked_again_is_a_304(app, client):
    url = asset_url(app, "js/app.js")
    first = client.get(url, headers=BROWSER)
    etag = first.headers["ETag"]
    first.close()
    again = client.get(url, headers={**BROWSER, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    modified = first.headers["Last-Modified"]
    since = client.get(url, headers={**BROWSER, "If-Modified-Since": modified})
    assert since.status_code == 304


def test_head_of_a_static_file_has_the_headers_and_no_body(app, client):
    url = asset_url(app, "css/app.css")
    get = client.get(url, headers=BROWSER)
    head = client.head(url, headers=BROWSER)
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Encoding"] == "br"
    assert head.headers["Content-Length"] == get.headers["Content-Length"]
    get.close()


def test_an_older_release_s_file_is_compressed_but_not_kept(app, client):
    response = client.get("/static/v/0ld0ld0ld0ld/css/app.css", headers=BROWSER)
    try:
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == "br"
        assert response.cache_control.no_cache and not response.cache_control.immutable
    finally:
        response.close()


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_are_compressed_for_the_app_s_own_requests(client, login_as, encoding):
    login_as("interrupter")
    plain = client.get("/contacts/new", headers={"Sec-Fetch-Site": "same-origin"})
    response = client.get(
        "/contacts/new", headers={"Accept-Encoding": encoding, "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert len(response.get_data()) < len(plain.get_data()) / 3
    html = decode(response.get_data(), encoding).decode()
    assert "</html>" in html
    assert {"Accept-Encoding", "Sec-Fetch-Site", "Cookie"} <= set(response.vary)
    # Personal data: compressed or not, never stored.
    assert response.cache_control.no_store


def test_a_page_typed_or_bookmarked_is_compressed(client):
    response = client.get("/login", headers={"Accept-Encoding": "br", "Sec-Fetch-Site": "none"})
    assert response.headers["Content-Encoding"] == "br"
    assert b"csrf" in decode(response.get_data(), "br")


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_pages_asked_from_elsewhere_are_not_compressed(client, site):
    """BREACH: a request another site made (or one whose origin is unknown) may carry the
    attacker's guesses; compressed, the answer's length would tell how good they were."""
    headers = {"Accept-Encoding": "gzip, br"}
    if site:
        headers["Sec-Fetch-Site"] = site
    response = client.get("/login?next=/csrf_token%3D", headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "</html>" in response.get_data(as_text=True)
    assert {"Accept-Encoding", "Sec-Fetch-Site"} <= set(response.vary)


def test_clients_without_accept_encoding_get_plain_answers(app, client, login_as):
    login_as("interrupter")
    for url in ("/contacts/new", "/sw.js", asset_url(app, "js/app.js")):
        response = client.get(url, headers={"Sec-Fetch-Site": "same-origin"})
        try:
            assert response.status_code == 200, url
            assert "Content-Encoding" not in response.headers, url
            assert len(response.get_data()) == int(response.headers["Content-Length"]), url
        finally:
            response.close()


def test_tiny_answers_are_not_compressed(client):
    response = client.get("/healthz", headers=BROWSER)
    assert response.status_code == 200
    assert len(response.get_data()) < 500
    assert "Content-Encoding" not in response.headers


def test_the_service_worker_is_compressed_and_checked_with_a_304(client):
    # A signed-in page registers the worker made for its roles (its precache makes it long).
    url = "/sw.js?roles=interrupter,supervisor&field=1"
    first = client.get(url, headers=BROWSER)
    assert first.headers["Content-Encoding"] == "br"
    assert first.cache_control.no_cache
    etag = first.headers["ETag"]
    again = client.get(url, headers={**BROWSER, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_head_of_a_page_matches_its_get(client):
    get = client.get("/login", headers={**BROWSER, "Sec-Fetch-Site": "none"})
    head = client.head("/login", headers={**BROWSER, "Sec-Fetch-Site": "none"})
    assert head.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Encoding"] == get.headers["Content-Encoding"] == "br"


def test_the_compressed_copy_is_made_once_per_release(tmp_path):
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "js" / "a.js").write_text("console.log('a');\n" * 200)
    (static / "icon.png").write_bytes(b"\x89PNG" + bytes(2000))
    cache = tmp_path / "cache"
    root = compression.precompress_static(static, cache, "v1")
    assert (root / "js" / "a.js.br").is_file() and (root / "js" / "a.js.gz").is_file()
    # Already compressed formats are not compressed again.
    assert (root / "icon.png").is_file() and not (root / "icon.png.gz").exists()
    (root / "js" / "a.js.br").unlink()
    assert compression.precompress_static(static, cache, "v1") == root
    assert not (root / "js" / "a.js.br").exists(), "an existing release's copy is kept as is"
    for version in ("v2", "v3", "v4", "v5"):
        compression.precompress_static(static, cache, version)
    kept = sorted(p.name for p in cache.iterdir())
    assert len(kept) == compression.KEEP_RELEASES and "v5" in kept

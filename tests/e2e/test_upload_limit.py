"""Uploads larger than the limit are refused before they are read into memory (issue 6).

The server runs with ``--server.maxUploadSize 50`` (MB; 1024 in ``.streamlit/config.toml``)
and the file is a 200 MB word2vec text file that looks valid. Streamlit refuses it twice:

- in the browser: the file uploader compares the file's size with the limit before
  sending anything ("File must be 50.0MB or smaller."), so no request reaches the server,
  our loader never runs and the loaded sample stays;
- on the server, for clients that skip that check: ``PUT /_stcore/upload_file/<session>/<file>``
  answers 413 as soon as the headers declare a ``Content-Length`` over the limit (no body
  byte read), and a body sent without a length (chunked) is cut off with 413 once it passes
  the limit plus 1 MB of multipart framing; the part already received was spooled to a
  temporary file, not held in memory.

In each case the server's resident memory must not grow by anything like the file's size.
The session id and XSRF token the upload endpoint requires are taken from a real upload
request of the page (intercepted and aborted), and a small upload with the same headers
is accepted (204), so a 413 is about the size and nothing else.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from e2e_support import ARGS, CHROMIUM, serve

LIMIT_MB = 50
FILE_MB = 200
#: the server's resident memory may move by this much (allocator noise), far below the
#: 51 MB it would take to hold even the part of the body it accepts before refusing
RSS_SLACK_MB = 20

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory, server_args=("--server.maxUploadSize", str(LIMIT_MB)))


@pytest.fixture(scope="module")
def big_vec(tmp_path_factory) -> Path:
    """A word2vec text file of about FILE_MB MB (300-d, unique words, a true header)."""
    rng = np.random.default_rng(0)
    block = [" ".join(f"{v:.5f}" for v in row) for row in rng.standard_normal((1000, 300), dtype=np.float32)]
    row_bytes = sum(len(r) for r in block) / len(block) + 12
    n_blocks = int(FILE_MB * 2**20 / row_bytes / len(block)) + 1
    path = tmp_path_factory.mktemp("big") / "big.vec"
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{n_blocks * len(block)} 300\n")
        for b in range(n_blocks):
            f.write("".join(f"w{b}_{i} {r}\n" for i, r in enumerate(block)))
    assert path.stat().st_size > FILE_MB * 2**20
    return path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


class RssPeak:
    """Samples a process's resident memory every 20 ms while the block runs."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()

    def __enter__(self) -> "RssPeak":
        self.before = self.peak = rss_mb(self.pid)
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.after = rss_mb(self.pid)
        self.peak = max(self.peak, self.after)

    @property
    def growth(self) -> float:
        return self.peak - self.before


def _put(url: str, headers: dict[str, str], *, body: bytes = b"", length: int | None = None,
         chunks=None, timeout: float = 30):
    """A raw ``PUT`` (so nothing is buffered or retried on the client side): headers with
    ``Content-Length: length`` (default ``len(body)``), then ``body``; or, with ``chunks``,
    a chunked body whose sending stops as soon as the server answers. Returns (status,
    body bytes sent, seconds to the answer)."""
    u = urlsplit(url)
    lines = [f"PUT {u.path} HTTP/1.1", f"Host: {u.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    if chunks is None:
        lines.append(f"Content-Length: {len(body) if length is None else length}")
    else:
        lines.append("Transfer-Encoding: chunked")
    sent = 0
    t0 = time.perf_counter()
    with socket.create_connection((u.hostname, u.port), timeout=timeout) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        sent = len(body)
        try:
            for chunk in chunks or ():
                if select.select([s], [], [], 0)[0]:
                    break  # the server has answered: stop sending
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            else:
                if chunks is not None:
                    s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection after answering; read the answer
        reply = b""
        try:
            while b"\r\n" not in reply:
                part = s.recv(4096)
                if not part:
                    break
                reply += part
        except ConnectionResetError:
            pass
    m = re.match(rb"HTTP/1\.[01] (\d{3})", reply)
    assert m, f"no HTTP answer (got {reply[:200]!r}) after sending {sent} body bytes"
    return int(m.group(1)), sent, time.perf_counter() - t0


def _multipart(name: str, payload_chunks, boundary: str = "alignscopeboundary"):
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
           f"Content-Type: application/octet-stream\r\n\r\n").encode()
    yield from payload_chunks
    yield f"\r\n--{boundary}--\r\n".encode()


def _file_chunks(path: Path, size: int = 2**20):
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


def test_upload_over_the_limit_is_refused_before_it_is_read(server, big_vec, tmp_path):
    from playwright.sync_api import sync_playwright

    url, proc = server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1300, "height": 1000})
        pg = ctx.new_page()
        pg.set_default_timeout(60_000)
        uploads: list[str] = []
        pg.on("request", lambda r: uploads.append(r.url) if "/_stcore/upload_file/" in r.url else None)
        pg.goto(url + "/")
        pg.get_by_text("Validation report").wait_for()
        pg.get_by_text(f"up to {LIMIT_MB} MB per file").wait_for()  # the page states the limit
        side = pg.locator('[data-testid="stSidebar"]')
        side.get_by_text("fi.10k.vec.gz").wait_for()

        # 1. through the browser's file chooser
        uploader = pg.locator('[data-testid="stFileUploader"]').filter(has_text="Source embeddings")
        with RssPeak(proc.pid) as browser_rss:
            uploader.locator('input[type="file"]').set_input_files(str(big_vec))
            refusal = uploader.get_by_text(re.compile(rf"File must be {LIMIT_MB}(\.0)? ?MB or smaller"))
            refusal.wait_for()
        pg.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
        assert uploads == [], f"the browser sent the file: {uploads}"
        assert pg.locator('[data-testid="stAlertContentError"]').count() == 0  # our loader never ran
        side.get_by_text("fi.10k.vec.gz").wait_for()  # the sample is still the source set
        assert "big.vec" not in side.inner_text()
        assert browser_rss.growth < RSS_SLACK_MB, (browser_rss.before, browser_rss.peak)

        # the session id and XSRF token of a real upload request (intercepted, never delivered)
        pg.route("**/_stcore/upload_file/**", lambda route: route.abort())
        small = tmp_path / "small.txt"
        small.write_text("kissa chat\n")
        with pg.expect_request(lambda r: "/_stcore/upload_file/" in r.url and r.method == "PUT") as req:
            pg.locator('[data-testid="stFileUploader"]').nth(2).locator('input[type="file"]').set_input_files(
                str(small))
        captured = req.value
        page_headers = captured.all_headers()
        cookies = {c["name"]: c["value"] for c in ctx.cookies(url)}
        try:  # the tab stays open: the upload endpoint wants a connected session
            _server_side(url, proc, big_vec, captured.url, page_headers, cookies, browser_rss)
        finally:
            browser.close()


def _server_side(url, proc, big_vec, page_url, page_headers, cookies, browser_rss):
    size_mb = big_vec.stat().st_size / 2**20
    put_url = page_url.rsplit("/", 1)[0] + "/probe"
    headers = {"Content-Type": "multipart/form-data; boundary=alignscopeboundary",
               "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if "x-xsrftoken" in page_headers:
        headers["X-Xsrftoken"] = page_headers["x-xsrftoken"]

    # control: the same request with a small file is accepted
    body = b"".join(_multipart("small.vec", [b"1 2\nkissa 0.1 0.2\n"]))
    status, _, _ = _put(put_url + "-ok", headers, body=body)
    assert status == 204, f"a small upload with these headers is refused ({status}): the probe is wrong"

    # 2. an honest Content-Length over the limit: 413 before any body byte is read
    total = big_vec.stat().st_size + 200
    with RssPeak(proc.pid) as declared_rss:
        status, sent, declared_s = _put(put_url + "-declared", headers, length=total)
    assert status == 413 and sent == 0, (status, sent)
    assert declared_rss.growth < RSS_SLACK_MB, (declared_rss.before, declared_rss.peak)

    # 3. no length, the body streamed: cut off with 413 once past the limit + framing
    with RssPeak(proc.pid) as streamed_rss:
        status, sent, streamed_s = _put(put_url + "-chunked", headers,
                                        chunks=_multipart("big.vec", _file_chunks(big_vec)))
    assert status == 413, status
    log = proc.log_path.read_text()
    m = re.search(r"request body exceeded the size limit while streaming \((\d+) bytes received, cap (\d+) bytes",
                  log)
    assert m, log[-1500:]
    received, cap = int(m.group(1)), int(m.group(2))
    assert cap == (LIMIT_MB + 1) * 2**20 and cap < received <= cap + 2**20, (received, cap)
    assert sent < big_vec.stat().st_size, "the whole file went through before the refusal"
    assert streamed_rss.growth < RSS_SLACK_MB, (streamed_rss.before, streamed_rss.peak)
    print(f"{size_mb:.0f} MB file, limit {LIMIT_MB} MB. Browser: refused before sending, server RSS "
          f"{browser_rss.before:.0f} → peak {browser_rss.peak:.0f} MB. PUT with Content-Length: 413 in "
          f"{declared_s * 1000:.0f} ms, RSS +{declared_rss.growth:.1f} MB. Chunked PUT: 413 after "
          f"{received / 2**20:.1f} MB received ({sent / 2**20:.0f} MB sent) in {streamed_s:.1f} s, "
          f"RSS {streamed_rss.before:.0f} → peak {streamed_rss.peak:.0f} MB")

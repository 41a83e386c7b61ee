"""http_server: keep-alive, pipelining, 404, HEAD, HTTP/1.0, bad requests answered with 400 and a
closed connection, an oversized head, and curl when it is installed."""

import http.client
import shutil
import subprocess

from clients import raw


def run(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(100):  # one connection, kept alive
        c.request("GET", "/")
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"Hello, World!\n", r.status
    c.request("GET", "/missing")
    r = c.getresponse()
    assert r.status == 404, r.status
    r.read()
    c.request("HEAD", "/")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Length") == "14" and r.read() == b""
    c.request("POST", "/", body=b"x" * 1000)
    r = c.getresponse()
    assert r.status == 405, r.status
    r.read()
    c.close()

    # Ten pipelined requests in one segment: ten answers, in order; the last closes.
    pipelined = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 9 + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    got, closed = raw(port, pipelined)
    assert closed and got.count(b"HTTP/1.1 200 OK") == 9 and got.endswith(b"not found\n"), got[-200:]

    # HTTP/1.0 closes after one answer, unless it asks for keep-alive, which the answer confirms.
    got, closed = raw(port, b"GET / HTTP/1.0\r\n\r\n")
    assert closed and got.startswith(b"HTTP/1.1 200 OK"), got
    got, closed = raw(port, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", timeout=0.5)
    assert not closed and b"Connection: keep-alive" in got, got

    # Garbage, a bad version, a bad header, chunked bodies: 400 and the connection closes.
    for bad in (b"\x00\xff\x10garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
                b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"):
        got, closed = raw(port, bad)
        assert closed and got.startswith(b"HTTP/1.1 400 Bad Request"), (bad, got)

    # A head that never ends within 8 KiB: 400, closed.
    got, closed = raw(port, b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000)
    assert closed and got.startswith(b"HTTP/1.1 400"), got

    if shutil.which("curl"):
        out = subprocess.run(["curl", "-s", "-i", f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/x"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        assert out.count("HTTP/1.1 200 OK") == 1 and out.count("HTTP/1.1 404 Not Found") == 1, out
    print("http: keep-alive, pipelining, 404, HEAD, 405, HTTP/1.0, bad requests, curl: ok")

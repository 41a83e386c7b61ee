"""echo_server: many concurrent clients, large transfers, half-close, a reset that affects no
other client."""

import socket
import struct
import threading


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise AssertionError(f"stream ended after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def round_trips(port, rounds, errors):
    try:
        with connect(port) as s:
            for i in range(rounds):
                message = f"message {i:06d} ".encode() * 4
                s.sendall(message)
                assert recv_exactly(s, len(message)) == message
    except Exception as e:  # reported by the main thread
        errors.append(e)


def run(port):
    # 50 clients at once, 200 round trips each.
    errors = []
    threads = [threading.Thread(target=round_trips, args=(port, 200, errors)) for _ in range(50)]
    for t in threads:
        t.start()
    # Meanwhile a client resets its connection mid-stream: nobody else notices.
    victim = connect(port)
    victim.sendall(b"x" * 1000)
    victim.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    victim.close()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]

    # 16 MiB through one connection, read while it is written (the server's writes are short).
    payload = bytes(range(256)) * (16 * 4096)
    with connect(port) as s:
        received = bytearray()

        def reader():
            while len(received) < len(payload):
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                received.extend(chunk)

        t = threading.Thread(target=reader)
        t.start()
        s.sendall(payload)
        t.join()
        assert bytes(received) == payload, f"got {len(received)} bytes back of {len(payload)}"

    # Half-close: the echo of what was sent still arrives, then the end of the stream.
    with connect(port) as s:
        s.sendall(b"last words")
        s.shutdown(socket.SHUT_WR)
        assert recv_exactly(s, 10) == b"last words"
        assert s.recv(10) == b""
    print("echo: 50 clients x 200 round trips, a reset, 16 MiB, half-close: ok")

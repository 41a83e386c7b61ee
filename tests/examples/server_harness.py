"""Starts an example server on a free port, hands it to a check, then stops it with SIGINT and
requires a clean exit. Used by the example servers' CTest checks:

    python3 server_harness.py CHECK SERVER [server args...]

CHECK is a module in this directory with `run(port)` raising on failure; it may list extra server
arguments in SERVER_ARGS, and finds the server's pid in SERVER_PID."""

import importlib
import os
import signal
import subprocess
import sys


def main():
    check_name, server, *args = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    check = importlib.import_module(check_name)
    proc = subprocess.Popen([server, "--port", "0", *args, *getattr(check, "SERVER_ARGS", [])],
                            stdout=subprocess.PIPE, text=True)
    check.SERVER_PID = proc.pid
    try:
        banner = proc.stdout.readline()
        print(banner, end="")
        if "listening on port" not in banner:
            raise SystemExit(f"no banner from {server}: {banner!r}")
        port = int(banner.split("listening on port ")[1].split()[0])
        check.run(port)
        if proc.poll() is not None:
            raise SystemExit(f"the server died during the check (status {proc.returncode})")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SystemExit("the server did not stop within 20 s of SIGINT")
    print(rest, end="")
    if proc.returncode != 0 or "stopped cleanly" not in rest:
        raise SystemExit(f"unclean stop: status {proc.returncode}")
    print("check passed")


if __name__ == "__main__":
    main()

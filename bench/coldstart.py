#!/usr/bin/env python3
"""Cold start: time from exec to the first 200 on GET <path>, repeated.

    coldstart.py PORT RUNS PATH -- COMMAND [ARGS...]

Starts COMMAND (in its own process group) RUNS times; after each start, polls
http://127.0.0.1:PORT/PATH every 0.2 ms with a raw socket until it answers 200, records the
time since just before exec, then stops the process group (SIGTERM, then SIGKILL after 5 s) and
waits for the port to be free again. Prints one line: "COLDSTART runs=N median_ms=… min_ms=…
max_ms=… all_ms=…". Exits 1 when a start does not answer within 20 s.
"""

import os
import signal
import socket
import statistics
import subprocess
import sys
import time


def answers_200(port: int, path: str) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    except OSError:
        return False


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    port, runs, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    times = []
    for _ in range(runs):
        deadline = time.monotonic() + 5
        while not port_free(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            while not answers_200(port, path):
                if proc.poll() is not None:
                    print(f"COLDSTART error: {cmd[0]} exited with {proc.returncode}", flush=True)
                    return 1
                if time.perf_counter() - t0 > 20:
                    print("COLDSTART error: no 200 within 20 s", flush=True)
                    return 1
                time.sleep(0.0002)
            times.append((time.perf_counter() - t0) * 1000)
        finally:
            stop(proc)
    print(
        "COLDSTART runs=%d median_ms=%.1f min_ms=%.1f max_ms=%.1f all_ms=%s"
        % (
            len(times),
            statistics.median(times),
            min(times),
            max(times),
            ",".join("%.1f" % t for t in times),
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

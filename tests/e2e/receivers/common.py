"""Small helpers the receivers share: free ports, bounded waits, stopping a
process by its PID, private temp dirs."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HOST = "127.0.0.1"
POLL = 0.02          # s


def free_port(kind=socket.SOCK_STREAM):
    """A port the kernel just handed out on 127.0.0.1 (closed again: the
    caller binds it next, so a race is possible but unlikely)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def wait_until(cond, timeout, poll=POLL):
    """Poll cond() until it returns something truthy or timeout passes;
    returns the last value of cond()."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(poll)


def stop_process(proc, grace=5.0):
    """SIGTERM proc by its PID, wait up to grace seconds, then SIGKILL.
    Returns the exit status (None only if even SIGKILL did not end it)."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        return None


class WorkDir:
    """A directory the receiver writes in: the caller's, or a private temp
    dir removed by close() (kept when MLWATCH_E2E_KEEP is set)."""

    def __init__(self, path, prefix):
        self.owned = path is None
        self.path = tempfile.mkdtemp(prefix="mlwatch-e2e-%s-" % prefix, dir="/tmp") \
            if path is None else path
        os.makedirs(self.path, exist_ok=True)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def close(self):
        if self.owned and not os.environ.get("MLWATCH_E2E_KEEP"):
            shutil.rmtree(self.path, ignore_errors=True)

"""Small process and networking helpers shared by the e2e fixtures.

Every process the fixtures start goes through start_process(), which records it
so that stop_all() (called at session end and at interpreter exit) can stop
anything a fixture failed to stop itself.
"""

import atexit
import os
import signal
import socket
import subprocess
import threading
import time

# Processes started through start_process() and not yet stopped.
_live = {}
_live_lock = threading.Lock()


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The port is released before returning, so a caller that binds it later can
    still lose a race; callers retry on "address already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GiveUp(Exception):
    """Raised by a wait_for() predicate to stop waiting at once (e.g. the process died)."""


def wait_for(predicate, timeout=30.0, interval=0.05, what="condition"):
    """Poll predicate() until it returns a true value, and return that value.

    Exceptions raised by predicate() count as "not yet", except GiveUp, which
    propagates at once.  On timeout raises
    TimeoutError naming what and the last exception seen.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(
                "timed out after %.0fs waiting for %s%s"
                % (timeout, what, " (last error: %r)" % (last,) if last else "")
            )
        time.sleep(interval)


def start_process(argv, log_path, env=None, cwd=None):
    """Start argv in its own session with stdout and stderr going to log_path.

    Returns the subprocess.Popen.  The process is recorded until
    stop_process() is called on it.
    """
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    finally:
        log.close()
    with _live_lock:
        _live[proc.pid] = proc
    return proc


def stop_process(proc, timeout=10.0):
    """Stop proc: SIGTERM, then SIGKILL after timeout seconds; reap it.

    Safe to call twice and on a process that already exited.
    """
    if proc is None:
        return
    try:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)
    finally:
        with _live_lock:
            _live.pop(proc.pid, None)


def live_processes():
    """Return the processes started here and not stopped yet."""
    with _live_lock:
        return [p for p in _live.values() if p.poll() is None]


def stop_all():
    """Stop every process still recorded; return the pids that were running."""
    with _live_lock:
        procs = list(_live.values())
    running = [p.pid for p in procs if p.poll() is None]
    for p in procs:
        stop_process(p, timeout=5.0)
    return running


def pid_alive(pid):
    """Whether a process with this pid exists (zombies count as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def pgrep(pattern):
    """Return the pids (other than ours) whose command line contains pattern."""
    r = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True)
    me = os.getpid()
    return [int(x) for x in r.stdout.split() if int(x) != me]


def read_tail(path, limit=8000):
    """Return the last limit characters of a text file, or a note if unreadable."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)


def _at_exit():
    stop_all()


atexit.register(_at_exit)


def _on_term(signum, frame):  # pragma: no cover - only on external kill
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


# A SIGTERM to pytest (e.g. a CI timeout) still stops the registries.
if threading.current_thread() is threading.main_thread():
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _on_term)
    except (ValueError, OSError):
        pass

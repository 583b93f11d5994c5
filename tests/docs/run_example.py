#!/usr/bin/env python3
"""Runs one program of docs/examples and checks what it prints and how it ends.

    run_example.py NAME EXECUTABLE

Programs that end by themselves are checked against EXPECTED below: the exit status and
lines that must appear in that order. The servers of the tutorial (tutorial_step2 on) are
driven by the functions below, as a user would: a real TCP client, real signals, a real
notify socket for step 7. Waits are for a line the program prints or a reply it sends,
never a fixed sleep; each has a time limit (WAIT), so a program that hangs fails here with
its output instead of at ctest's TIMEOUT.
"""

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

WAIT = 60.0  # seconds: a limit for one wait, far above what any of them takes


class Failure(Exception):
    pass


# What a program that ends by itself must print (regular expressions, each matching a
# later line than the one before) and its exit status (negative: killed by that signal).
EXPECTED = {
    "tasks": (0, [
        r"^ticker: ticking every 10 ms$",
        r"^2 words, 21 letters$",
        r"^2 failures; an out_of_range among them: yes$",
        r"^not a number \(stoi\)$",
        r"^left: anyio::exception_group: 1 failure: stoi$",
        r"^parsed 2 numbers$",
    ]),
    "cancellation": (0, [
        r"^answer in time: no$",
        r"^fail_after: anyio: deadline exceeded$",
        r"^finished: 0, cancel_called: 1, cancelled_caught: 1$",
        r"^swallowed one cancelled$",
        r"^left the scope: cancelled_caught 1$",
        r"^deadline within 1 s: yes$",
        r"^no deadline outside: yes$",
        r"^busy loop stopped: yes$",
        r"^slept: 0 ",
    ]),
    "cleanup": (0, [
        r"^log flushed$",
        r"^serve finished: 0$",
        r"^bounded cleanup done$",
        r"^log flushed$",
        r"^log flushed$",
        r"^outer cancelled_caught: 1$",
    ]),
    "signals": (0, [
        # The count is a lower bound (the kernel merges a pending standard signal).
        r"^signal %d x[123], 1 request\(s\), sent by this process: yes$" % signal.SIGUSR1,
        r"^then signal %d$" % signal.SIGUSR2,
        r"^audit saw signal %d$" % signal.SIGUSR1,
        r"^SIGUSR2 ignored again: yes$",
        r"^SIGRTMIN\+1 with value 7 \(count 1\)$",
        r"^SIGRTMIN\+1 with value 8 \(count 1\)$",
        r"^SigBlk:\s+0+$",
        r"^SigIgn:\s+0+$",
    ]),
    "graceful_signals": (-signal.SIGTERM, [
        r"^sending SIGTERM to myself$",
        r"^worker [12] cleaned up$",
        r"^worker [12] cleaned up$",
    ]),
    "sync": (0, [
        r"^limiter: 3 of 3 tokens borrowed, 3 borrowers, 3 tasks waiting$",
        r"^event: 3 tasks waiting$",
        r"^6 jobs logged, at most 3 at once$",
        r"^lock: locked 1, owned by this task: yes, try_acquire again: 0$",
        r"^release without holding: std::logic_error$",
        r"^consumer saw 3 items$",
        r"^semaphore: 1 1 0, value 0$",
        r"^release past max_value: std::logic_error$",
        r"^request holds the token: yes; other got one: 0$",
        r"^a second token for the same borrower: std::logic_error$",
        r"^borrowed after release: 0$",
    ]),
    "sync_guards": (0, [
        r"^update failed; locked: 0$",
        r"^owns: 1$",
        r"^try_acquire_guard while held: empty$",
        r"^after release: owns 0, locked 0$",
        r"^unless_cancelled in a cancelled scope: nullopt$",
        r"^with: 2 updates, locked afterwards: 0$",
        r"^parent owns it after the move: 0$",
        r"^child holds the token: 1, value 0$",
        r"^value after the child: 1, connections borrowed: 0$",
    ]),
    "files": (0, [
        r"^3 lines, 1 errors$",
        r"^archived app.log: 54 bytes$",
        r"^in the archive: app.log$",
        r"^gone: No such file or directory$",
        r"^the pipe said !$",
    ]),
    "threads": (0, [
        r"^total size 123$",
        r"^from_thread::run gave 42, event set from the worker: 1$",
        r"^the worker threw std::invalid_argument$",
        r"^crunch stopped early: yes$",
        r"^abandoned the worker$",
        r"^the worker then saw: anyio::from_thread::check_cancelled: the task waiting for "
        r"this worker thread was cancelled$",
        r"^check_cancelled in main\(\): std::logic_error$",
        r"^call gave 42; started on port 8080$",
        r"^job: future_cancelled: anyio::blocking_portal: the portal task was cancelled by "
        r"portal_future::cancel\(\)$",
        r"^server: portal_stopped$",
        r"^after stop: anyio::blocking_portal::call: the portal has stopped$",
    ]),
    "testing": (0, [
        r"^\[ RUN      \] Retry\.GivesUpAfterThirtySeconds$",
        r"^\[       OK \] Retry\.GivesUpAfterThirtySeconds",
        r"^\[  PASSED  \] 1 test\.$",
    ]),
    "portal_main": (0, [
        r"^ticker started at 0$",
        r"^main saw 3 ticks or more$",
        r"^ticker cleaned up$",
    ]),
    "memory_streams": (0, [
        r"^consumer received 6 items$",
        r"^send: .*every receive end of the stream is closed$",
        r"^buffer full: 1 of 1$",
        r"^received 1$",
    ]),
    "byte_streams": (0, [
        r'^received "hello, world", then end_of_stream$',
        r"^received_into 4 bytes: pong$",
        r"^then end_of_stream$",
        r"^send after close: .*closed",
    ]),
    "buffered_streams": (0, [
        r'^line "GET a"$',
        r'^PUT with body "hello"$',
        r'^line "GET b"$',
        r"^too long: anyio: the delimiter was not found in the first 64 bytes$",
        r"^buffered: 64 bytes$",
        r"^incomplete: anyio: the stream ended after 10 bytes, before the delimiter$",
        r'^left in the buffer: "no newline"$',
    ]),
    "text_streams": (0, [
        r'^received "caf", then 3 bytes: U\+00E9 whole and "!": yes$',
        r'^"ok", then anyio: text stream receive: invalid UTF-8 at byte offset 8 \(byte 0xFF\)$',
        r"^send: anyio: text stream send: invalid UTF-8 at byte offset 19 \(byte 0xE6, a code "
        r"point cut off at the end of the text\)$",
        r'^received "bad " \+ U\+FFFD: yes$',
    ]),
    "stapled_streams": (0, [
        r'^cat echoed "ping"$',
        r'^cat echoed "pong"$',
        r"^end of stream after send_eof$",
        r"^cat exited with 0$",
    ]),
    "tls_echo": (0, [
        r"^client: TLSv1\.3, ALPN echo/1, server certificate CN=localhost$",
        r"^server: \"hello over TLS\" from a client that asked for localhost$",
        r"^client: echo: hello over TLS$",
        r"^client: refused: anyio: TLS handshake with example\.com failed: certificate verify "
        r"failed: hostname mismatch$",
        r"^server: 1 failed handshake\(s\)$",
    ]),
    "networking": (0, [
        r"^reply: HELLO$",
        r"^connection from 127\.0\.0\.1 failed: client said boom$",
        r'^reply to boom: ""$',
        r"^reply: STILL SERVING$",
        r"^anyio: connect to 127\.0\.0\.1:\d+: Connection refused \(errno 111, "
        r"address 127\.0\.0\.1:\d+\)$",
        r"^over a UNIX socket, listener at @anyio-docs-\d+$",
    ]),
    "udp_echo": (0, [
        r"^reply: HELLO$",
        r"^WHO ARE YOU\? from the server: yes$",
        r"^anyio: a datagram of 100000 bytes is too large to send to 127\.0\.0\.1:\d+: "
        r"Message too long \(EMSGSIZE: yes\)$",
        r"^ping from the client: pong$",
    ]),
    "processes": (0, [
        r"^tr said: QUIET PLEASE$",
        r"^returncode 3, stderr: oops$",
        r"^unchecked returncode 3$",
        r"^cat echoed ping$",
        r"^cat exited with 0$",
        r"^stubborn child ended by signal 9$",
        r"^sleep 60 stopped at once by SIGTERM: yes$",
    ]),
    "pid1": (0, [
        r"^PID 1: no$",
        r"^the shell's status: 0$",
        r"^own child's status: 5$",
    ]),
    "process_stop": (0, [
        r"^worker said: saving state$",
        r"^worker exited with 0$",
        r"^stubborn child ended by signal 9$",
        r"^sleep ended by signal 2 \(SIGINT is 2\)$",
        r"^patient stop finished: no; the child ended by signal 9$",
        r"^sorted: apple,fig,pear$",
        r"^file: notes.txt; echo gotcha$",
    ]),
    "tutorial_step1": (0, [
        r"^alice: SET colour blue -> OK$",
        r"^bob: SET size 42 -> OK$",
        r"^alice: GET colour -> VALUE blue$",
        r"^bob: GET colour -> VALUE blue$",
        r"^alice: DEL colour -> OK$",
        r"^bob: GET size -> VALUE 42$",
        r"^1 key\(s\) left$",
    ]),
}


def describe_status(code):
    if code is None:
        return "still running"
    if code < 0:
        return "killed by %s" % signal.Signals(-code).name
    return "exit status %d" % code


def check_lines(lines, patterns):
    """Each pattern must match a line after the one the previous pattern matched."""
    at = 0
    for pattern in patterns:
        while at < len(lines) and not re.search(pattern, lines[at]):
            at += 1
        if at == len(lines):
            raise Failure("no line matching %r (in order)" % pattern)
        at += 1


class Program:
    """A running example, its output read line by line."""

    def __init__(self, argv, env=None):
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, text=True, env=env)
        self.lines = []
        self._queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, pattern):
        """Reads lines until one matches `pattern`; returns the match."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise Failure("no line matching %r within %g s" % (pattern, WAIT)) from None
            if line is None:
                self._queue.put(None)
                raise Failure("the program ended (%s) before printing a line matching %r"
                              % (describe_status(self.proc.wait()), pattern))
            self.lines.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    def send_signal(self, signo):
        self.proc.send_signal(signo)

    def finish(self, expected_status):
        """Waits for the end; checks the exit status; returns every line printed."""
        try:
            code = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            raise Failure("still running %g s later" % WAIT) from None
        while (line := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(line)
        self._queue.put(None)
        if code != expected_status:
            raise Failure("%s, expected %s" % (describe_status(code),
                                               describe_status(expected_status)))
        return self.lines

    def report(self):
        self.stderr.seek(0)
        return "stdout:\n%s\nstderr:\n%s" % ("\n".join("    " + l for l in self.lines),
                                             self.stderr.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Client:
    """A line-protocol client of the tutorial's server."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buffer = b""

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def read_line(self):
        while b"\n" not in self.buffer:
            data = self.sock.recv(4096)
            if not data:
                raise Failure("the server closed the connection; got %r" % self.buffer)
            self.buffer += data
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def ask(self, line, expected):
        self.send(line)
        reply = self.read_line()
        if reply != expected:
            raise Failure("%r: replied %r, expected %r" % (line, reply, expected))

    def expect_end(self):
        """The server ends the connection (after anything still unread)."""
        while True:
            try:
                data = self.sock.recv(4096)
            except ConnectionResetError:
                return
            if not data:
                return
            self.buffer += data

    def close(self):
        self.sock.close()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
    except ConnectionRefusedError:
        return True
    return False


def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)


def start_server(programs, exe, args, env=None):
    """Starts a server (kept in `programs`, for the report) and waits for its port."""
    program = Program([exe] + args, env)
    programs.append(program)
    port = int(program.expect(r"^listening on port (\d+)$").group(1))
    return program, port


def stop_when_idle(program, *clients):
    """Hangs up every client, then SIGTERM: nothing to drain, so the server ends at once."""
    for client in clients:
        client.close()
    program.send_signal(signal.SIGTERM)
    check_lines(program.finish(0), [r"not accepting", r"^all connections finished$"])


def drive_step2(exe, tmp, programs):
    # Two clients share the store; Ctrl+C (SIGINT) cancels everything and ends the program
    # by SIGINT, as a shell expects.
    program, port = start_server(programs, exe, [])
    alice = Client(port)
    alice.ask("SET colour blue", "OK")
    bob = Client(port)
    bob.ask("GET colour", "VALUE blue")
    alice.ask("FLY away", "ERROR unknown command")
    bob.ask("DEL colour", "OK")
    alice.ask("GET colour", "NOT_FOUND")
    program.send_signal(signal.SIGINT)
    program.finish(-signal.SIGINT)
    alice.expect_end()
    bob.expect_end()


def drive_graceful_stop(exe, args_for_grace, tmp, programs, env=None, on_stopping=None):
    """SIGTERM with a client connected: it is still served while the server refuses new
    connections, and the server ends once it hangs up. Then again with a short grace
    period and a client that stays: the server cancels it."""
    program, port = start_server(programs, exe, args_for_grace(60000), env)
    client = Client(port)
    client.ask("SET k v", "OK")
    program.send_signal(signal.SIGTERM)
    program.expect(r"not accepting")
    if on_stopping:
        on_stopping()
    if not refused(port):
        raise Failure("a new connection was accepted after SIGTERM")
    client.ask("GET k", "VALUE v")
    client.close()
    check_lines(program.finish(0), [r"^all connections finished$"])

    program, port = start_server(programs, exe, args_for_grace(100), env)
    client = Client(port)
    client.ask("SET k v", "OK")
    program.send_signal(signal.SIGTERM)
    client.expect_end()
    check_lines(program.finish(0), [r"not accepting", r"^grace period over"])


def drive_step3(exe, tmp, programs):
    drive_graceful_stop(exe, lambda grace: ["0", str(grace)], tmp, programs)


def config_args(tmp, name):
    path = os.path.join(tmp, name)

    def args(grace, extra=""):
        write_config(path, "# tutorial\nread_only=false\ngrace_ms=%d\n%s" % (grace, extra))
        return [path]
    return path, args


def drive_reload(program, port, path, reloaded=None):
    """SIGHUP with a new configuration, then with a broken one."""
    client = Client(port)
    client.ask("SET k v", "OK")
    write_config(path, "read_only=true\n")
    program.send_signal(signal.SIGHUP)
    program.expect(r"^reloaded .*read_only=1$")
    if reloaded:
        reloaded()
    client.ask("SET k w", "ERROR read-only")
    write_config(path, "read_only=maybe\n")
    program.send_signal(signal.SIGHUP)
    if reloaded is None:
        program.expect(r"^reload failed, keeping the old configuration: .*bad line")
    else:
        reloaded()
    client.ask("DEL k", "ERROR read-only")
    client.ask("GET k", "VALUE v")
    client.close()


def drive_step4(exe, tmp, programs, env=None, reloaded=None):
    path, args = config_args(tmp, "kv.conf")
    program, port = start_server(programs, exe, args(60000), env)
    drive_reload(program, port, path, reloaded)
    stop_when_idle(program)
    drive_graceful_stop(exe, args, tmp, programs, env)


def drive_idle_timeout(exe, tmp, programs):
    # An idle client is sent away after idle_timeout_ms; one that keeps talking stays,
    # although it is connected for longer than that.
    path, args = config_args(tmp, "kv.conf")
    program, port = start_server(programs, exe, args(60000, "idle_timeout_ms=600\n"))
    idle = Client(port)
    busy = Client(port)
    started = time.monotonic()
    while time.monotonic() - started < 1.0:
        busy.ask("GET k", "NOT_FOUND")
        time.sleep(0.15)  # a client that pauses: the pause is what is being tested
    if idle.read_line() != "BYE idle":
        raise Failure("the idle client was not sent away")
    idle.expect_end()
    busy.ask("SET k v", "OK")
    stop_when_idle(program, busy)


def drive_step5(exe, tmp, programs):
    drive_idle_timeout(exe, tmp, programs)
    drive_step4(exe, tmp, programs)


def drive_snapshot(exe, tmp, programs, env=None):
    path, args = config_args(tmp, "kv.conf")
    snapshot = os.path.join(tmp, "kv.snapshot")
    program, port = start_server(programs, exe, args(60000, "snapshot=%s\n" % snapshot), env)
    client = Client(port)
    client.ask("SET b 2", "OK")
    client.ask("SET a 1", "OK")
    client.ask("SAVE", "OK saved 2 key(s)")
    with open(snapshot) as f:
        saved = f.read()
    if saved != "a 1\nb 2\n":
        raise Failure("snapshot: %r" % saved)
    stop_when_idle(program, client)


def drive_step6(exe, tmp, programs):
    drive_snapshot(exe, tmp, programs)
    drive_step5(exe, tmp, programs)


class NotifySocket:
    """The service manager's end of $NOTIFY_SOCKET: a datagram socket we read."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(WAIT)
        self.path = path

    def expect(self, assignment):
        """Reads notifications until one has the line `assignment`; returns them all."""
        seen = []
        while True:
            try:
                message = self.sock.recv(4096).decode()
            except socket.timeout:
                raise Failure("no %s notification; got %r" % (assignment, seen)) from None
            seen.append(message)
            if assignment in message.split("\n"):
                return seen


def drive_step7(exe, tmp, programs):
    notify = NotifySocket(os.path.join(tmp, "notify"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    path, args = config_args(tmp, "kv.conf")
    program, port = start_server(programs, exe, args(60000), env)
    notify.expect("READY=1")

    def reloaded():
        notify.expect("RELOADING=1")
        notify.expect("READY=1")
    drive_reload(program, port, path, reloaded)
    stop_when_idle(program)
    notify.expect("STOPPING=1")
    drive_graceful_stop(exe, args, tmp, programs, env, lambda: notify.expect("STOPPING=1"))
    drive_snapshot(exe, tmp, programs, env)
    drive_idle_timeout(exe, tmp, programs)


DRIVERS = {
    "tutorial_step2": drive_step2,
    "tutorial_step3": drive_step3,
    "tutorial_step4": drive_step4,
    "tutorial_step5": drive_step5,
    "tutorial_step6": drive_step6,
    "tutorial_step7": drive_step7,
}


def main():
    name, exe = sys.argv[1], sys.argv[2]
    programs = []
    try:
        with tempfile.TemporaryDirectory(prefix="anyio-docs-") as tmp:
            if name in DRIVERS:
                DRIVERS[name](exe, tmp, programs)
            elif name in EXPECTED:
                status, patterns = EXPECTED[name]
                programs.append(Program([exe]))
                check_lines(programs[-1].finish(status), patterns)
            else:
                raise Failure("tests/docs/run_example.py does not know what %s must do: add it "
                              "to EXPECTED or DRIVERS" % name)
    except (Failure, OSError) as e:
        print("FAILED: %s: %s" % (name, e))
        for number, program in enumerate(programs, 1):
            program.kill()
            print("run %d of %d (%s):\n%s" % (number, len(programs), " ".join(program.proc.args),
                                             program.report()))
        return 1
    print("passed: %s (%d run(s))" % (name, len(programs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The stack judges its own processes: a test in which a service crashes,
leaks, hits undefined behaviour, quietly ends or writes a line that is not a
JSON log line fails, even when the test's own checks all passed. Each case
here runs a stack with one service broken on purpose (by a signal, or by a
wrapper that ends it the way a sanitizer build would) and asserts that
leaving the stack raises with the process, the cause and its log; a stack
left whole leaves without complaint."""

import os
import signal
import stat
import tempfile
import shutil

from stack import Stack, run

SERVICES = ("agreements",)


def bin_dir_with(wrapped, script):
    """A directory with every real binary linked in, and wh-<wrapped>
    replaced by a shell script that runs the real one as its child; the
    script's TERM trap (script) decides how the process ends."""
    real = os.environ.get("WH_BIN_DIR", os.path.join(os.getcwd(), "build"))
    d = tempfile.mkdtemp(prefix="wh-bin-")
    for f in os.listdir(real):
        if f.startswith("wh-"):
            os.symlink(os.path.join(real, f), os.path.join(d, f))
    path = os.path.join(d, "wh-" + wrapped)
    os.unlink(path)
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\n"
                 "%s &\n"
                 "child=$!\n"
                 "trap 'kill -TERM $child; wait $child; %s' TERM\n"
                 "wait $child\n" % (os.path.join(real, "wh-" + wrapped), script))
    os.chmod(path, stat.S_IRWXU)
    return d


def leave_fails(stack_fn, *needles, bin_dir=None):
    """Runs stack_fn(s) inside a stack; leaving it must raise
    AssertionError whose message holds every needle (a tuple: one of its
    strings)."""
    try:
        with Stack(services=SERVICES, bin_dir=bin_dir) as s:
            stack_fn(s)
    except AssertionError as e:
        msg = str(e)
        for n in needles:
            assert any(x in msg for x in (n if isinstance(n, tuple) else (n,))), \
                "%r not in the report:\n%s" % (n, msg)
        return msg
    finally:
        if bin_dir:
            shutil.rmtree(bin_dir, ignore_errors=True)
    raise AssertionError("the stack did not report a broken process (%r)" % (needles,))


def serve(s):
    assert s.get("/v1/organizations").status == 200


def test_whole_stack_passes():
    with Stack(services=SERVICES) as s:
        serve(s)
        # Signals the test sends itself are no failure.
        s.kill("agreements", signal.SIGKILL)
        s.start_process("agreements")
        s.wait_serving("agreements")
        s.kill("agreements", signal.SIGTERM)
        s.start_process("agreements")
        s.wait_serving("agreements")
        s.wait_ready()
        serve(s)


def test_crash_mid_test():
    """A service that dies of SIGSEGV the test did not cause fails the
    test, though nothing asks that service anything afterwards."""
    def crash(s):
        serve(s)
        s.procs["agreements"].send_signal(signal.SIGSEGV)
        s.procs["agreements"].wait(timeout=10)
        assert s.get("/healthz").status == 200  # the gateway alone looks fine
    # A sanitizer build catches the signal itself, reports and exits 1.
    msg = leave_fails(crash, "wh-agreements",
                      ("died by SIGSEGV, which the test did not send", "wrote a sanitizer report"),
                      "serving")
    print(msg.splitlines()[1])


def test_check_alive_sees_a_crash_at_once():
    def crash(s):
        s.procs["agreements"].send_signal(signal.SIGABRT)
        s.procs["agreements"].wait(timeout=10)
        try:
            s.check_alive()
        except AssertionError as e:
            assert "agreements (SIGABRT)" in str(e), e
        else:
            raise AssertionError("check_alive missed a dead service")
    leave_fails(crash, ("SIGABRT", "wrote a sanitizer report"))


def test_quiet_exit_mid_test():
    """A service that ends with status 0 while the test still runs (here:
    told to by someone else) is a service gone missing."""
    def leave(s):
        s.procs["agreements"].send_signal(signal.SIGTERM)
        s.procs["agreements"].wait(timeout=10)
    leave_fails(leave, "wh-agreements", "exited by itself in the middle of the test")


def test_leak_on_exit():
    """What an AddressSanitizer build does at exit when memory leaked: a
    LeakSanitizer report and exit status 23."""
    script = ('echo "==4242==ERROR: LeakSanitizer: detected memory leaks" >&2; '
              'echo "SUMMARY: AddressSanitizer: 64 byte(s) leaked in 1 allocation(s)." >&2; '
              'exit 23')
    msg = leave_fails(serve, "wh-agreements", "exited with 23", "wrote a sanitizer report",
                      "LeakSanitizer: detected memory leaks",
                      bin_dir=bin_dir_with("agreements", script))
    print(msg.splitlines()[1])


def test_undefined_behaviour_reported_but_exit_0():
    """UndefinedBehaviorSanitizer without halt_on_error reports and goes on:
    the report alone fails the test."""
    script = ('echo "services/agreements/x.c:1:1: runtime error: signed integer overflow" >&2; '
              'exit 0')
    leave_fails(serve, "wh-agreements", "wrote a sanitizer report", "runtime error:",
                bin_dir=bin_dir_with("agreements", script))


def test_unclean_sigterm():
    """A process that SIGTERM ends with a non-zero status fails the test,
    also when the test itself sent that SIGTERM."""
    def stop(s):
        serve(s)
        s.kill("agreements", signal.SIGTERM)
    leave_fails(stop, "wh-agreements", "exited with 1",
                bin_dir=bin_dir_with("agreements", "exit 1"))


def test_plain_line_in_the_log():
    """A line that is not a JSON log line fails the test, though the
    process ended well: an operator's log collector could not read it."""
    msg = leave_fails(serve, "wh-agreements", "not a JSON log line", "stopped, said plainly",
                      bin_dir=bin_dir_with("agreements", 'echo "stopped, said plainly" >&2; exit 0'))
    assert "exited" not in msg, msg


def test_expected_exit():
    """expect_exit is the one way to let a process end by itself."""
    with Stack(services=SERVICES) as s:
        s.expect_exit("agreements", 0)
        s.procs["agreements"].send_signal(signal.SIGTERM)
        s.procs["agreements"].wait(timeout=10)
    leave_fails(lambda s: (s.expect_exit("agreements", 1), s.kill("agreements", signal.SIGTERM)),
                "exited with 0, the test expected 1")


if __name__ == "__main__":
    run([test_whole_stack_passes, test_crash_mid_test, test_check_alive_sees_a_crash_at_once,
         test_quiet_exit_mid_test, test_leak_on_exit, test_undefined_behaviour_reported_but_exit_0,
         test_unclean_sigterm, test_plain_line_in_the_log, test_expected_exit])

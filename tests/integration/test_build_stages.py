"""Stages that do not depend on each other are built side by side
(runtime/build/lanes.c), yet `docker build` prints what a sequential build
prints: steps in order, each stage's output whole, a failure where a
sequential build would stop."""

import re
import subprocess
import time

from test_build import assert_cleaned_up, build, dockerfile_tar, loaded, send_build, write  # noqa: F401 (loaded is a fixture)


def test_independent_stages_run_at_once(loaded, tmp_path):
    # The listener's RUN ends only when the talker's RUN has reached it: a
    # builder taking one stage after the other never finishes the first.
    write(tmp_path, {"Dockerfile": "\n".join([
        "FROM busybox AS listener",
        "RUN echo listening && nc -l -p 7123 > /got && cat /got",
        "FROM busybox AS talker",
        "RUN for i in $(seq 1 600); do echo hello-from-talker | nc 127.0.0.1 7123 && exit 0; sleep 0.1; done;"
        " exit 1",
        "FROM busybox",
        "COPY --from=listener /got /got",
        "CMD cat /got",
        "",
    ])})
    try:
        res = loaded.docker("build", "--no-cache", "--network", "host", "-t", "lanes:1", str(tmp_path), timeout=90)
    except subprocess.TimeoutExpired:
        raise AssertionError("the two stages were not built at the same time")
    out = res.out
    # the stream reads as a sequential build's: each step once, in order
    steps = [line for line in out.splitlines() if line.startswith("Step ")]
    assert [s.split(" :")[0] for s in steps] == ["Step %d/7" % i for i in range(1, 8)], out
    assert out.index("listening") < out.index("hello-from-talker") < out.index("Step 3/7"), out
    assert loaded.docker("run", "--rm", "lanes:1").out == "hello-from-talker\n"


def test_later_stage_failing_waits_for_the_earlier(loaded, tmp_path):
    write(tmp_path, {"Dockerfile": "FROM busybox AS a\nRUN sleep 1 && echo a-done\n"
                                   "FROM busybox AS b\nRUN echo b-out && exit 4\n"
                                   "FROM busybox\nRUN echo never\n"})
    res = build(loaded, tmp_path, "--no-cache", check=False)
    assert res.returncode != 0
    assert "The command '/bin/sh -c echo b-out && exit 4' returned a non-zero code: 4" in res.err
    out = res.out
    assert out.index("a-done") < out.index("Step 3/6 : FROM busybox AS b") < out.index("b-out"), out
    assert "Step 5/6" not in out and "never" not in out


def test_earlier_stage_failing_cuts_the_later_short(loaded, tmp_path):
    before = set(loaded.docker("ps", "-aq", "--no-trunc").out.split())
    write(tmp_path, {"Dockerfile": "FROM busybox AS a\nRUN sleep 0.5; exit 3\n"
                                   "FROM busybox AS b\nRUN echo b-running; sleep 300\n"
                                   "FROM busybox\nRUN true\n"})
    # far less than the later stage's sleep: its RUN was killed
    res = loaded.docker("build", "--no-cache", str(tmp_path), check=False, timeout=60)
    assert res.returncode != 0
    assert "The command '/bin/sh -c sleep 0.5; exit 3' returned a non-zero code: 3" in res.err
    # nothing of the cut stage is printed: a sequential build never reached it
    assert "b-running" not in res.out and "Step 3/6" not in res.out, res.out
    # its container is gone; the failed RUN's stays, as dockerd leaves it
    left = set(loaded.docker("ps", "-aq", "--no-trunc").out.split()) - before
    assert len(left) == 1, left
    assert loaded.docker("inspect", "-f", "{{.State.ExitCode}}", left.pop()).out.strip() == "3"


def test_stages_sharing_steps_share_images(loaded, tmp_path):
    """Two stages starting with the same steps, built at once, end on the
    same images (a sequential build would have found the first stage's in
    the cache), and a rebuild takes every step from the cache."""
    files = {"src/%d.txt" % i: "%d\n" % i for i in range(20)}
    files["Dockerfile"] = "\n".join([
        "FROM busybox AS one",
        "COPY src/ /src/",
        "RUN sleep 0.3; ls /src | wc -l > /count",
        "FROM busybox AS two",
        "COPY src/ /src/",
        "RUN sleep 0.3; ls /src | wc -l > /count",
        "FROM busybox",
        "COPY --from=one /count /one",
        "COPY --from=two /count /two",
        "",
    ])
    write(tmp_path, files)
    dangling = set(loaded.docker("images", "-q", "--filter", "dangling=true").out.split())
    first = build(loaded, tmp_path, "-t", "shared:1").out
    ids = [line.split()[-1] for line in first.splitlines() if re.match(r"^ ---> [0-9a-f]{12}$", line)]
    # FROM, COPY, RUN of "one", then the same three of "two"
    assert ids[1] == ids[4] and ids[2] == ids[5], first
    again = build(loaded, tmp_path, "-t", "shared:1").out
    assert again.count(" ---> Using cache") == 6, again
    assert loaded.docker("run", "--rm", "shared:1", "cat", "/one", "/two").out == "20\n20\n"
    # the copies the later stage made and dropped left nothing behind: the
    # two stages' last image (one, untagged) is all that is new and dangling
    now = set(loaded.docker("images", "-q", "--filter", "dangling=true").out.split())
    assert now - dangling == {ids[2]}, (now, dangling, ids)


def test_client_leaving_stops_every_stage(loaded, tmp_path):
    body = dockerfile_tar(b"FROM busybox AS a\nRUN echo started-a && sleep 300\n"
                          b"FROM busybox AS b\nRUN echo started-b && sleep 300\n"
                          b"FROM busybox\nRUN true\n")
    before = set(loaded.docker("ps", "-aq").out.split())
    s = send_build(loaded, body, "?nocache=1")
    got = b""
    deadline = time.time() + 30
    while b"started-a" not in got and time.time() < deadline:
        got += s.recv(4096)
    assert b"Running in" in got
    # the second stage's RUN is running too (its output is held back)
    deadline = time.time() + 30
    while time.time() < deadline and len(set(loaded.docker("ps", "-q").out.split()) - before) < 2:
        time.sleep(0.1)
    assert len(set(loaded.docker("ps", "-q").out.split()) - before) == 2
    assert b"started-b" not in got
    s.close()
    assert_cleaned_up(loaded, before)

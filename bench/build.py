#!/usr/bin/python3
"""Build benchmark (issue 14): a ten-step two-stage Dockerfile (RUN, COPY of
300 small files, ENV, WORKDIR...) built with `docker build` (the classic
/build API): a first build, a rebuild entirely from the cache, and a rebuild
after touching one copied file.

Run from the repo root as root: /usr/bin/python3 bench/build.py
Knobs: BERTHD (default build/berthd), ROUNDS (3).  The daemon runs in its own
network namespace with its own data root and socket under a temporary
directory, all removed at exit.  The issue's targets are relative to dockerd
20.10's classic builder (first build <= 40% of its time, cached rebuild <=
20%); dockerd is not installed here, so run the same Dockerfile against it by
hand: DOCKER_HOST=... /usr/bin/python3 bench/build.py --client-only
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from containers import Bench, FIXTURE, prepare  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))

DOCKERFILE = """FROM busybox AS build
ENV STAGE=build
WORKDIR /src
COPY files/ ./files/
RUN find files -type f | sort | xargs cat | md5sum > /sum
FROM busybox
ENV APP=/app
WORKDIR /app
COPY --from=build /sum ./sum
RUN cat sum
"""


def make_context(root):
    os.makedirs(os.path.join(root, "files"))
    with open(os.path.join(root, "Dockerfile"), "w") as f:
        f.write(DOCKERFILE)
    for i in range(300):
        with open(os.path.join(root, "files", "f%03d.txt" % i), "w") as f:
            f.write("file %d\n" % i * 20)


def timed_build(env, ctx, *args):
    t = time.monotonic()
    subprocess.run(["docker", "build", "-q"] + list(args) + [ctx], env=env, capture_output=True, check=True)
    return (time.monotonic() - t) * 1000


def measure(env, work):
    firsts, cached, touched = [], [], []
    for r in range(ROUNDS):
        ctx = os.path.join(work, "ctx%d" % r)
        make_context(ctx)
        # a fresh context content per round, so the first build misses the cache
        with open(os.path.join(ctx, "files", "f000.txt"), "a") as f:
            f.write("round %d %f\n" % (r, time.time()))
        firsts.append(timed_build(env, ctx))
        cached.append(timed_build(env, ctx))
        with open(os.path.join(ctx, "files", "f150.txt"), "a") as f:
            f.write("touched\n")
        touched.append(timed_build(env, ctx))
    return [("first build, median (ms)", statistics.median(firsts)),
            ("rebuild from cache, median (ms)", statistics.median(cached)),
            ("rebuild after touching one copied file, median (ms)", statistics.median(touched))]


def main():
    work = tempfile.mkdtemp(prefix="berth-bench-build.")
    try:
        if "--client-only" in sys.argv:
            results = measure(dict(os.environ), work)
        else:
            prepare()
            b = Bench()
            try:
                b.start()
                b.docker("load", "-i", FIXTURE)
                results = measure(b.env, work)
            finally:
                b.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for name, value in results:
        print("%-55s %10.1f" % (name, value))
    if not shutil.which("dockerd"):
        print("dockerd is not installed here: no comparison was made (see the header of this script)")


if __name__ == "__main__":
    main()

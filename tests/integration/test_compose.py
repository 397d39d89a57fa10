"""docker-compose 1.29 end to end (issue 17): a project with networks, a
named volume, depends_on with a healthcheck, links, published ports, an
env file and a build; ps, logs -f, exec, run --rm, scale, restart and
down -v."""

import os
import select
import subprocess
import time

import pytest

PROJECT = {
    "docker-compose.yml": """
version: "2.4"
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "echo db-up; mkdir -p /www && echo hello-from-db > /www/index.html && echo $$DB_NAME > /data/name && exec httpd -f -p 5432 -h /www"]
    env_file: db.env
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD", "timeout", "2", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5432/"]
      interval: 1s
      timeout: 2s
      retries: 30
    networks: [back]
  web:
    build: ./web
    image: compose-e2e-web:latest
    depends_on:
      db:
        condition: service_healthy
    links: ["db:database"]
    ports: ["80"]
    environment: ["GREETING=hi"]
    networks: [back, front]
networks:
  back: {}
  front: {}
volumes:
  data: {}
""",
    "db.env": "DB_NAME=orders\n# a comment\n",
    "web/Dockerfile": "FROM busybox:latest\nRUN mkdir /www && echo web-page > /www/index.html\n"
                      "CMD [\"sh\", \"-c\", \"echo web-up $GREETING; exec httpd -f -p 80 -h /www\"]\n",
}


@pytest.fixture
def project(daemon, busybox, tmp_path):
    for name, text in PROJECT.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    env = dict(os.environ, DOCKER_HOST="unix://" + daemon.sock, DOCKER_CONFIG=daemon.docker_config,
               COMPOSE_DOCKER_CLI_BUILD="0", DOCKER_BUILDKIT="0", COMPOSE_PROJECT_NAME="e2e")
    env.pop("DOCKER_CONTEXT", None)

    def compose(*args, check=True, timeout=180):
        res = subprocess.run(["docker-compose"] + list(args), cwd=str(tmp_path), env=env, capture_output=True,
                             timeout=timeout)
        res.out, res.err = res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace")
        if check and res.returncode != 0:
            raise AssertionError("docker-compose %s failed (%d):\n%s\n%s" % (" ".join(args), res.returncode,
                                                                            res.out, res.err))
        return res

    compose.env = env
    compose.dir = str(tmp_path)
    yield compose
    compose("down", "-v", "--rmi", "local", check=False)


def test_compose_project_end_to_end(daemon, project):
    project("build")
    project("up", "-d")
    ps = project("ps").out
    assert "e2e_db_1" in ps and "e2e_web_1" in ps and "Up" in ps, ps
    assert "(healthy)" in ps, ps
    # the db became healthy before web started (depends_on condition)
    db = daemon.json("GET", "/containers/e2e_db_1/json")
    web = daemon.json("GET", "/containers/e2e_web_1/json")
    assert db["State"]["Health"]["Status"] == "healthy"
    assert web["State"]["StartedAt"] > db["State"]["StartedAt"]
    # env file and environment
    assert "DB_NAME=orders" in db["Config"]["Env"]
    assert project("exec", "-T", "db", "cat", "/data/name").out == "orders\n"
    # the link alias and the service name both reach db over the back network
    out = project("exec", "-T", "web", "wget", "-q", "-O", "-", "http://database:5432/").out
    assert out == "hello-from-db\n"
    assert project("exec", "-T", "web", "wget", "-q", "-O", "-", "http://db:5432/").out == "hello-from-db\n"
    # the published port answers in the daemon's namespace
    port = project("port", "web", "80").out.strip().rsplit(":", 1)[1]
    # (web's httpd may still be starting: nothing waits for it)
    deadline, got = time.time() + 30, None
    while got != "web-page\n" and time.time() < deadline:
        res = daemon.netns_run("timeout", "5", "wget", "-q", "-O", "-", "http://127.0.0.1:%s/" % port, check=False)
        got = res.out if res.returncode == 0 else time.sleep(0.1)
    assert got == "web-page\n"
    # logs -f follows until stopped
    p = subprocess.Popen(["docker-compose", "logs", "-f", "--no-color"], cwd=project.dir, env=project.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, deadline = b"", time.time() + 60
    while not (b"db-up" in out and b"web-up hi" in out) and time.time() < deadline:
        ready, _, _ = select.select([p.stdout], [], [], 1)
        if ready:
            out += os.read(p.stdout.fileno(), 65536)
    # still following: it has not ended on its own
    assert p.poll() is None
    p.terminate()
    p.communicate(timeout=30)
    assert b"db-up" in out and b"web-up hi" in out, out
    # run --rm: a one-off container, removed after
    assert project("run", "--rm", "-T", "web", "sh", "-c", "echo one-off $GREETING").out.strip().endswith("one-off hi")
    names = [c["Names"][0] for c in daemon.json("GET", "/containers/json?all=1")]
    assert not any("run" in n for n in names), names
    # scale and restart
    project("up", "-d", "--scale", "web=2")
    assert len(project("ps", "-q", "web").out.split()) == 2
    before = daemon.json("GET", "/containers/e2e_db_1/json")["State"]["StartedAt"]
    project("restart", "db")
    assert daemon.json("GET", "/containers/e2e_db_1/json")["State"]["StartedAt"] > before
    # down -v removes containers, networks and the named volume
    project("down", "-v")
    assert not [c for c in daemon.json("GET", "/containers/json?all=1") if c["Names"][0].startswith("/e2e_")]
    assert not [n for n in daemon.json("GET", "/networks") if n["Name"].startswith("e2e_")]
    assert not [v for v in daemon.json("GET", "/volumes")["Volumes"] or [] if v["Name"].startswith("e2e_")]

#!/usr/bin/python3
"""`docker` on an instance of the local AWS: the command line, talking to the instance's Docker engine.

As Docker's own CLI does: it needs the engine running (`systemctl start docker`), and a user who is
not root needs to be in the `docker` group (the socket is root:docker 0660); then the engine
(localaws/hosts/docker_engine.py, in the local AWS) does the work and this prints what it says. Runs with
the instance's /usr/bin/python3 and its standard library only.
"""
import grp
import json
import os
import socket
import sys

SOCKET = "/run/docker.sock"
ACTIVE = "/run/localaws/services/docker"  # written by `systemctl start docker`
DIAL = "unix:///var/run/docker.sock"


def main(argv: list[str]) -> int:
    if not os.path.exists(ACTIVE):
        print(f"Cannot connect to the Docker daemon at {DIAL}. Is the docker daemon running?", file=sys.stderr)
        return 1
    if os.getuid() != 0:
        try:
            allowed = grp.getgrnam("docker").gr_gid in os.getgroups()
        except KeyError:
            allowed = False
        if not allowed:
            print(f"permission denied while trying to connect to the Docker daemon socket at {DIAL}: "
                  f"dial unix /var/run/docker.sock: connect: permission denied", file=sys.stderr)
            return 1
    stdin = sys.stdin.read() if "--password-stdin" in argv else ""
    request = {"argv": argv, "cwd": os.getcwd(), "uid": os.getuid(), "stdin": stdin}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
        engine.connect(SOCKET)
        engine.sendall(json.dumps(request).encode() + b"\n")
        with engine.makefile("r", encoding="utf-8") as answers:
            for line in answers:
                answer = json.loads(line)
                if "exit" in answer:
                    return int(answer["exit"])
                stream = sys.stdout if answer.get("stream") == "out" else sys.stderr
                stream.write(answer.get("data", ""))
                stream.flush()
    print("docker: the engine closed the connection", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

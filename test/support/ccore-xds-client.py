#!/usr/bin/env python3
"""A gRPC C-core xDS client for the interop test (test/xds-ccore-interop.test.ts).

Usage: ccore-xds-client.py TARGET COUNT [DEADLINE_S]
Opens one channel to TARGET (e.g. xds:///web.shop:8080; the xDS bootstrap comes from GRPC_XDS_BOOTSTRAP), makes
COUNT unary calls of /endpointd.test.Echo/Who, whose backends answer with their id, and prints one JSON line per
call: {"backend": ID} or {"error": STATUS_CODE_NAME, "detail": TEXT}, then {"done": COUNT}. Then each line read
from stdin (a count) makes another batch on the same channel, so that the test can watch the channel follow a
change; EOF closes the channel and exits 0. The calls wait for the channel to be ready (wait_for_ready) within
their deadline, so that a batch measures the assignment the client holds, not its start-up.
"""

import json
import sys

import grpc

ECHO = "/endpointd.test.Echo/Who"


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def batch(who, count, deadline_s):
    for _ in range(count):
        try:
            answer = who(b"", timeout=deadline_s, wait_for_ready=True)
            emit({"backend": answer.decode("utf-8")})
        except grpc.RpcError as error:
            emit({"error": error.code().name, "detail": error.details() or ""})
    emit({"done": count})


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    target, count = argv[1], int(argv[2])
    deadline_s = float(argv[3]) if len(argv) == 4 else 5.0
    emit({"grpc": grpc.__version__})
    with grpc.insecure_channel(target) as channel:
        # No serializers: requests and answers are raw bytes, as the echo backends take them.
        who = channel.unary_unary(ECHO)
        batch(who, count, deadline_s)
        for line in sys.stdin:
            line = line.strip()
            if line:
                batch(who, int(line), deadline_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

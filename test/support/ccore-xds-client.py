#!/usr/bin/env python3
"""A gRPC C-core xDS client for the interop test (test/xds-ccore-interop.test.ts).

Usage: ccore-xds-client.py TARGET COUNT [DEADLINE_S]

Opens one channel to TARGET (e.g. xds:///web.shop:8080; the xDS bootstrap comes from GRPC_XDS_BOOTSTRAP, as for
any C-core client), makes COUNT unary calls of /endpointd.test.Echo/Who, whose backends answer with their id, and
prints one JSON line per call: {"backend": ID} or {"error": STATUS_CODE_NAME, "detail": TEXT}, then {"done": N}
(the calls made: a batch ends at its first failed call).
Each further line on stdin, "COUNT" or "COUNT fail-fast", makes another batch on the same channel, so that a test
can watch one channel follow changes; EOF closes the channel and exits 0.

Calls wait for the channel to be ready (wait_for_ready) within DEADLINE_S (default 5 s), so that a batch shows
the assignment the client holds rather than its start-up; a fail-fast batch fails at once (UNAVAILABLE) when the
client holds no usable endpoint.
"""

import json
import sys

import grpc

ECHO = "/endpointd.test.Echo/Who"


def emit(record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def batch(who, count, deadline_s, wait_for_ready):
    """Makes up to COUNT calls; a batch ends at its first failed call, so that a broken channel costs one deadline."""
    made = 0
    while made < count:
        made += 1
        try:
            answer = who(b"", timeout=deadline_s, wait_for_ready=wait_for_ready)
            emit({"backend": answer.decode("utf-8")})
        except grpc.RpcError as error:
            emit({"error": error.code().name, "detail": error.details() or ""})
            break
    emit({"done": made})


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
        batch(who, count, deadline_s, True)
        for line in sys.stdin:
            words = line.split()
            if words:
                batch(who, int(words[0]), deadline_s, words[1:] != ["fail-fast"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

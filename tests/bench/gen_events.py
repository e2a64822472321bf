"""Write N ECS process start events (NDJSON) shaped like firedrill's
embedded telemetry, about 1 in 50 of them a hash-dumping command."""
import json
import random
import sys

n = int(sys.argv[1])
out = open(sys.argv[2], "w")
rng = random.Random(7)
names = ["defaults", "mkpassdb", "dscl", "plutil", "ls", "cat", "zsh",
         "launchd", "mdworker", "sh", "python3", "git", "curl"]
for i in range(n):
    name = rng.choice(names)
    if i % 50 == 0:
        name, args = "defaults", ["defaults", "read",
                                  "/var/db/dslocal/nodes/Default/users/alice.plist",
                                  "ShadowHashData"]
    else:
        args = [name] + ["--opt%d" % rng.randint(0, 9), "/Users/alice/file%d" % i]
    ev = {
        "@timestamp": "2026-12-03T13:15:00.%03dZ" % (i % 1000),
        "event": {"category": ["process"], "type": ["start"], "action": "exec",
                  "kind": "event", "dataset": "endpoint.events.process",
                  "module": "endpoint",
                  "ingested": "2026-12-03T13:15:01.000Z"},
        "host": {"name": "mbp-01", "hostname": "mbp-01", "id": "h-1",
                 "architecture": "arm64",
                 "os": {"type": "macos", "name": "macOS", "version": "14.5",
                        "family": "macos", "platform": "darwin"}},
        "process": {"pid": 1000 + i, "entity_id": "e%08d" % i, "name": name,
                    "executable": "/usr/bin/" + name, "args": args,
                    "args_count": len(args), "command_line": " ".join(args),
                    "working_directory": "/Users/alice",
                    "parent": {"pid": 999, "entity_id": "p1", "name": "zsh",
                               "executable": "/bin/zsh", "args_count": 1}},
        "user": {"id": "501", "name": "alice"},
        "agent": {"type": "firedrill", "version": "0.1.0"},
        "ecs": {"version": "8.11.0"},
    }
    out.write(json.dumps(ev, separators=(",", ":")) + "\n")

"""Write N macOS process exec events (NDJSON) shaped like Elastic Defend's
(the field set of endpoint-package's process data stream, trimmed:
agent, host with ip/mac lists, process with code signature, hash,
parent and Ext.ancestry, user, data_stream...), about 1.5 KB each.
About 1 in 50 is a hash-dumping command, in the shapes the rule's forms
catch (defaults, mkpassdb, dscl, plutil on a user plist).

    python3 gen_events.py N OUT
"""
import hashlib
import json
import random
import sys

n = int(sys.argv[1])
out = open(sys.argv[2], "w")
rng = random.Random(7)

BENIGN = [
    ("ls", "/bin/ls", ["-la"]),
    ("cat", "/bin/cat", ["/etc/hosts"]),
    ("git", "/usr/bin/git", ["status", "--porcelain"]),
    ("curl", "/usr/bin/curl", ["-fsSL", "https://example.com/x"]),
    ("python3", "/usr/bin/python3", ["-m", "pip", "list"]),
    ("mdworker_shared", "/System/Library/Frameworks/CoreServices.framework"
     "/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared",
     ["-s", "mdworker", "-c", "MDSImporterWorker", "-m", "com.apple.mdworker.shared"]),
    ("defaults", "/usr/bin/defaults", ["read", "com.apple.dock", "autohide"]),
    ("plutil", "/usr/bin/plutil", ["-p", "/Library/Preferences/com.apple.loginwindow.plist"]),
    ("dscl", "/usr/bin/dscl", [".", "-list", "/Users"]),
    ("zsh", "/bin/zsh", ["-l"]),
    ("sw_vers", "/usr/bin/sw_vers", ["-productVersion"]),
    ("xpcproxy", "/usr/libexec/xpcproxy", ["com.apple.Safari.History"]),
]
BAD = [
    ("defaults", "/usr/bin/defaults",
     ["read", "/var/db/dslocal/nodes/Default/users/alice.plist", "ShadowHashData"]),
    ("mkpassdb", "/usr/sbin/mkpassdb", ["-dump"]),
    ("dscl", "/usr/bin/dscl", [".", "-read", "/Users/alice", "ShadowHashData"]),
    ("plutil", "/usr/bin/plutil", ["-p", "/var/db/dslocal/nodes/Default/users/alice.plist"]),
]


SHA256 = {}


def sha256(exe):
    if exe not in SHA256:
        SHA256[exe] = hashlib.sha256(exe.encode()).hexdigest()
    return SHA256[exe]


def signature(exe):
    apple = exe.startswith(("/bin", "/usr", "/System", "/sbin"))
    return {"exists": True, "signing_id": "com.apple." + exe.rsplit("/", 1)[1],
            "status": "trusted", "team_id": "" if apple else "ABCDE12345",
            "trusted": True}


def event(i):
    if i % 50 == 0:
        name, exe, args = BAD[(i // 50) % len(BAD)]
    else:
        name, exe, args = rng.choice(BENIGN)
    argv = [name] + list(args)
    pid = 1000 + i % 60000
    ts = "2026-12-03T13:%02d:%02d.%03dZ" % (i // 60000 % 60, i // 1000 % 60,
                                             i % 1000)
    eid = "ZTQxNzE1NDctZWRjMy00NDE4LT%06d" % i
    return {
        "@timestamp": ts,
        "agent": {"id": "e4171547-edc3-4418-adb3-8e8fed2fca5f",
                  "type": "endpoint", "version": "8.14.1"},
        "data_stream": {"dataset": "endpoint.events.process",
                        "namespace": "default", "type": "logs"},
        "ecs": {"version": "8.10.0"},
        "event": {"action": "exec", "category": ["process"],
                  "dataset": "endpoint.events.process",
                  "id": "NQ%08dKv4" % i, "kind": "event",
                  "module": "endpoint", "sequence": 40000 + i,
                  "type": ["start"]},
        "group": {"id": 20, "name": "staff"},
        "host": {"architecture": "arm64", "hostname": "mbp-01",
                 "id": "3F2B8E1A-9C4D-5E6F-8A7B-1C2D3E4F5A6B",
                 "ip": ["127.0.0.1", "::1", "192.0.2.15"],
                 "mac": ["a4-83-e7-11-22-33"], "name": "mbp-01",
                 "os": {"Ext": {"variant": "Darwin"}, "family": "macos",
                        "full": "macOS 14.5", "kernel": "23.5.0",
                        "name": "macOS", "platform": "macos",
                        "type": "macos", "version": "14.5"}},
        "process": {
            "Ext": {"ancestry": [eid[:-3] + "p%02d" % k for k in range(1)]},
            "args": argv, "args_count": len(argv),
            "code_signature": signature(exe),
            "command_line": " ".join(argv),
            "entity_id": eid, "executable": exe,
            "hash": {"sha256": sha256(exe)},
            "interactive": True, "name": name,
            "parent": {"args": ["-zsh"], "args_count": 1,
                       "entity_id": eid[:-3] + "p00",
                       "executable": "/bin/zsh", "name": "zsh",
                       "pid": 999},
            "pid": pid, "working_directory": "/Users/alice",
        },
        "user": {"id": "501", "name": "alice"},
    }


for i in range(n):
    out.write(json.dumps(event(i), separators=(",", ":")) + "\n")

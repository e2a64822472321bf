"""Run the shared EQL vectors through `firedrill query --language eql`:
every single-event query over all the vector events at once, and every
sequence/sample stream as its own file.  Compares the printed line
numbers with the expected matches; prints "N disagreements", exits 1 on
any."""
import json
import os
import subprocess
import sys
import tempfile

firedrill, eql_dir, seq_dir = sys.argv[1], sys.argv[2], sys.argv[3]


def query(text, path):
    return subprocess.run([firedrill, "query", "--language", "eql",
                           "--query", text, "--events", path],
                          capture_output=True, text=True)


def write_events(docs):
    f = tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False)
    for d in docs:
        f.write(json.dumps(d) + "\n")
    f.close()
    return f.name


bad = checked = 0
events = [json.loads(l) for l in open(os.path.join(eql_dir, "events.jsonl"))]
line_of = {e["id"]: i + 1 for i, e in enumerate(events)}
queries = {}
for l in open(os.path.join(eql_dir, "cases.jsonl")):
    c = json.loads(l)
    q = queries.setdefault(c["query"], {"error": False, "match": set(),
                                        "asked": set()})
    if c.get("error"):
        q["error"] = True
        continue
    # Cases name only some events: compare on those alone.
    q["asked"].add(line_of[c["event"]])
    if c["match"]:
        q["match"].add(line_of[c["event"]])
path = write_events(e["doc"] for e in events)
try:
    for text, want in queries.items():
        r = query(text, path)
        checked += 1
        if want["error"]:
            ok = r.returncode == 2 and r.stderr.startswith("query:")
        else:
            got = {int(x) for x in r.stdout.split()} & want["asked"]
            ok = r.returncode == 0 and got == want["match"]
        if not ok:
            bad += 1
            print("disagree: %r -> rc %d out %r err %r" %
                  (text, r.returncode, r.stdout, r.stderr))
finally:
    os.unlink(path)

for l in open(os.path.join(seq_dir, "streams.jsonl")):
    c = json.loads(l)
    checked += 1
    if c.get("error"):
        path = write_events([])
        r = query(c["query"], path)
        os.unlink(path)
        ok = r.returncode == 2
    else:
        path = write_events(c["events"])
        r = query(c["query"], path)
        os.unlink(path)
        got = sorted(tuple(int(x) - 1 for x in line.split())
                     for line in r.stdout.splitlines() if line.strip())
        want = sorted(tuple(s) for s in c["sequences"])
        ok = r.returncode == 0 and got == want
    if not ok:
        bad += 1
        print("disagree: %s -> rc %d out %r err %r" %
              (c["id"], r.returncode, r.stdout, r.stderr))
print("%d queries and streams, %d disagreements" % (checked, bad))
sys.exit(1 if bad else 0)

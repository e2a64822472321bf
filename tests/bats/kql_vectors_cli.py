"""Run every query of the shared KQL vectors through `firedrill query`
once, over all the vector events, and compare the matching lines with the
expected matches.  Prints a count and "N disagreements"; exits 1 on any."""
import json
import os
import subprocess
import sys
import tempfile

firedrill, vectors = sys.argv[1], sys.argv[2]
events = [json.loads(l) for l in open(os.path.join(vectors, "events.jsonl"))]
line_of = {e["id"]: i + 1 for i, e in enumerate(events)}
queries = {}
for l in open(os.path.join(vectors, "cases.jsonl")):
    c = json.loads(l)
    q = queries.setdefault(c["query"], {"error": False, "match": set()})
    if c.get("error"):
        q["error"] = True
    elif c["match"]:
        q["match"].add(line_of[c["event"]])
bad = 0
with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
    for e in events:
        f.write(json.dumps(e["doc"]) + "\n")
    path = f.name
try:
    for text, want in queries.items():
        r = subprocess.run([firedrill, "query", "--language", "kql",
                            "--query", text, "--events", path],
                           capture_output=True, text=True)
        if want["error"]:
            ok = r.returncode == 2 and r.stderr.startswith("query:1:")
        else:
            got = {int(x) for x in r.stdout.split()}
            ok = r.returncode == 0 and got == want["match"]
        if not ok:
            bad += 1
            print("disagree: %r -> rc %d out %r err %r" %
                  (text, r.returncode, r.stdout, r.stderr))
finally:
    os.unlink(path)
print("%d queries, %d disagreements" % (len(queries), bad))
sys.exit(1 if bad else 0)

"""Run a command R times; print the best wall time in seconds and the
largest resident set (MiB) of any run."""
import resource
import subprocess
import sys
import time

reps = int(sys.argv[1])
cmd = sys.argv[2:]
best = None
for _ in range(reps):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False)
    dt = time.perf_counter() - t
    best = dt if best is None or dt < best else best
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
print("%.4f %.1f" % (best, rss))

"""trailscope: a terminal explorer for AWS CloudTrail logs."""

import os

# trailscope never calls BLAS, but numpy's OpenBLAS starts a thread per core when it
# loads, and those threads spin before they sleep: ~0.2 s of CPU per 1M-event load
# across the parser processes (docs/performance.md). Set here, before any of our
# modules imports numpy; parser processes import this package first too.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

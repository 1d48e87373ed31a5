"""The last module the forkserver of the suite's forked runs preloads (tests/support/forked_pytest.py): what it
imported is frozen out of the garbage collector's way (gc.freeze), as a run does with its own imports
(suite/heap.py).

Otherwise every forked run's full collections scan the forkserver's 170,000 objects again (pytest, boto3, botocore's
models: 0.07 s of CPU each), the first one at its collection, and Python makes several as a run imports the suite;
and a collection writes to every object it scans, so the run copies the forkserver's memory pages it shares.
"""
import gc

gc.collect()
gc.freeze()

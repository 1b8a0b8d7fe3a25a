"""Opens N associations (Verification) and holds them S seconds; prints how many opened."""
import sys
import time
from pynetdicom.sop_class import Verification
from common import make_ae, emit

host, port, calling, called, n, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
ae = make_ae(calling)
ae.add_requested_context(Verification)
held = []
for _ in range(n):
    a = ae.associate(host, port, ae_title=called)
    if a.is_established:
        held.append(a)
emit({"open": len(held)})
time.sleep(seconds)
for a in held:
    a.release()

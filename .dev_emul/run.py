import sys, time, os
sys.path[:0] = ["src", ".dev_emul"]
import numpy as np, numba
import onepass_k, perpath_k
d = np.load(".dev_emul/cols.npz")
N = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000_000
n0 = len(d["jo"]) - 1; reps = -(-N // n0)
def toff(off):
    c = np.tile(np.diff(off), reps)[:N]; o = np.zeros(N + 1, np.int64); np.cumsum(c, out=o[1:]); return o
jo, fo = toff(d["jo"]), toff(d["fo"]); nj, nf = int(jo[-1]), int(fo[-1])
t1 = lambda a, n: np.ascontiguousarray(np.tile(a, reps)[:n])
t2 = lambda a, n: np.ascontiguousarray(np.tile(a, (1, reps))[:, :n])
pt, eta, sc = t1(d["pt"], nj), t1(d["eta"], nj), t2(d["sc"], nj)
fpt, feta, fmsd, fsc = t1(d["fpt"], nf), t1(d["feta"], nf), t1(d["fmsd"], nf), t2(d["fsc"], nf)
nb = sum(a.nbytes for a in (jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc))
print("cpu", os.cpu_count(), "threads", numba.config.NUMBA_NUM_THREADS, "N", N, "B/event %.1f" % (nb / N))
ref = np.tile(d["ref"], (reps, 1))[:N]
def one(): 
    out = np.zeros((N, 8), np.bool_); onepass_k.kernel(jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out, 4096); return out
def per():
    out = np.zeros((N, 8), np.bool_)
    perpath_k._fused(d["ci"], d["cf"], d["thr"], d["cs"], d["order"], d["gs"], d["gi"], jo, pt, eta, sc, fo, fpt, feta, fmsd, fsc, out); return out
for name, f in (("onepass", one), ("perpath", per)):
    for th in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(th); out = f(); assert os.environ.get("NOCHECK") or np.array_equal(out, ref), name
        best = cpu = 1e9
        for _ in range(7):
            a, b = time.perf_counter(), time.thread_time(); f(); best = min(best, time.perf_counter() - a); cpu = min(cpu, time.thread_time() - b)
        print(f"{name} threads={th} wall {best:.3f}s  {N/best/1e6:.2f} M ev/s  per core {N/best/th/1e6:.2f}  cpu(1thr) {N/cpu/1e6:.2f} M/s", flush=True)

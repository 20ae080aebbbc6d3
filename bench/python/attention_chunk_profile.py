# CPU time of each op of one query block of the chunked spatial attention forward
# (native/src/attention.cc) at the paper's largest size: 320x320 (N = 102,400 keys), C = 128,
# Q/K 4 channels, 163 query rows (the 128 MiB budget), one thread; then the same block
# without logsumexp (max, in-place subtract/exp, row sums, lse = max + log(sum)).
#   /usr/bin/python3 bench/python/attention_chunk_profile.py
import time

import torch

torch.set_num_threads(1)
N, d, c, rows = 320 * 320, 4, 128, 163
q, k, v = torch.randn(1, rows, d), torch.randn(1, N, d), torch.randn(1, N, c)
kT = k.transpose(1, 2)


def cpu_time(f, reps=3):
    """Best of reps process-CPU seconds after one untimed call."""
    f()
    best = float('inf')
    for _ in range(reps):
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def current():
    s = torch.bmm(q, kT)
    lse = torch.logsumexp(s, -1, True)
    s.sub_(lse).exp_()
    return torch.bmm(s, v), lse


def without_logsumexp():
    s = torch.bmm(q, kT)
    m = s.amax(-1, keepdim=True)
    s.sub_(m).exp_()
    total = s.sum(-1, keepdim=True)
    return torch.bmm(s, v).div_(total), m + total.log()


scores = torch.bmm(q, kT)
lse = torch.logsumexp(scores, -1, True)
probs = scores.clone().sub_(lse).exp_()
copy = cpu_time(lambda: scores.clone())
ops = {
    'bmm(Q, K^T), d = 4': cpu_time(lambda: torch.bmm(q, kT)),
    'logsumexp': cpu_time(lambda: torch.logsumexp(scores, -1, True)),
    'sub_ + exp_': cpu_time(lambda: scores.clone().sub_(lse).exp_()) - copy,
    'bmm(P, V), c = 128': cpu_time(lambda: torch.bmm(probs, v)),
}
total = sum(ops.values())
for name, t in ops.items():
    print(f'{name:20s} {t * 1000:7.1f} ms CPU  {100 * t / total:4.0f}%  {t * 1e9 / (rows * N):5.2f} ns per score')
print(f'block total {total * 1000:.1f} ms CPU; x {N / rows:.0f} blocks = {total * N / rows:.0f} CPU-s for the 320x320 forward')
(o1, l1), (o2, l2) = current(), without_logsumexp()
print(f'without logsumexp: max |diff| output {(o1 - o2).abs().max().item():.1e}, lse {(l1 - l2).abs().max().item():.1e}')
tc, ta = cpu_time(current, 5), cpu_time(without_logsumexp, 5)
print(f'block as the kernel does it {tc * 1000:.1f} ms CPU, without logsumexp {ta * 1000:.1f} ms CPU ({ta / tc:.2f}x)')

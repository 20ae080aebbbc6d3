"""Per-op overhead of tiny PyTorch ops, the Python half of bench/engine/op-overhead.ts.

Prints one JSON line: {"add": [us per op, one per repeat], "relu": [...]}. Same shapes,
thread count and loop structure as the TypeScript side, so the ratio is a like-for-like
measure of the call path (argument parsing, dispatch, result wrapping), not of kernels.
"""
import json
import sys
import time

import torch


def per_op_us(fn, iters, repeats):
    for _ in range(iters // 10):  # warm-up: allocator caches, dispatcher caches
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(iters):
            fn()
        out.append((time.perf_counter_ns() - t0) / iters / 1e3)
    return out


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    iters = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    a, b = torch.randn(4), torch.randn(4)
    x = torch.randn(64)
    result = {
        "add": per_op_us(lambda: torch.add(a, b), iters, repeats),
        "relu": per_op_us(lambda: torch.relu(x), iters, repeats),
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

"""One DR-GAN training step (src/train/gan-trainer.ts ganStep: G update, then D update on the
same detached fakes) in plain PyTorch: the Python half of bench/gan-python.ts.

The networks and losses are scripts/reference/drgan_reference.py's (the module tree carries the
TypeScript names); weights and inputs are the ones the TypeScript side wrote, loaded by name
with strict=True, so both sides start from identical numbers.

  /usr/bin/python3 bench/python/drgan_step.py DIR THREADS STAGE SEED
DIR holds config.json ({"config": the resolved DrganConfig, "defaults": DEFAULT_CONFIG}), G.pth, D.pth and inputs.pth (c, x, y, z).
Protocol (stdin/stdout, one JSON line per answer):
  start: loads everything, runs one step with torch.manual_seed(SEED) before it (so the AGM
         noise is the TS side's) and prints {"losses": {"G": {...}, "D": {...}}, "ms": ...}.
  "time K": runs K more steps, prints {"ms": [...]}.   "quit": exits.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'reference'))
import drgan_reference as ref  # noqa: E402


def main():
    directory, threads, stage, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    with open(os.path.join(directory, 'config.json')) as f:
        given = json.load(f)
    cfg = given['config']
    ref.check_known(cfg, given['defaults'], os.path.join(directory, 'config.json'))
    G, D = ref.Generator(cfg, stage), ref.MultiscaleDiscriminator(cfg)
    ref.load_ts_state_dict(G, os.path.join(directory, 'G.pth'))
    ref.load_ts_state_dict(D, os.path.join(directory, 'D.pth'))
    inputs = torch.load(os.path.join(directory, 'inputs.pth'))
    c, x, y = inputs['c'], inputs['x'], inputs['y']
    z = None if cfg['ablation']['noAGM'] else inputs['z']
    if not cfg['ablation']['noPerceptual']:
        raise SystemExit('drgan_step.py: the benchmark runs without the perceptual loss (ablation.noPerceptual)')
    G.train()
    D.train()
    opt_g, opt_d = ref.adam(list(G.parameters()), cfg), ref.adam(list(D.parameters()), cfg)

    def step():
        t0 = time.perf_counter()
        terms = ref.gan_step(G, D, opt_g, opt_d, cfg, c, x, y, z)
        return terms, (time.perf_counter() - t0) * 1e3

    torch.manual_seed(seed)
    terms, ms = step()
    print(json.dumps({'losses': terms, 'ms': ms, 'threads': torch.get_num_threads(), 'torch': torch.__version__}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == 'quit':
            break
        if cmd[0] == 'time':
            print(json.dumps({'ms': [step()[1] for _ in range(int(cmd[1]))]}), flush=True)


if __name__ == '__main__':
    main()

"""One DR-GAN training step (src/train/gan-trainer.ts ganStep: G update, then D update on the
same detached fakes) in plain PyTorch: the Python half of bench/gan-python.ts.

The networks and losses are scripts/reference/drgan_reference.py's (the module tree carries the
TypeScript names); weights and inputs are the ones the TypeScript side wrote, loaded by name
with strict=True, so both sides start from identical numbers.

  /usr/bin/python3 bench/python/drgan_step.py DIR THREADS STAGE SEED [DEVICE]
DEVICE is cpu (default) or cuda[:N]: G, D and the inputs move there after loading, and each
timed step is bracketed by torch.cuda.synchronize() (queued GPU work would otherwise escape the
clock). DIR holds config.json ({"config": the resolved DrganConfig, "defaults": DEFAULT_CONFIG}), G.pth, D.pth and inputs.pth (c, x, y, z).
Protocol (stdin/stdout, one JSON line per answer):
  start: loads everything, runs one step with torch.manual_seed(SEED) before it (so the AGM
         noise is the TS side's: both draw it on the CPU) and prints {"losses": {"G": {...},
         "D": {...}}, "ms": ..., "cuda": {"name", "tf32", "tf32Before"} on a GPU}.
  "time K": runs K more steps, prints {"ms": [...]}.   "quit": exits.
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'reference'))
import drgan_reference as ref  # noqa: E402


def tf32_settings():
    """Whether cuDNN convolutions and cuBLAS matmuls may use TF32, as 'tf32' or 'ieee'."""
    conv = getattr(torch.backends.cudnn, 'conv', None)
    if conv is not None and hasattr(conv, 'fp32_precision'):  # PyTorch >= 2.9's API
        return {'conv': torch.backends.cudnn.conv.fp32_precision, 'matmul': torch.backends.cuda.matmul.fp32_precision}
    return {'conv': 'tf32' if torch.backends.cudnn.allow_tf32 else 'ieee',
            'matmul': 'tf32' if torch.backends.cuda.matmul.allow_tf32 else 'ieee'}


def pin_tf32_to_libtorch_defaults():
    """The TypeScript side cannot change libtorch's TF32 switches, so it runs with the C++
    defaults of at::globalContext(): allowTF32CuDNN() true (cuDNN convolutions in TF32, since
    PyTorch 1.7) and allowTF32CuBLAS() false (float32 matmuls in full precision, since 1.12).
    Assumption: the TS addon's libtorch keeps those defaults (nothing in native/ sets them, and
    TORCH_ALLOW_TF32_CUBLAS_OVERRIDE is unset). Python's own defaults are the same Context's, but
    a site customisation or an older habit (allow_tf32 = False) could change them, so they are
    set here explicitly, with the API of this PyTorch (2.9 deprecated allow_tf32 and refuses a mix
    of the two APIs). Returns the settings found before, for the report."""
    before = tf32_settings()
    conv = getattr(torch.backends.cudnn, 'conv', None)
    if conv is not None and hasattr(conv, 'fp32_precision'):
        torch.backends.cudnn.conv.fp32_precision = 'tf32'
        torch.backends.cuda.matmul.fp32_precision = 'ieee'
    else:
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = False
    return before


def main():
    directory, threads, stage, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    device = torch.device(sys.argv[5] if len(sys.argv) > 5 else 'cpu')
    if device.type not in ('cpu', 'cuda'):
        raise SystemExit(f'drgan_step.py: DEVICE must be cpu or cuda[:N], got {sys.argv[5]!r}')
    cuda = device.type == 'cuda'
    if cuda and not torch.cuda.is_available():
        raise SystemExit(f'drgan_step.py: DEVICE {device} but this PyTorch ({torch.__version__}) sees no CUDA device')
    torch.set_num_threads(threads)
    with open(os.path.join(directory, 'config.json')) as f:
        given = json.load(f)
    cfg = given['config']
    ref.check_known(cfg, given['defaults'], os.path.join(directory, 'config.json'))
    G, D = ref.Generator(cfg, stage), ref.MultiscaleDiscriminator(cfg)
    ref.load_ts_state_dict(G, os.path.join(directory, 'G.pth'))
    ref.load_ts_state_dict(D, os.path.join(directory, 'D.pth'))
    G.to(device)
    D.to(device)
    # Plain tensors only: weights_only (PyTorch 2.6's default, 1.13's option) refuses anything else.
    inputs = {k: v.to(device) for k, v in torch.load(os.path.join(directory, 'inputs.pth'), map_location='cpu', weights_only=True).items()}
    c, x, y = inputs['c'], inputs['x'], inputs['y']
    z = None if cfg['ablation']['noAGM'] else inputs['z']
    if not cfg['ablation']['noPerceptual']:
        raise SystemExit('drgan_step.py: the benchmark runs without the perceptual loss (ablation.noPerceptual)')
    G.train()
    D.train()
    # Created after the move, as the TS side does (Adam's state lives with the parameters).
    opt_g, opt_d = ref.adam(list(G.parameters()), cfg), ref.adam(list(D.parameters()), cfg)
    extra = {}
    if cuda:
        before = pin_tf32_to_libtorch_defaults()
        extra['cuda'] = {'name': torch.cuda.get_device_name(device), 'tf32': tf32_settings(), 'tf32Before': before}
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)

    def step():
        sync()
        t0 = time.perf_counter()
        terms = ref.gan_step(G, D, opt_g, opt_d, cfg, c, x, y, z)
        sync()
        return terms, (time.perf_counter() - t0) * 1e3

    torch.manual_seed(seed)
    terms, ms = step()
    print(json.dumps({'losses': terms, 'ms': ms, 'threads': torch.get_num_threads(), 'torch': torch.__version__, **extra}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == 'quit':
            break
        if cmd[0] == 'time':
            print(json.dumps({'ms': [step()[1] for _ in range(int(cmd[1]))]}), flush=True)


if __name__ == '__main__':
    main()

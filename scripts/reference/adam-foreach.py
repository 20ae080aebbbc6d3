"""Expected values for Adam/AdamW's multi-tensor path (run with /usr/bin/python3, PyTorch 1.13).

Writes test/fixtures/optim/adam-foreach.json: parameters after each of three steps of
torch.optim.Adam / AdamW with foreach=True (PyTorch's _multi_tensor_adam), for weight decay,
amsgrad and maximize. Parameter 1 has no gradient at step 2, so its step count lags and the
multi-tensor path must apply two different bias corrections in one step. Options are written
under the TypeScript names. The script also checks that foreach=False gives the same bits
on CPU, which is what lets the TypeScript foreach path match the per-parameter one.
"""
import json
import os

import torch

torch.manual_seed(20240613)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'optim', 'adam-foreach.json')
SHAPES = [[4, 3, 3, 3], [4], [6, 5], [1]]
STEPS = 3

params0 = [torch.randn(s) for s in SHAPES]
grads = [[None if (step == 1 and i == 1) else torch.randn(s) * (1 + step) * (-1) ** step for i, s in enumerate(SHAPES)]
         for step in range(STEPS)]

CASES = [
    ('adam', {'lr': 0.01}),
    ('adam', {'lr': 0.01, 'weightDecay': 0.1}),
    ('adam', {'lr': 0.02, 'betas': [0.5, 0.99], 'eps': 1e-6, 'amsgrad': True}),
    ('adam', {'lr': 0.01, 'weightDecay': 0.05, 'maximize': True}),
    ('adam', {'lr': 0.01, 'weightDecay': 0.05, 'amsgrad': True, 'maximize': True}),
    ('adamw', {'lr': 0.01, 'weightDecay': 0.1}),
    ('adamw', {'lr': 0.01, 'weightDecay': 0.1, 'amsgrad': True, 'maximize': True}),
]


def snake(k):
    return ''.join('_' + c.lower() if c.isupper() else c for c in k)


def t_json(t):
    return {'shape': list(t.shape), 'data': t.reshape(-1).tolist()}


def run(name, options, foreach):
    cls = {'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW}[name]
    params = [p.clone().requires_grad_(True) for p in params0]
    kw = {snake(k): (tuple(v) if k == 'betas' else v) for k, v in options.items()}
    opt = cls(params, foreach=foreach, **kw)
    history = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = None if g is None else g.clone()
        opt.step()
        history.append([p.detach().reshape(-1).tolist() for p in params])
    return history


cases = []
for name, options in CASES:
    multi = run(name, options, True)
    assert multi == run(name, options, False), f'{name} {options}: foreach differs from the loop on CPU'
    cases.append({'name': name, 'options': options, 'history': multi})

fixture = {
    'params0': [t_json(p) for p in params0],
    'grads': [[None if g is None else t_json(g) for g in step] for step in grads],
    'cases': cases,
}
with open(OUT, 'w') as f:
    json.dump(fixture, f)
print(f'wrote {OUT}: {len(cases)} cases, {os.path.getsize(OUT)} bytes')

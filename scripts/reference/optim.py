"""Expected values for src/torch/optim (run with /usr/bin/python3, Debian's PyTorch 1.13).

Writes test/fixtures/optim/optim.json: parameter trajectories of SGD / Adam / AdamW over
five steps with fixed gradients for each option combination, a state dict in PyTorch's
layout, learning-rate sequences of the schedulers, and clip_grad_norm_ results.
Options are written under the TypeScript names (weightDecay...) and mapped here.
"""
import json
import math
import os

import torch

torch.manual_seed(1234)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'optim', 'optim.json')
SHAPES = [[3, 4], [5], [2, 2, 2]]
STEPS = 5


def snake(k):
    return ''.join('_' + c.lower() if c.isupper() else c for c in k)


def t_json(t):
    return {'shape': list(t.shape), 'data': t.reshape(-1).tolist()}


params0 = [torch.randn(s) for s in SHAPES]
# Gradients grow and change sign over the steps (so amsgrad's running max matters);
# parameter 2 has no gradient at step 2 (an optimiser must skip it, its step count lagging).
grads = [[None if (step == 2 and i == 2) else (torch.randn(s) * (1 + step) * (-1) ** step) for i, s in enumerate(SHAPES)]
         for step in range(STEPS)]

CASES = [
    ('sgd', {'lr': 0.1}),
    ('sgd', {'lr': 0.1, 'momentum': 0.9}),
    ('sgd', {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.3}),
    ('sgd', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weightDecay': 0.01}),
    ('sgd', {'lr': 0.1, 'momentum': 0.5, 'weightDecay': 0.1, 'maximize': True}),
    ('adam', {'lr': 0.01}),
    ('adam', {'lr': 0.02, 'betas': [0.5, 0.999], 'eps': 1e-6}),
    ('adam', {'lr': 0.01, 'weightDecay': 0.1}),
    ('adam', {'lr': 0.01, 'amsgrad': True}),
    ('adam', {'lr': 0.01, 'amsgrad': True, 'weightDecay': 0.05, 'maximize': True}),
    ('adamw', {'lr': 0.01}),
    ('adamw', {'lr': 0.01, 'weightDecay': 0.1, 'amsgrad': True}),
    ('adamw', {'lr': 0.001, 'betas': [0.0, 0.99], 'weightDecay': 0.5}),
]
GROUP_CASE = ('adam', {'lr': 0.01}, [{'params': [0, 1]}, {'params': [2], 'lr': 0.05, 'weightDecay': 0.1, 'amsgrad': True}])


def make(name, options, params, groups=None):
    cls = {'sgd': torch.optim.SGD, 'adam': torch.optim.Adam, 'adamw': torch.optim.AdamW}[name]
    kw = {snake(k): (tuple(v) if k == 'betas' else v) for k, v in options.items()}
    if groups is None:
        return cls(params, **kw)
    pg = [dict({snake(k): v for k, v in g.items() if k != 'params'}, params=[params[i] for i in g['params']]) for g in groups]
    return cls(pg, **kw)


def run(name, options, groups=None):
    params = [p.clone().requires_grad_(True) for p in params0]
    opt = make(name, options, params, groups)
    history = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = None if g is None else g.clone()
        opt.step()
        history.append([p.detach().reshape(-1).tolist() for p in params])
    return opt, history


def state_json(opt):
    sd = opt.state_dict()
    state = {str(k): {sk: (t_json(sv) if torch.is_tensor(sv) else sv) for sk, sv in v.items()} for k, v in sd['state'].items()}
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()} for g in sd['param_groups']]
    return {'state': state, 'param_groups': groups}


fixture = {
    'params0': [t_json(p) for p in params0],
    'grads': [[None if g is None else t_json(g) for g in step] for step in grads],
    'optimizers': [],
}
for name, options in CASES:
    opt, history = run(name, options)
    entry = {'name': name, 'options': options, 'history': history}
    if options.get('amsgrad') or options.get('momentum'):
        entry['stateDict'] = state_json(opt)
    fixture['optimizers'].append(entry)
opt, history = run(GROUP_CASE[0], GROUP_CASE[1], GROUP_CASE[2])
fixture['groupCase'] = {'name': GROUP_CASE[0], 'options': GROUP_CASE[1], 'groups': GROUP_CASE[2], 'history': history, 'stateDict': state_json(opt)}

# Learning-rate schedules: two groups, the rates after construction and after each step.
N_CONST, N_DECAY = 5, 10
SCHEDULES = [
    ('StepLR', {'stepSize': 3, 'gamma': 0.5}, 20, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ('LinearLR', {'startFactor': 0.25, 'endFactor': 1.0, 'totalIters': 8}, 20,
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8)),
    ('LinearLR', {'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 10}, 15,
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10)),
    ('CosineAnnealingLR', {'tMax': 7, 'etaMin': 0.001}, 30, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    ('LinearDecayLR', {'constantEpochs': N_CONST, 'decayEpochs': N_DECAY}, 20,
     lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: max(0, 1 - max(0, e - N_CONST) / N_DECAY))),
]
fixture['schedulers'] = []
for name, options, steps, build in SCHEDULES:
    p = torch.zeros(2, requires_grad=True)
    q = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([{'params': [p]}, {'params': [q], 'lr': 0.02}], lr=0.1)
    sched = build(opt)
    lrs = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
    fixture['schedulers'].append({'name': name, 'options': options, 'lrs': lrs})

# clip_grad_norm_
clip_grads = [torch.randn(s) * 0.7 for s in SHAPES]
fixture['clip'] = {'grads': [t_json(g) for g in clip_grads], 'cases': []}
for max_norm, norm_type in [(1.0, 2.0), (0.5, math.inf), (2.0, 1.0), (100.0, 2.0), (0.3, 3.0)]:
    params = [torch.zeros(s, requires_grad=True) for s in SHAPES]
    for p, g in zip(params, clip_grads):
        p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    fixture['clip']['cases'].append({'maxNorm': max_norm, 'normType': 'inf' if norm_type == math.inf else norm_type,
                                     'total': total.item(), 'grads': [p.grad.reshape(-1).tolist() for p in params]})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, 'w') as f:
    json.dump(fixture, f)
print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes)')

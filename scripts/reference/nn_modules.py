#!/usr/bin/python3
"""Expected values for the nn module tests (test/torch/nn/**), from Debian's Python PyTorch
on the same libtorch 1.13.1. Run: /usr/bin/python3 scripts/reference/nn_modules.py
Writes test/fixtures/nn/{modules,init,batchnorm,statedict}.json.

modules.json: per case, the module's state dict (weights perturbed from their defaults so
affine norms are not the identity), an input, the output, an upstream gradient, and the
gradients of the input and of every parameter. The TypeScript test builds the same module
(by case name), loads the state dict and compares.
init.json: state dicts of freshly built layers after torch.manual_seed, which the
TypeScript constructors must reproduce exactly (same generator, same draws).
batchnorm.json: running statistics over two training steps, then an eval-mode output.
statedict.json: the key list and output of a small nested model."""
import base64
import json
import os

import torch
import torch.nn as nn

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'nn')


def enc(t):
    """{shape, dtype, b64 | data}: floats as base64 little-endian bytes (exact), ints as a list."""
    t = t.detach().contiguous()
    dtype = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64'}[t.dtype]
    if t.is_floating_point():
        return {'shape': list(t.shape), 'dtype': dtype, 'b64': base64.b64encode(t.numpy().tobytes()).decode()}
    return {'shape': list(t.shape), 'dtype': dtype, 'data': t.reshape(-1).tolist()}


def enc_sd(m):
    return {k: enc(v) for k, v in m.state_dict().items()}


def write(name, obj):
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    print(f'{path}: {os.path.getsize(path)} bytes')


gen = torch.Generator().manual_seed(20240611)


def randn(*shape):
    return torch.randn(*shape, generator=gen)


# name -> (module factory, input shape, train mode). The TypeScript test has a factory
# under each name building the same module.
CASES = {
    'conv2d_stride_pad': (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 6, 6), False),
    'conv2d_dilation_groups': (lambda: nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2), (1, 4, 5, 5), False),
    'conv2d_reflect': (lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode='reflect'), (2, 2, 5, 4), False),
    'conv2d_replicate_nobias': (lambda: nn.Conv2d(2, 3, (3, 1), padding=(1, 2), padding_mode='replicate', bias=False), (1, 2, 4, 4), False),
    'conv_transpose2d_output_padding': (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 3, 3), False),
    'conv_transpose2d_groups_nobias': (lambda: nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, groups=2, bias=False), (1, 4, 3, 3), False),
    'linear': (lambda: nn.Linear(5, 3), (2, 4, 5), False),
    'batchnorm2d_train': (lambda: nn.BatchNorm2d(3), (4, 3, 3, 3), True),
    'batchnorm2d_eval': (lambda: nn.BatchNorm2d(3), (2, 3, 3, 3), False),
    'instancenorm2d_default': (lambda: nn.InstanceNorm2d(3), (2, 3, 4, 4), True),
    'instancenorm2d_affine': (lambda: nn.InstanceNorm2d(3, affine=True), (2, 3, 4, 4), True),
    'instancenorm2d_tracked_eval': (lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), (2, 3, 4, 4), False),
    'groupnorm': (lambda: nn.GroupNorm(2, 4), (2, 4, 3, 3), True),
    'layernorm': (lambda: nn.LayerNorm([4, 4]), (2, 3, 4, 4), True),
    'relu': (lambda: nn.ReLU(), (2, 3, 4), True),
    'leaky_relu': (lambda: nn.LeakyReLU(0.2), (2, 3, 4), True),
    'gelu': (lambda: nn.GELU(), (2, 3, 4), True),
    'gelu_tanh': (lambda: nn.GELU(approximate='tanh'), (2, 3, 4), True),
    'tanh': (lambda: nn.Tanh(), (2, 3, 4), True),
    'sigmoid': (lambda: nn.Sigmoid(), (2, 3, 4), True),
    'identity': (lambda: nn.Identity(), (2, 3), True),
    'flatten': (lambda: nn.Flatten(), (2, 3, 2, 2), True),
    'dropout_eval': (lambda: nn.Dropout(0.5), (2, 8), False),
    'upsample_nearest': (lambda: nn.Upsample(scale_factor=2, mode='nearest'), (1, 2, 3, 3), True),
    'upsample_bilinear_size': (lambda: nn.Upsample(size=(5, 7), mode='bilinear'), (1, 2, 3, 3), True),
    'upsample_bilinear_align': (lambda: nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True), (1, 2, 3, 3), True),
    'avgpool2d': (lambda: nn.AvgPool2d(2), (1, 2, 4, 4), True),
    'avgpool2d_pad_exclude': (lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (1, 2, 5, 5), True),
    'maxpool2d': (lambda: nn.MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5), True),
    'adaptive_avgpool2d': (lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7), True),
    'reflection_pad2d': (lambda: nn.ReflectionPad2d(1), (1, 2, 3, 3), True),
    'reflection_pad2d_sides': (lambda: nn.ReflectionPad2d((1, 2, 0, 1)), (1, 2, 3, 4), True),
    'sequential': (lambda: nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(2, 4, 3), nn.InstanceNorm2d(4, affine=True), nn.LeakyReLU(0.2),
                                         nn.Conv2d(4, 2, 4, stride=2, padding=1), nn.Tanh()), (2, 2, 6, 6), True),
}


def perturb(m):
    """Random affine parameters and running statistics, so that loading them matters."""
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith('running_mean'):
                t.copy_(randn(*t.shape))
            elif name.endswith('num_batches_tracked'):
                t.fill_(3)
            elif not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):  # keep their default init
                t.copy_(randn(*t.shape) * 0.5 + (1 if name.endswith('weight') else 0))


def module_cases():
    out = {}
    for name, (make, shape, train) in CASES.items():
        torch.manual_seed(0)
        m = make()
        for sub in m.modules():
            if not list(sub.children()):
                perturb(sub)
        m.train(train)
        state = enc_sd(m)
        x = randn(*shape).requires_grad_(True)
        y = m(x)
        g = randn(*y.shape)
        (y * g).sum().backward()
        out[name] = {
            'train': train, 'state': state, 'input': enc(x), 'output': enc(y), 'gradOutput': enc(g),
            'inputGrad': enc(x.grad), 'paramGrads': {k: enc(p.grad) for k, p in m.named_parameters()},
            # buffers after the forward (batch norm in training updates them)
            'stateAfter': {k: enc(v) for k, v in m.state_dict().items() if 'running' in k or 'num_batches' in k},
        }
    return out


def init_cases():
    """Default initialisation after manual_seed(seed): the TypeScript constructors draw the same."""
    makers = {
        'conv2d': lambda: nn.Conv2d(3, 8, 3),
        'conv2d_groups': lambda: nn.Conv2d(4, 6, (3, 2), groups=2),
        'conv_transpose2d': lambda: nn.ConvTranspose2d(6, 4, 4),
        'linear': lambda: nn.Linear(7, 5),
    }
    out = {}
    for name, make in makers.items():
        torch.manual_seed(1234)
        out[name] = enc_sd(make())
    # init helpers, each on a fresh tensor after manual_seed(7)
    helpers = {}
    for name, fn in {
        'kaiming_uniform_fan_out_relu': lambda t: nn.init.kaiming_uniform_(t, mode='fan_out', nonlinearity='relu'),
        'kaiming_normal_leaky': lambda t: nn.init.kaiming_normal_(t, a=0.2),
        'xavier_uniform_gain': lambda t: nn.init.xavier_uniform_(t, gain=nn.init.calculate_gain('tanh')),
        'xavier_normal': lambda t: nn.init.xavier_normal_(t),
        'normal_002': lambda t: nn.init.normal_(t, 0.0, 0.02),
        'uniform_ab': lambda t: nn.init.uniform_(t, -0.3, 0.7),
    }.items():
        t = torch.empty(6, 4, 3, 3)
        torch.manual_seed(7)
        fn(t)
        helpers[name] = enc(t)
    out['helpers'] = helpers
    out['gains'] = {n: nn.init.calculate_gain(n) for n in ['linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu']}
    out['gains']['leaky_relu_0.2'] = nn.init.calculate_gain('leaky_relu', 0.2)
    return out


def batchnorm_cases():
    out = {}
    for name, kw in {'momentum_default': {}, 'momentum_none': {'momentum': None}, 'momentum_0.3_eps': {'momentum': 0.3, 'eps': 1e-3}}.items():
        torch.manual_seed(0)
        m = nn.BatchNorm2d(3, **kw)
        steps = []
        m.train()
        for _ in range(2):
            x = randn(4, 3, 2, 2) * 2 + 1
            y = m(x)
            steps.append({'input': enc(x), 'output': enc(y), 'state': enc_sd(m)})
        m.eval()
        x = randn(2, 3, 2, 2)
        out[name] = {'steps': steps, 'evalInput': enc(x), 'evalOutput': enc(m(x))}
    return out


class Block(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1, padding_mode='reflect')
        self.norm = nn.InstanceNorm2d(ch, affine=True, track_running_stats=True)

    def forward(self, x):
        return x + torch.relu(self.norm(self.conv(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU())
        self.blocks = nn.ModuleList([Block(2), Block(2)])
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
        self.register_buffer('scale', torch.full((1,), 2.0))
        self.register_buffer('scratch', torch.zeros(2), persistent=False)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(h) * self.scale


def statedict_case():
    torch.manual_seed(0)
    m = Net()
    for sub in m.modules():
        if not list(sub.children()):
            perturb(sub)
    m.eval()
    x = randn(2, 1, 4, 4)
    return {
        'keys': list(m.state_dict().keys()),
        'parameterNames': [k for k, _ in m.named_parameters()],
        'bufferNames': [k for k, _ in m.named_buffers()],
        'moduleNames': [k for k, _ in m.named_modules()],
        'state': enc_sd(m), 'input': enc(x), 'evalOutput': enc(m(x)),
    }


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    write('modules', module_cases())
    write('init', init_cases())
    write('batchnorm', batchnorm_cases())
    write('statedict', statedict_case())

"""DR-GAN in plain PyTorch, exactly as src/gan implements it (docs/method.md sections 2-8),
and the expected values test/gan/python-reference.test.ts compares the TypeScript side to.

Run with /usr/bin/python3 (Debian's PyTorch 1.13):
  /usr/bin/python3 scripts/reference/drgan_reference.py    # writes test/fixtures/gan/*.safetensors
bench/python/drgan_step.py imports this module to time the same train step.

Module attributes carry the TypeScript module tree's names (`global.synthesis.0.sca.spatial.
query.weight`, ...), so a state dict written by the TS side (savePth / safetensors) loads here
by name with strict=True, and the other way round.

Fixture weights are not stored: both sides fill every parameter and buffer from its NAME with
the integer hash below (values exact in float32), because the tiny generator alone would be
490 KB. Each fixture stores the state dict's keys and shapes, the inputs (condition map and
image as uint8, grades, grading vectors, AGM noise), generator outputs (train and eval mode),
discriminator outputs, the loss terms of one ganStep, gradient projections, the sign of each
parameter's Adam update, and BatchNorm running statistics after the step. The same step is also
run in float64: fixtures record how far float32 lands from it, which is what the test's
tolerances are set against (see TOLERANCES).
"""
import copy
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ADAIN_EPS = 1e-5
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'gan'))
CONDITION_CHANNELS = 8


# ---------------------------------------------------------------- configuration

# makeConfig('tiny') with every field written out; cases below change a few.
TINY = {
    'resolution': 32, 'numGrades': 5,
    'generator': {'ngf': 4, 'norm': 'batch', 'residualBlocks': 2, 'gradingVectorDim': 16, 'mappingWidth': 16, 'mappingLayers': 4,
                  'noiseChannelDivisor': 4, 'conditionResize': 'area', 'localResidualBlocks': 0},
    'attention': {'reductions': [2, 2, 2], 'channel': 'plain', 'keyValuePool': 1, 'memoryBudgetBytes': 128 * 1024 * 1024},
    'discriminator': {'ndf': 4, 'numD': 3, 'numLayers': 4, 'classPooling': 'normalized'},
    'loss': {'adversarial': 'bce', 'featureMatching': 'l1', 'lambdaFeatureMatching': 10, 'lambdaPerceptual': 10,
             'lambdaClassification': 1, 'focalGamma': 2, 'perceptualWeights': [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1]},
    'ablation': {'noLesionMasks': False, 'noAGM': False, 'noSCA': False, 'noPerceptual': True, 'noClsLoss': False},
    'train': {'batchSize': 2, 'lr': 1e-4, 'betas': [0.5, 0.999], 'stage1Epochs': 10, 'stage2Epochs': 10, 'freezeGlobalEpochs': 0},
}

# Fields this file implements. The TS side may grow options this reference does not know; a
# config is refused unless each such field holds its default (DEFAULT_CONFIG's: off).
KNOWN = {k: set(v) if isinstance(v, dict) else None for k, v in TINY.items()}
# Implemented, but left out of TINY so the fixtures written before it existed stay byte-identical
# (their configs lack the field; both sides read it as the default).
KNOWN['discriminator'].add('classInput')


def check_known(cfg, defaults, where):
    for k, v in cfg.items():
        if k not in KNOWN or KNOWN[k] is None:
            if k not in KNOWN and v != defaults.get(k):
                raise ValueError(f'{where}: config field "{k}" = {v!r} is not implemented by the Python reference')
            continue
        for kk, vv in v.items():
            if kk not in KNOWN[k] and vv != defaults.get(k, {}).get(kk):
                raise ValueError(f'{where}: config field "{k}.{kk}" = {vv!r} is not the default, and the Python reference does not implement it')


def merged(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) else v
    return out


def condition_channels(cfg):
    return 2 if cfg['ablation']['noLesionMasks'] else CONDITION_CHANNELS


# ---------------------------------------------------------------- generator (method.md 2-5)

def make_norm(kind, c):
    if kind == 'batch':
        return nn.BatchNorm2d(c)
    if kind == 'instance':
        return nn.InstanceNorm2d(c)
    raise ValueError(f'norm must be batch|instance, got {kind!r}')


def downsample(x):
    return F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)


def select_condition_channels(c, cfg):
    want = condition_channels(cfg)
    if c.shape[1] == want:
        return c
    if c.shape[1] == CONDITION_CHANNELS:
        return c[:, :want]
    raise ValueError(f'condition map has {c.shape[1]} channels; this configuration uses {want}')


class ResidualBlock(nn.Module):
    def __init__(self, c, norm):
        super().__init__()
        self.block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), make_norm(norm, c), nn.ReLU(),
                                   nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), make_norm(norm, c))

    def forward(self, x):
        return x + self.block(x)


def upsampling(cin, cout, norm):
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1), make_norm(norm, cout), nn.ReLU())


class MappingNetwork(nn.Module):
    def __init__(self, z_dim, width, layers):
        super().__init__()
        mods = []
        for i in range(layers):
            mods += [nn.Linear(z_dim if i == 0 else width, width), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*mods)

    def forward(self, z):
        return self.net(z)


class AdaIN(nn.Module):
    def __init__(self, c, w_dim):
        super().__init__()
        self.c = c
        self.affine = nn.Linear(w_dim, 2 * c)

    def forward(self, x, w):
        normalized = F.instance_norm(x, eps=ADAIN_EPS)  # biased variance per sample and channel
        gamma_offset, beta = self.affine(w).chunk(2, 1)
        gamma = (gamma_offset + 1).reshape(x.shape[0], self.c, 1, 1)  # gamma = 1 + affine(w)
        return normalized * gamma + beta.reshape(x.shape[0], self.c, 1, 1)


class AGMBlock(nn.Module):
    def __init__(self, c, w_dim, divisor):
        super().__init__()
        self.noise_channels = c // divisor
        self.fuse = nn.Conv2d(c + self.noise_channels, c, 1)
        self.adain = AdaIN(c, w_dim)

    def forward(self, x, w, noise):
        return F.relu(self.adain(self.fuse(torch.cat([x, noise], 1)), w))


class SpatialAttention(nn.Module):
    def __init__(self, c, d, pool):
        super().__init__()
        self.query = nn.Conv2d(c, c // d, 1)
        self.key = nn.Conv2d(c, c // d, 1)
        self.value = nn.Conv2d(c, c, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.pool = pool

    def forward(self, x):
        n, c, h, w = x.shape
        kv = F.avg_pool2d(x, self.pool) if self.pool > 1 else x
        q = self.query(x).flatten(2).transpose(1, 2)
        k = self.key(kv).flatten(2).transpose(1, 2)
        v = self.value(kv).flatten(2).transpose(1, 2)
        att = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)  # the full map, scale 1
        out = torch.bmm(att, v).transpose(1, 2).reshape(n, c, h, w)
        return x + out * self.gamma


class ChannelAttention(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))
        self.kind = kind

    def forward(self, x):
        n, c, h, w = x.shape
        flat = x.reshape(n, c, h * w)
        energy = torch.bmm(flat, flat.transpose(1, 2))
        logits = energy.amax(-1, keepdim=True).expand_as(energy) - energy if self.kind == 'danet' else energy
        return x + torch.bmm(torch.softmax(logits, -1), flat).reshape(n, c, h, w) * self.gamma


class SCA(nn.Module):
    def __init__(self, c, d, attention):
        super().__init__()
        self.spatial = SpatialAttention(c, d, attention['keyValuePool'])
        self.channel = ChannelAttention(attention['channel'])
        self.spatialConv = nn.Conv2d(c, c, 3, padding=1)
        self.channelConv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.spatialConv(self.spatial(x)) + self.channelConv(self.channel(x))


class SynthesisBlock(nn.Module):
    def __init__(self, c, cond_ch, d, cfg):
        super().__init__()
        g = cfg['generator']
        self.agm = None if cfg['ablation']['noAGM'] else AGMBlock(c, g['mappingWidth'], g['noiseChannelDivisor'])
        self.fuse = nn.Conv2d(2 * c + cond_ch, c, 3, padding=1)
        self.sca = None if cfg['ablation']['noSCA'] else SCA(c, d, cfg['attention'])
        self.up = upsampling(c, c // 2, g['norm'])

    def forward(self, x, skip, cond, w, noise):
        h = self.agm(x, w, noise) if self.agm is not None else x
        h = self.fuse(torch.cat([h, skip, cond], 1))
        if self.sca is not None:
            h = self.sca(h)
        return self.up(h)


class GlobalGenerator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        g = cfg['generator']
        ngf, norm = g['ngf'], g['norm']
        cond = condition_channels(cfg)
        widths = [ngf, 2 * ngf, 4 * ngf, 8 * ngf]
        stem = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(cond, ngf, 7), make_norm(norm, ngf), nn.ReLU())
        downs = [nn.Sequential(nn.Conv2d(widths[i - 1], widths[i], 3, stride=2, padding=1), make_norm(norm, widths[i]), nn.ReLU()) for i in (1, 2, 3)]
        self.encoder = nn.ModuleList([stem] + downs)
        self.residual = nn.Sequential(*[ResidualBlock(8 * ngf, norm) for _ in range(g['residualBlocks'])])
        self.mapping = None if cfg['ablation']['noAGM'] else MappingNetwork(g['gradingVectorDim'], g['mappingWidth'], g['mappingLayers'])
        self.synthesis = nn.ModuleList([SynthesisBlock(c, cond, cfg['attention']['reductions'][i], cfg) for i, c in enumerate([8 * ngf, 4 * ngf, 2 * ngf])])
        self.outputHead = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh())
        self.gradeHead = nn.Sequential(nn.Conv2d(8 * ngf, 8 * ngf, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                       nn.Linear(8 * ngf, cfg['numGrades']))

    def noise_shapes(self, n, size):
        if self.cfg['ablation']['noAGM']:
            return []
        return [[n, b.agm.noise_channels, (size // 8) * 2 ** i, (size // 8) * 2 ** i] for i, b in enumerate(self.synthesis)]

    def resize_condition(self, c, size):
        mode = self.cfg['generator']['conditionResize']
        if mode == 'area':
            return F.adaptive_avg_pool2d(c, size)
        if mode == 'bilinear':
            return F.interpolate(c, size=size, mode='bilinear', align_corners=False)
        return F.interpolate(c, size=size, mode='nearest')

    def run(self, c, z, noise):
        skips, h = [], c
        for stage in self.encoder:
            h = stage(h)
            skips.append(h)
        grade_logits = self.gradeHead(h)
        h = self.residual(h)
        w = self.mapping(z) if self.mapping is not None else None
        for i, block in enumerate(self.synthesis):
            skip = skips[3 - i]
            h = block(h, skip, self.resize_condition(c, skip.shape[2]), w, noise[i] if noise else None)
        return h, grade_logits

    def forward(self, c, z, noise):
        features, grade_logits = self.run(c, z, noise)
        return self.outputHead(features), grade_logits


class LocalEnhancer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        g = cfg['generator']
        ngf, norm, half = g['ngf'], g['norm'], g['ngf'] // 2
        cond = condition_channels(cfg)
        self.down = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(cond, half, 7), make_norm(norm, half), nn.ReLU(),
                                  nn.Conv2d(half, ngf, 3, stride=2, padding=1), make_norm(norm, ngf), nn.ReLU())
        self.residual = nn.Sequential(*[ResidualBlock(ngf, norm) for _ in range(g['localResidualBlocks'])])
        self.up = nn.Sequential(nn.ConvTranspose2d(ngf, half, 3, stride=2, padding=1, output_padding=1), make_norm(norm, half), nn.ReLU(),
                                nn.ReflectionPad2d(3), nn.Conv2d(half, 3, 7), nn.Tanh())

    def forward(self, c, global_features):
        return self.up(self.residual(self.down(c) + global_features))


class Generator(nn.Module):
    """G_m as `global`, and in stage 2 G_l as `local` (the TS names; `global` is a Python keyword)."""

    def __init__(self, cfg, stage=1):
        super().__init__()
        self.cfg = cfg
        self.add_module('global', GlobalGenerator(cfg))
        if stage == 2:
            self.add_module('local', LocalEnhancer(cfg))
        self.stage = stage

    @property
    def global_(self):
        return getattr(self, 'global')

    def draw_noise(self, n, dtype=None):
        """As Generator.drawNoise: torch.randn per block, in block order, from the global (CPU) RNG,
        then moved to the parameters' device, so a seed gives the same noise on every device."""
        dtype = dtype or next(self.parameters()).dtype
        device = next(self.parameters()).device
        return [torch.randn(s, dtype=dtype).to(device) for s in self.global_.noise_shapes(n, self.cfg['resolution'] // 2)]

    def forward(self, c, z, noise=None):
        cond = select_condition_channels(c, self.cfg)
        if noise is None and not self.cfg['ablation']['noAGM']:
            noise = self.draw_noise(c.shape[0])
        half = downsample(cond)
        if self.stage == 1:
            return self.global_(half, z, noise)
        features, grade_logits = self.global_.run(half, z, noise)
        return getattr(self, 'local')(cond, features), grade_logits


# ---------------------------------------------------------------- discriminator (method.md 6)

class PatchDiscriminator(nn.Module):
    def __init__(self, cin, ndf, num_layers, num_grades, with_class_head, class_pooling='normalized'):
        super().__init__()
        if class_pooling not in ('normalized', 'preNorm'):
            raise ValueError(f'discriminator.classPooling must be normalized or preNorm, got {class_pooling!r}')
        self.class_pooling = class_pooling
        seqs, c = [], cin
        for i in range(num_layers):
            out = ndf * 2 ** min(i, 3)
            conv = nn.Conv2d(c, out, 4, stride=2, padding=2)
            seqs.append(nn.Sequential(conv, nn.LeakyReLU(0.2)) if i == 0 else nn.Sequential(conv, nn.InstanceNorm2d(out), nn.LeakyReLU(0.2)))
            c = out
        self.layers = nn.ModuleList(seqs)
        self.advHead = nn.Conv2d(c, 1, 4, stride=1, padding=2)
        self.classHead = nn.Linear(c, num_grades) if with_class_head else None

    def forward(self, x):
        features, h = [], x
        for layer in self.layers:
            pre_norm = layer[0](h)  # the conv's output; 'preNorm' pools the last one
            h = layer[1:](pre_norm)
            features.append(h)
        logit = self.advHead(h).mean([1, 2, 3])
        pooled = pre_norm if self.class_pooling == 'preNorm' else h
        class_logits = self.classHead(pooled.mean([2, 3])) if self.classHead is not None else None
        return {'features': features, 'logit': logit, 'classLogits': class_logits}


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg['discriminator']
        cin = condition_channels(cfg) + 3
        self.class_input = d.get('classInput', 'conditionAndImage')
        if self.class_input not in ('conditionAndImage', 'imageOnly'):
            raise ValueError(f'discriminator.classInput must be conditionAndImage or imageOnly, got {self.class_input!r}')
        self.discriminators = nn.ModuleList([PatchDiscriminator(cin, d['ndf'], d['numLayers'], cfg['numGrades'], not cfg['ablation']['noClsLoss'],
                                                                d.get('classPooling', 'normalized'))
                                             for _ in range(d['numD'])])

    def forward(self, c, image):
        cond = select_condition_channels(c, self.cfg)
        x = torch.cat([cond, image], 1)
        # imageOnly: the grade logits come from the same D_n on the input with the condition map
        # zeroed; written independently of the TS side: zeroed once at full size, then
        # downsampled like x.
        second = self.class_input == 'imageOnly' and not self.cfg['ablation']['noClsLoss']
        xc = torch.cat([torch.zeros_like(cond), image], 1) if second else None
        outs = []
        for i, d in enumerate(self.discriminators):
            if i > 0:
                x = downsample(x)
                xc = downsample(xc) if second else None
            o = d(x)
            if second:
                o['classLogits'] = d(xc)['classLogits']
            outs.append(o)
        return outs


# ---------------------------------------------------------------- losses (method.md 7)

def d_adversarial(kind, real, fake):
    if kind == 'bce':
        return F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    if kind == 'lsgan':
        return (real - 1).square().mean() + fake.square().mean()
    return F.relu(1 - real).mean() + F.relu(fake + 1).mean()


def g_adversarial(kind, fake):
    if kind == 'bce':
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind == 'lsgan':
        return (fake - 1).square().mean()
    return -fake.mean()


def feature_matching(real_feats, fake_feats, norm):
    num_d, total = len(real_feats), None
    for real, fake in zip(real_feats, fake_feats):
        for r, f in zip(real, fake):
            d = F.l1_loss(f, r.detach()) if norm == 'l1' else F.mse_loss(f, r.detach())
            term = d * (1 / (num_d * len(real)))
            total = term if total is None else total + term
    return total


def focal(logits, grades, gamma):
    logp = torch.log_softmax(logits, 1).gather(1, grades.unsqueeze(1)).squeeze(1)
    return -((1 - logp.exp()) ** gamma * logp).mean()


def perceptual_loss(extractor, weights, fake, real):
    ff = extractor(fake)
    with torch.no_grad():
        rf = extractor(real)
    total = None
    for q, f in enumerate(ff):
        term = F.l1_loss(f, rf[q]) * weights[q]
        total = term if total is None else total + term
    return total


def total_of(parts):
    vals = list(parts.values())
    t = vals[0]
    for v in vals[1:]:
        t = t + v
    return t


def sum_list(ts):
    t = ts[0]
    for v in ts[1:]:
        t = t + v
    return t


def generator_loss(cfg, fake_out, real_out, fake, real, grades, grade_logits, extractor=None):
    l, ab = cfg['loss'], cfg['ablation']
    parts = {'adversarial': sum_list([g_adversarial(l['adversarial'], o['logit']) for o in fake_out]),
             'featureMatching': feature_matching([o['features'] for o in real_out], [o['features'] for o in fake_out], l['featureMatching']) * l['lambdaFeatureMatching']}
    if not ab['noPerceptual']:
        parts['perceptual'] = perceptual_loss(extractor, l['perceptualWeights'], fake, real) * l['lambdaPerceptual']
    if not ab['noClsLoss']:
        parts['classification'] = sum_list([focal(o['classLogits'], grades, l['focalGamma']) for o in fake_out]) * l['lambdaClassification']
    parts['gradeHead'] = focal(grade_logits, grades, l['focalGamma']) * l['lambdaClassification']
    return total_of(parts), parts


def discriminator_loss(cfg, real_out, fake_out, grades):
    l = cfg['loss']
    parts = {'adversarial': sum_list([d_adversarial(l['adversarial'], r['logit'], f['logit']) for r, f in zip(real_out, fake_out)])}
    if not cfg['ablation']['noClsLoss']:
        parts['classification'] = sum_list([focal(r['classLogits'], grades, l['focalGamma']) + focal(f['classLogits'], grades, l['focalGamma'])
                                            for r, f in zip(real_out, fake_out)]) * l['lambdaClassification']
    return total_of(parts), parts


def adam(params, cfg):
    return torch.optim.Adam(params, lr=cfg['train']['lr'], betas=tuple(cfg['train']['betas']))


def gan_step(G, D, opt_g, opt_d, cfg, c, x, y, z, noise=None, extractor=None, record=None):
    """src/train/gan-trainer.ts ganStep: G first, then D on the same (detached) fakes.
    `record(net, module)` is called just before each optimiser step (gradients in place)."""
    fake, grade_logits = G(c, z, noise)
    cD, xD = (downsample(c), downsample(x)) if G.stage == 1 else (c, x)
    fake_out = D(cD, fake)
    real_out = D(cD, xD)
    gl, g_parts = generator_loss(cfg, fake_out, real_out, fake, xD, y, grade_logits, extractor)
    dl, d_parts = discriminator_loss(cfg, real_out, D(cD, fake.detach()), y)
    terms = {'G': {k: v.item() for k, v in g_parts.items()}, 'D': {k: v.item() for k, v in d_parts.items()}}
    opt_g.zero_grad(set_to_none=True)
    gl.backward()
    if record:
        record('G', G)
    opt_g.step()
    opt_d.zero_grad(set_to_none=True)  # G's backward reached D too
    dl.backward()
    if record:
        record('D', D)
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    opt_d.zero_grad(set_to_none=True)
    return terms


# ---------------------------------------------------------------- state dicts

def load_ts_state_dict(module, path):
    """Weights the TypeScript side wrote (savePth or saveSafetensors), by name, strict."""
    # weights_only: PyTorch 2.6's default (1.13 has the option); map_location: CPU tensors, moved by the caller.
    sd = read_safetensors(path)[0] if path.endswith('.safetensors') else torch.load(path, map_location='cpu', weights_only=True)
    module.load_state_dict(sd, strict=True)


def _io():
    """scripts/reference/io.py (the hand-written safetensors reader and writer)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('ref_io', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'io.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def read_safetensors(path):
    return _io().read_safetensors(path)


def write_safetensors(path, tensors, metadata=None):
    _io().write_safetensors(path, tensors, metadata)


# ---------------------------------------------------------------- weights from names
# The same formula lives in test/gan/python-reference.test.ts (namedValues). Values are exact
# in float32: a 24-bit hash fraction, scaled and rounded once from float64.

M32 = 0xFFFFFFFF


def hash_unit(name, n):
    """n values in [-1, 1) from FNV-1a of the name and murmur3's finaliser of (h + i * golden)."""
    h = 0x811C9DC5
    for b in name.encode('utf-8'):
        h = ((h ^ b) * 0x01000193) & M32
    x = (h + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B9)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x85EBCA6B)) & np.uint64(M32)
    x ^= x >> np.uint64(13)
    x = (x * np.uint64(0xC2B2AE35)) & np.uint64(M32)
    x ^= x >> np.uint64(16)
    return (x >> np.uint64(8)).astype(np.float64) / 8388608.0 - 1.0


def named_value(name, shape):
    """float64 values (to be rounded to float32 once) for the tensor `name` of `shape`."""
    n = int(np.prod(shape)) if len(shape) else 1
    u = hash_unit(name, n)
    leaf = name.split('.')[-1]
    if leaf == 'running_mean':
        v = 0.1 * u
    elif leaf == 'running_var':
        v = 1 + 0.25 * (u + 1)
    elif leaf == 'gamma':  # SCA's gammas start at 0; non-zero here so attention shows in every output
        v = 0.5 + 0.25 * u
    elif leaf == 'bias':
        v = 0.1 * u
    elif leaf == 'weight' and len(shape) == 1:  # norm scale
        v = 1 + 0.25 * u
    elif leaf == 'weight':
        v = u * math.sqrt(3 / int(np.prod(shape[1:])))
    else:
        raise ValueError(f'named_value: no rule for "{name}"')
    return v.reshape(shape)


def fill_by_name(module, dtype=torch.float32):
    sd = {}
    for k, t in module.state_dict().items():
        if k.endswith('num_batches_tracked'):
            sd[k] = torch.zeros_like(t)
        else:
            sd[k] = torch.from_numpy(named_value(k, list(t.shape)).astype(np.float32)).to(dtype)
    module.load_state_dict(sd, strict=True)


class TinyFeatures(nn.Module):
    """A given perceptual feature net for the fixtures (5 taps, as VGG-19's relu1_1..relu5_1)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(6, 8, 3, padding=1), nn.ReLU())
        self.taps = [1, 3, 5, 7, 9]

    def forward(self, x):
        out, h = [], x
        for i, layer in enumerate(self.net):
            h = layer(h)
            if i in self.taps:
                out.append(h)
        return out


# ---------------------------------------------------------------- fixtures

CASES = {
    # The tiny preset as is (perceptual off: no VGG weights), stage 1.
    'tiny_stage1': {'config': {}, 'stage': 1},
    # Stage 2: G_m + G_l at R.
    'tiny_stage2': {'config': {}, 'stage': 2},
    # Ablations w/o AGM, w/o SCA, w/o classification loss, plus instance norm, LSGAN, L2
    # feature matching, cross entropy (gamma 0) and nearest condition resizing.
    'tiny_noagm_nosca': {'stage': 1, 'config': {
        'generator': {'norm': 'instance', 'conditionResize': 'nearest'},
        'loss': {'adversarial': 'lsgan', 'featureMatching': 'l2', 'focalGamma': 0},
        'ablation': {'noAGM': True, 'noSCA': True, 'noClsLoss': True}}},
    # w/o lesion masks, DANet channel attention, pooled keys/values, bilinear resizing, hinge,
    # a residual block in G_l, two 3-layer discriminators, and a perceptual loss on a given net.
    'tiny_options_stage2': {'stage': 2, 'perceptual': True, 'config': {
        'generator': {'conditionResize': 'bilinear', 'localResidualBlocks': 1},
        'attention': {'channel': 'danet', 'keyValuePool': 2},
        'discriminator': {'numD': 2, 'numLayers': 3},
        'loss': {'adversarial': 'hinge', 'focalGamma': 1.5},
        'ablation': {'noLesionMasks': True, 'noPerceptual': False}}},
    # The classification heads pool the last conv's output before InstanceNorm, stage 1;
    # without AGM and attention to keep the fixture small (the option is D-only).
    'tiny_prenorm_stage1': {'stage': 1, 'config': {
        'discriminator': {'classPooling': 'preNorm'},
        'ablation': {'noAGM': True, 'noSCA': True}}},
    # The classification heads read a second pass of each D_n with the condition map zeroed
    # (discriminator.classInput 'imageOnly'), stage 1; small as above.
    'tiny_imageonly_stage1': {'stage': 1, 'config': {
        'discriminator': {'classInput': 'imageOnly'},
        'ablation': {'noAGM': True, 'noSCA': True}}},
}
NOISE_SEED = 4242


def make_inputs(cfg, seed):
    gen = torch.Generator().manual_seed(seed)
    B, R = cfg['train']['batchSize'], cfg['resolution']
    # Masks: sparse lesion channels, denser vessel / disc channels, as binary maps.
    density = torch.tensor([0.3, 0.15, 0.05, 0.05, 0.08, 0.05, 0.05, 0.1]).reshape(1, 8, 1, 1)
    c_u8 = (torch.rand([B, 8, R, R], generator=gen) < density).to(torch.uint8)
    x_u8 = torch.randint(0, 256, [B, 3, R, R], generator=gen, dtype=torch.uint8)
    y = torch.tensor([1, 3][:B] + [i % cfg['numGrades'] for i in range(2, B)], dtype=torch.int64)
    z = torch.randn([B, cfg['generator']['gradingVectorDim']], generator=gen)
    return c_u8, x_u8, y, z


def to_float_inputs(c_u8, x_u8, dtype):
    """The test does the same ops: c = u8 -> float, x = u8 / 127.5 - 1."""
    return c_u8.to(dtype), x_u8.to(dtype) / 127.5 - 1


def build(cfg, stage, dtype, with_extractor):
    G, D = Generator(cfg, stage), MultiscaleDiscriminator(cfg)
    fill_by_name(G)
    fill_by_name(D)
    ext = None
    if with_extractor:
        ext = TinyFeatures()
        fill_by_name(ext)
        ext.requires_grad_(False)
        ext.to(dtype)
    return G.to(dtype), D.to(dtype), ext


def projection_weights(name, n):
    """Weights of the gradient projections: two hash rows per parameter (the test recomputes them)."""
    return hash_unit('proj0:' + name, n), hash_unit('proj1:' + name, n)


def run_case(name, case, dtype):
    cfg = merged(TINY, case['config'])
    stage = case['stage']
    c_u8, x_u8, y, z = make_inputs(cfg, 7)
    c, x = to_float_inputs(c_u8, x_u8, dtype)
    z = z.to(dtype)
    if cfg['ablation']['noAGM']:
        z = None
    G, D, ext = build(cfg, stage, dtype, case.get('perceptual', False))
    torch.manual_seed(NOISE_SEED)
    noise = [n.to(dtype) for n in G.draw_noise(c.shape[0], torch.float32)] if not cfg['ablation']['noAGM'] else []
    out = {}
    with torch.no_grad():
        G.eval()
        img, logits = G(c, z, noise)
        out['expected.eval.image'], out['expected.eval.gradeLogits'] = img, logits
        G.train()
        img, logits = G(c, z, noise)
        out['expected.train.image'], out['expected.train.gradeLogits'] = img, logits
        cD, xD = (downsample(c), downsample(x)) if stage == 1 else (c, x)
        for i, o in enumerate(D(cD, xD)):
            out[f'expected.D.{i}.logit'] = o['logit']
            if o['classLogits'] is not None:
                out[f'expected.D.{i}.classLogits'] = o['classLogits']
            for p, f in enumerate(o['features']):
                out[f'expected.D.{i}.feature.{p}'] = f
    # One ganStep from fresh weights (the train-mode forward above moved the running stats).
    G, D, ext = build(cfg, stage, dtype, case.get('perceptual', False))
    G.train()
    D.train()
    before = {net: {k: p.detach().clone() for k, p in m.named_parameters()} for net, m in (('G', G), ('D', D))}
    grads = {}

    def record(net, module):
        grads[net] = {k: p.grad.detach().clone() for k, p in module.named_parameters() if p.grad is not None}

    opt_g, opt_d = adam(list(G.parameters()), cfg), adam(list(D.parameters()), cfg)
    terms = gan_step(G, D, opt_g, opt_d, cfg, c, x, y, z, noise=noise, extractor=ext, record=record)
    after = {'G': dict(G.named_parameters()), 'D': dict(D.named_parameters())}
    buffers = {k: b.detach().clone() for k, b in G.state_dict().items() if k.endswith('running_mean') or k.endswith('running_var')}
    return {'cfg': cfg, 'stage': stage, 'inputs': (c_u8, x_u8, y, z, noise), 'out': out, 'terms': terms, 'grads': grads,
            'before': before, 'after': {n: {k: p.detach().clone() for k, p in ps.items()} for n, ps in after.items()}, 'buffers': buffers,
            'keys': {'G': {k: list(t.shape) for k, t in G.state_dict().items()}, 'D': {k: list(t.shape) for k, t in D.state_dict().items()}}}


def pack_bits(bools):
    return torch.from_numpy(np.packbits(np.asarray(bools, dtype=np.uint8), bitorder='little'))


def rel_err(a, b):
    """max |a - b| / max |b| (float64)."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def write_case(name, case):
    r32 = run_case(name, case, torch.float32)
    r64 = run_case(name, case, torch.float64)
    cfg, lr = r32['cfg'], r32['cfg']['train']['lr']
    c_u8, x_u8, y, z, noise = r32['inputs']
    t = {'input.c': c_u8, 'input.x': x_u8, 'input.y': y}
    if z is not None:
        t['input.z'] = z
    for i, n in enumerate(noise):
        t[f'input.noise.{i}'] = n
    drift = {}  # float32 against float64, per output: the scale the tolerances are judged by
    for k, v in r32['out'].items():
        t[k] = v.float().contiguous()
        drift[k] = rel_err(v, r64['out'][k])
    for k, v in r32['buffers'].items():
        t['after.G.' + k] = v.float()
        drift['after.G.' + k] = rel_err(v, r64['buffers'][k])
    loss_drift = max(abs(r32['terms'][n][k] - r64['terms'][n][k]) / max(1e-12, abs(r64['terms'][n][k])) for n in ('G', 'D') for k in r32['terms'][n])
    meta_params = {}
    for net in ('G', 'D'):
        names = list(r32['before'][net].keys())
        stats, signs, sure = [], [], []
        worst_grad = 0.0
        for k in names:
            g32 = r32['grads'][net].get(k)
            g64 = r64['grads'][net].get(k)
            d = ((r32['after'][net][k].double() - r32['before'][net][k].double()) / lr).flatten()
            if g32 is None:  # no gradient reached it (G_m's output head in stage 2): Adam skips it
                stats.append([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
                signs += [False] * d.numel()
                sure += [False] * d.numel()
                assert d.abs().max().item() == 0, f'{name}: {net}.{k} has no gradient but moved'
                continue
            g32d, g64d = g32.double().flatten(), g64.double().flatten()
            r0, r1 = (torch.from_numpy(w) for w in projection_weights(k, g32d.numel()))
            # Columns: has a gradient, the two projections, their L1 scales, and the float32-vs-
            # float64 error of the projections relative to those scales (how exact this one can be).
            # A gradient may be exactly 0 (softmax over a single pooled key): still "has one".
            p0, p1 = (r0 * g32d).sum().item(), (r1 * g32d).sum().item()
            s0, s1 = (r0 * g32d).abs().sum().item(), (r1 * g32d).abs().sum().item()
            e = max(abs(p0 - (r0 * g64d).sum().item()) / max(s0, 1e-30), abs(p1 - (r1 * g64d).sum().item()) / max(s1, 1e-30))
            worst_grad = max(worst_grad, e)
            stats.append([1.0, p0, p1, s0, s1, e])
            # An element's update direction is settled when float32 and float64 agree on the
            # gradient's sign and it is far above Adam's eps (the first step moves by ~lr * sign(g)).
            ok = (g64d.abs() > 1e-5) & ((g32d - g64d).abs() < 0.01 * g64d.abs())
            signs += (d > 0).tolist()
            sure += ok.tolist()
        t[f'step.{net}.gradStats'] = torch.tensor(stats, dtype=torch.float64)
        t[f'step.{net}.updateSign'] = pack_bits(signs)
        t[f'step.{net}.updateSettled'] = pack_bits(sure)
        meta_params[net] = {'names': names, 'settled': int(sum(sure)), 'elements': len(sure), 'worstGradProjectionDrift': worst_grad}
    meta = {
        'case': name, 'stage': r32['stage'], 'config': cfg, 'noiseSeed': NOISE_SEED, 'perceptual': bool(CASES[name].get('perceptual')),
        'losses': r32['terms'], 'losses64': r64['terms'], 'stateDictKeys': r32['keys'], 'params': meta_params,
        'drift': {'outputs': max(drift.values()), 'losses': loss_drift, 'perOutput': drift},
        'torch': torch.__version__,
    }
    # The test's tolerances (1e-4 on outputs, 1e-5 on losses) assume float32 itself is this close.
    if meta['drift']['outputs'] > 1e-5 or loss_drift > 1e-6:
        raise SystemExit(f'{name}: float32 lands {meta["drift"]["outputs"]:.2e} (outputs) / {loss_drift:.2e} (losses) from float64; '
                         'the case is ill-conditioned, change its inputs or weights')
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + '.safetensors')
    write_safetensors(path, t, {'meta': json.dumps(meta)})
    print(f'{path}: {os.path.getsize(path)} bytes; float32 vs float64: outputs {meta["drift"]["outputs"]:.2e}, losses {loss_drift:.2e}, '
          f'grad projections G {meta_params["G"]["worstGradProjectionDrift"]:.2e} D {meta_params["D"]["worstGradProjectionDrift"]:.2e}; '
          f'settled update signs G {meta_params["G"]["settled"]}/{meta_params["G"]["elements"]}, D {meta_params["D"]["settled"]}/{meta_params["D"]["elements"]}')


def main():
    torch.set_num_threads(1)
    names = sys.argv[1:] or list(CASES)
    for name in names:
        if name not in CASES:
            raise SystemExit(f'unknown case "{name}" (known: {", ".join(CASES)})')
        write_case(name, CASES[name])


if __name__ == '__main__':
    main()

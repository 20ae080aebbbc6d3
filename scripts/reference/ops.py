#!/usr/bin/python3
"""Expected values for the tensor-library tests (test/torch/**), from Debian's Python
PyTorch on the same libtorch 1.13.1. Run: /usr/bin/python3 scripts/reference/ops.py
Writes test/fixtures/ops/{creation,tensor,functional,autograd}.json. Inputs come from a
seeded generator and are stored beside the results, so the TypeScript tests rebuild them
exactly; every case names its parameters so both sides call the op the same way."""
import base64
import json
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'ops')


def enc(t):
    """A tensor as {shape, dtype, data}: floats as base64 of their little-endian bytes
    (exact and a quarter the size of decimal text), integers and booleans as a list."""
    t = t.detach().contiguous()
    dtype = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64',
             torch.uint8: 'uint8', torch.bool: 'bool', torch.int32: 'int32'}[t.dtype]
    if t.is_floating_point():
        return {'shape': list(t.shape), 'dtype': dtype, 'b64': base64.b64encode(t.numpy().tobytes()).decode()}
    flat = t.reshape(-1).tolist()
    if dtype == 'bool':
        flat = [1 if v else 0 for v in flat]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': flat}


def write(name, obj):
    path = os.path.join(OUT, name + '.json')
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    print(f'{path}: {os.path.getsize(path)} bytes')


gen = torch.Generator().manual_seed(20240501)


def randn(*shape, dtype=torch.float32):
    return torch.randn(tuple(shape), generator=gen, dtype=torch.float64).to(dtype)


# ---------------------------------------------------------------- creation and RNG
def creation():
    c = {}
    c['zeros'] = enc(torch.zeros(2, 3))
    c['ones_int64'] = enc(torch.ones(2, 2, dtype=torch.int64))
    c['full'] = enc(torch.full((2, 3), 2.5))
    c['arange_int'] = enc(torch.arange(2, 11, 3))
    c['arange_float'] = enc(torch.arange(0.5, 2.0, 0.3))
    c['arange_neg'] = enc(torch.arange(5, -3, -2))
    c['linspace'] = enc(torch.linspace(-1, 2, 7))
    c['eye'] = enc(torch.eye(3, 4))
    # dtype conversions (truncation toward zero, saturation is UB so avoided)
    src = torch.tensor([-1.7, -0.2, 0.0, 2.5, 3.99, 200.0])
    c['cast_src'] = enc(src)
    c['cast_int64'] = enc(src.to(torch.int64))
    c['cast_bool'] = enc(src.to(torch.bool))
    c['cast_uint8'] = enc(src.abs().to(torch.uint8))
    c['cast_float64'] = enc(src.to(torch.float64))
    # seeded random streams (CPU generator)
    torch.manual_seed(1234)
    c['seed1234'] = {
        'randn7': enc(torch.randn(7)),
        'rand2x3': enc(torch.rand(2, 3)),
        'randint6': enc(torch.randint(0, 100, (6,))),
        'randn20': enc(torch.randn(20)),  # >= 16 elements takes the vectorised path
        'randn_f64': enc(torch.randn(5, dtype=torch.float64)),
        'randperm8': enc(torch.randperm(8)),
        'rand_like': enc(torch.rand_like(torch.zeros(3))),
    }
    torch.manual_seed(42)
    c['seed42_sequence'] = [enc(torch.randn(3)), enc(torch.randn(4)), enc(torch.randn(2, 2)), enc(torch.randn(17))]
    torch.manual_seed(3)
    x = torch.ones(4, 8)
    c['seed3_dropout_half'] = enc(F.dropout(x, 0.5, True))
    return c


# ---------------------------------------------------------------- tensor ops
def tensor_ops():
    a = randn(2, 3, 4)
    b = randn(3, 1)
    m = randn(3, 4)
    n = randn(4, 5)
    bb = randn(2, 4, 5)
    idx = torch.tensor([2, 0, 2], dtype=torch.int64)
    gidx = torch.tensor([[0, 2, 1, 0], [1, 1, 0, 2], [2, 0, 0, 1]], dtype=torch.int64)
    mask = a[0] > 0
    i0 = torch.tensor([[1], [0]], dtype=torch.int64)
    t = {'a': enc(a), 'b': enc(b), 'm': enc(m), 'n': enc(n), 'bb': enc(bb), 'idx': enc(idx), 'gidx': enc(gidx), 'mask': enc(mask), 'i0': enc(i0)}
    r = {}
    r['reshape'] = enc(a.reshape(4, 6))
    r['view'] = enc(a.view(6, -1))
    r['permute'] = enc(a.permute(2, 0, 1))
    r['transpose'] = enc(a.transpose(0, 2))
    r['flatten1'] = enc(a.flatten(1))
    r['squeeze'] = enc(b.squeeze())
    r['unsqueeze'] = enc(m.unsqueeze(1))
    r['expand'] = enc(b.expand(3, 4))
    r['cat1'] = enc(torch.cat([a, a * 2], 1))
    r['stack2'] = enc(torch.stack([m, m + 1], 2))
    r['split'] = [enc(x) for x in a.split(3, 2)]
    r['split_sizes'] = [enc(x) for x in a.split([1, 2], 1)]
    r['chunk'] = [enc(x) for x in a.chunk(3, 2)]
    r['slice'] = enc(a[:, 1:3, ::2])
    r['slice_neg'] = enc(a[..., -3:-1])
    r['select'] = enc(a[:, 1])
    r['narrow'] = enc(a.narrow(2, 1, 2))
    r['index'] = enc(a[i0, idx])  # [2, 1] and [3] broadcast to [2, 3]
    r['index_select'] = enc(a.index_select(1, idx))
    r['gather'] = enc(m.gather(1, gidx))
    r['scatter'] = enc(torch.zeros(3, 4).scatter(1, gidx[:, :2], m[:, :2]))
    r['scatter_add'] = enc(torch.zeros(3, 4).scatter_add(1, gidx, m))
    r['masked_fill'] = enc(a[0].masked_fill(mask, -7.5))
    r['where'] = enc(torch.where(mask, a[0], m))
    # broadcasting arithmetic and comparisons
    r['add_b'] = enc(a + b)
    r['sub_alpha'] = enc(torch.sub(a, b, alpha=2))
    r['mul_b'] = enc(a * b)
    r['div_b'] = enc(a / b)
    r['pow2'] = enc(a ** 2)
    r['rsub'] = enc(1 - a)
    r['div_floor'] = enc(torch.div(a * 3, 2, rounding_mode='floor'))
    r['gt_b'] = enc(a > b)
    r['eq_s'] = enc(a.round() == 0)
    r['max_elem'] = enc(torch.maximum(a, b))
    # reductions
    r['sum'] = enc(a.sum())
    r['sum_dims'] = enc(a.sum([0, 2]))
    r['sum_keep'] = enc(a.sum(1, keepdim=True))
    r['mean1'] = enc(a.mean(1))
    r['var2'] = enc(a.var(2))
    r['var2_biased'] = enc(a.var(2, unbiased=False))
    r['std01'] = enc(a.std([0, 1]))
    r['max'] = enc(a.max())
    r['min'] = enc(a.min())
    mv, mi = a.max(2)
    r['max_dim'] = [enc(mv), enc(mi)]
    nv, ni = a.min(0, keepdim=True)
    r['min_dim_keep'] = [enc(nv), enc(ni)]
    r['argmax1'] = enc(a.argmax(1))
    r['argmax_all'] = enc(a.argmax())
    r['amax'] = enc(a.amax([0, 2]))
    r['logsumexp'] = enc(a.logsumexp(2))
    r['prod'] = enc(m[0].prod())
    r['norm'] = enc(a.norm(2, dim=2))
    r['cumsum'] = enc(a.cumsum(1))
    # linear algebra
    r['matmul'] = enc(m @ n)
    r['matmul_batched'] = enc(a @ n)
    r['bmm'] = enc(torch.bmm(a, bb))
    r['einsum_bij_bjk'] = enc(torch.einsum('bij,bjk->bik', a, bb))
    r['einsum_trace'] = enc(torch.einsum('ij,kj->ik', m, m))
    # elementwise math
    pos = a.abs() + 0.1
    r['exp'] = enc(a.exp())
    r['log_pos'] = enc(pos.log())
    r['sqrt_pos'] = enc(pos.sqrt())
    r['rsqrt_pos'] = enc(pos.rsqrt())
    r['sigmoid'] = enc(a.sigmoid())
    r['tanh'] = enc(a.tanh())
    r['sin'] = enc(a.sin())
    r['cos'] = enc(a.cos())
    r['abs'] = enc(a.abs())
    r['clamp'] = enc(a.clamp(-0.5, 0.7))
    r['log1p_pos'] = enc(pos.log1p())
    r['floor'] = enc((a * 2).floor())
    r['softmax2'] = enc(a.softmax(2))
    r['softmax0'] = enc(a.softmax(0))
    r['log_softmax1'] = enc(a.log_softmax(1))
    return {'inputs': t, 'results': r}


# ---------------------------------------------------------------- functional ops with grads
def functional():
    cases = {}

    def case(name, inputs, fn, params=None, grad=None, train_seed=None):
        """inputs: name -> tensor; grad: names whose gradients are checked."""
        grad = grad or []
        leaf = {k: v.clone().requires_grad_(k in grad) for k, v in inputs.items()}
        if train_seed is not None:
            torch.manual_seed(train_seed)
        out = fn(**leaf)
        entry = {'params': params or {}, 'inputs': {k: enc(v) for k, v in inputs.items()}, 'out': enc(out)}
        if grad:
            gout = randn(*out.shape)
            grads = torch.autograd.grad(out, [leaf[k] for k in grad], gout)
            entry['gout'] = enc(gout)
            entry['grads'] = {k: enc(g) for k, g in zip(grad, grads)}
        cases[name] = entry

    x = randn(2, 4, 6, 6)
    w = randn(6, 4, 3, 3) * 0.3
    bias = randn(6)
    case('conv2d_basic', {'x': x, 'w': w, 'b': bias}, lambda x, w, b: F.conv2d(x, w, b), grad=['x', 'w', 'b'])
    case('conv2d_stride_pad_dil', {'x': x, 'w': w, 'b': bias},
         lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=2, dilation=2),
         {'stride': 2, 'padding': 2, 'dilation': 2}, grad=['x', 'w', 'b'])
    wg = randn(6, 2, 3, 3) * 0.3
    case('conv2d_groups', {'x': x, 'w': wg}, lambda x, w: F.conv2d(x, w, None, stride=(1, 2), padding=(1, 0), groups=2),
         {'stride': [1, 2], 'padding': [1, 0], 'groups': 2}, grad=['x', 'w'])
    xt = randn(2, 4, 3, 3)
    wt = randn(4, 3, 3, 3) * 0.3
    bt = randn(6)
    case('conv_transpose2d', {'x': xt, 'w': wt}, lambda x, w: F.conv_transpose2d(x, w, None, stride=2, padding=1, output_padding=1),
         {'stride': 2, 'padding': 1, 'outputPadding': 1}, grad=['x', 'w'])
    case('conv_transpose2d_groups_dil', {'x': xt, 'w': wt, 'b': bt},
         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(0, 1), output_padding=(1, 0), groups=2, dilation=2),
         {'stride': [2, 1], 'padding': [0, 1], 'outputPadding': [1, 0], 'groups': 2, 'dilation': 2}, grad=['x', 'w', 'b'])
    xn = randn(3, 4, 5, 5)
    gamma = randn(4).abs() + 0.5
    beta = randn(4)
    rm0, rv0 = randn(4) * 0.1, randn(4).abs() + 0.5

    def bn_train(x, g, b):
        rm, rv = rm0.clone(), rv0.clone()
        y = F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.2, eps=1e-5)
        cases_extra['bn_running'] = [enc(rm), enc(rv)]
        return y
    cases_extra = {}
    case('batch_norm_train', {'x': xn, 'g': gamma, 'b': beta, 'rm': rm0, 'rv': rv0},
         lambda x, g, b, rm, rv: bn_train(x, g, b), {'momentum': 0.2}, grad=['x', 'g', 'b'])
    cases['batch_norm_train']['running'] = cases_extra['bn_running']
    case('batch_norm_eval', {'x': xn, 'g': gamma, 'b': beta, 'rm': rm0, 'rv': rv0},
         lambda x, g, b, rm, rv: F.batch_norm(x, rm, rv, g, b, training=False), grad=['x', 'g', 'b'])
    case('instance_norm', {'x': xn, 'g': gamma, 'b': beta}, lambda x, g, b: F.instance_norm(x, weight=g, bias=b), grad=['x', 'g', 'b'])
    case('group_norm', {'x': xn, 'g': gamma, 'b': beta}, lambda x, g, b: F.group_norm(x, 2, g, b), {'groups': 2}, grad=['x', 'g', 'b'])
    gl = randn(5, 5).abs() + 0.5
    bl = randn(5, 5)
    case('layer_norm', {'x': xn, 'g': gl, 'b': bl}, lambda x, g, b: F.layer_norm(x, [5, 5], g, b), grad=['x', 'g', 'b'])
    xl = randn(3, 7)
    wl = randn(4, 7)
    bl2 = randn(4)
    case('linear', {'x': xl, 'w': wl, 'b': bl2}, lambda x, w, b: F.linear(x, w, b), grad=['x', 'w', 'b'])
    case('relu', {'x': xl}, lambda x: F.relu(x), grad=['x'])
    case('leaky_relu', {'x': xl}, lambda x: F.leaky_relu(x, 0.2), {'slope': 0.2}, grad=['x'])
    case('gelu', {'x': xl}, lambda x: F.gelu(x), grad=['x'])
    case('gelu_tanh', {'x': xl}, lambda x: F.gelu(x, approximate='tanh'), grad=['x'])
    xp = randn(2, 3, 7, 6)
    case('avg_pool_incl', {'x': xp}, lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=True), grad=['x'])
    case('avg_pool_excl', {'x': xp}, lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), grad=['x'])
    case('max_pool', {'x': xp}, lambda x: F.max_pool2d(x, 2), grad=['x'])
    case('max_pool_pad', {'x': xp}, lambda x: F.max_pool2d(x, 3, 2, 1), grad=['x'])
    case('adaptive_avg_pool', {'x': xp}, lambda x: F.adaptive_avg_pool2d(x, (3, 4)), grad=['x'])
    xi = randn(1, 2, 3, 4)
    case('interp_nearest_size', {'x': xi}, lambda x: F.interpolate(x, size=(5, 7), mode='nearest'), grad=['x'])
    case('interp_nearest_scale', {'x': xi}, lambda x: F.interpolate(x, scale_factor=2, mode='nearest'), grad=['x'])
    case('interp_bilinear_ac', {'x': xi}, lambda x: F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=True), grad=['x'])
    case('interp_bilinear_noac', {'x': xi}, lambda x: F.interpolate(x, size=(5, 7), mode='bilinear', align_corners=False), grad=['x'])
    case('interp_bilinear_scale', {'x': xi}, lambda x: F.interpolate(x, scale_factor=1.5, mode='bilinear', align_corners=False), grad=['x'])
    case('pad_reflect', {'x': xi}, lambda x: F.pad(x, (1, 2, 2, 1), mode='reflect'), grad=['x'])
    case('pad_replicate', {'x': xi}, lambda x: F.pad(x, (2, 0, 1, 3), mode='replicate'), grad=['x'])
    case('pad_constant', {'x': xi}, lambda x: F.pad(x, (1, 1, 0, 2), value=0.5), grad=['x'])
    xs = randn(1, 8, 2, 3)
    case('pixel_shuffle', {'x': xs}, lambda x: F.pixel_shuffle(x, 2), grad=['x'])
    # losses
    pr = randn(4, 5)
    tg = randn(4, 5)
    case('l1', {'x': pr, 't': tg}, lambda x, t: F.l1_loss(x, t), grad=['x'])
    case('mse', {'x': pr, 't': tg}, lambda x, t: F.mse_loss(x, t), grad=['x', 't'])
    case('mse_sum', {'x': pr, 't': tg}, lambda x, t: F.mse_loss(x, t, reduction='sum'), grad=['x'])
    tb = (randn(4, 5) > 0).float()
    pw = randn(5).abs() + 0.5
    case('bce_logits_pos_weight', {'x': pr, 't': tb, 'pw': pw}, lambda x, t, pw: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw), grad=['x'])
    ci = torch.tensor([0, 4, 2, 2], dtype=torch.int64)
    cw = randn(5).abs() + 0.2
    case('cross_entropy', {'x': pr, 't': ci}, lambda x, t: F.cross_entropy(x, t), grad=['x'])
    case('cross_entropy_weight_smooth', {'x': pr, 't': ci, 'w': cw}, lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), grad=['x'])
    # dropout under a seed: PyTorch's mask for the same generator state
    case('dropout_seeded', {'x': xl}, lambda x: F.dropout(x, 0.4, True), {'p': 0.4, 'seed': 11}, grad=['x'], train_seed=11)
    # attention reference: softmax(scale q k^T) v
    q, k, v = randn(2, 9, 4), randn(2, 7, 4), randn(2, 7, 3)
    case('attention', {'q': q, 'k': k, 'v': v}, lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) * 0.7, -1) @ v,
         {'scale': 0.7}, grad=['q', 'k', 'v'])
    return cases


# ---------------------------------------------------------------- autograd
def autograd():
    r = {}
    x = randn(3, 4)
    w = randn(3, 4)
    g = randn(3, 4)
    xl = x.clone().requires_grad_()
    wl = w.clone().requires_grad_()
    (xl * xl * wl).backward(g)
    r['backward_with_gradient'] = {'x': enc(x), 'w': enc(w), 'g': enc(g), 'x_grad': enc(xl.grad), 'w_grad': enc(wl.grad)}

    # Gradient penalty (WGAN-GP / R1 style): double backward through conv2d + leaky_relu.
    xr = randn(2, 3, 6, 6)
    w1 = randn(4, 3, 3, 3) * 0.4
    b1 = randn(4) * 0.1
    w2 = randn(1, 4, 3, 3) * 0.4
    xr_l = xr.clone().requires_grad_()
    w1_l = w1.clone().requires_grad_()
    w2_l = w2.clone().requires_grad_()
    h = F.leaky_relu(F.conv2d(xr_l, w1_l, b1, padding=1), 0.2)
    d = F.conv2d(h, w2_l, None, stride=2)
    score = (d * d).sum() + d.sum()  # makes the gradient depend on d itself
    gx, = torch.autograd.grad(score, xr_l, create_graph=True)
    gp = ((gx.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
    gp.backward()
    r['gradient_penalty'] = {'x': enc(xr), 'w1': enc(w1), 'b1': enc(b1), 'w2': enc(w2), 'score': enc(score), 'gx': enc(gx),
                             'gp': enc(gp), 'w1_grad': enc(w1_l.grad), 'w2_grad': enc(w2_l.grad), 'x_grad': enc(xr_l.grad)}
    return r


os.makedirs(OUT, exist_ok=True)
write('creation', creation())
write('tensor', tensor_ops())
write('functional', functional())
write('autograd', autograd())

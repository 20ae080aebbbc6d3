#!/usr/bin/python3
"""Reference values for the evaluation metrics (src/eval/), written to
test/fixtures/eval/metrics.json.

Run with Debian's Python PyTorch (same libtorch 1.13.1 as the addon):
    /usr/bin/python3 scripts/reference/metrics.py

Independent routes to each number:
- grading: sklearn's cohen_kappa_score algorithm (weights='quadratic', labels=0..4) in numpy;
- feature statistics: numpy.mean / numpy.cov(rowvar=False) in float64;
- Frechet distance: mpmath at 60 significant digits (sqrtm of S1 S2, and the symmetric
  eigen route), with covariances of samples taken exactly from the samples, so the float64
  result in TypeScript is checked against a value exact to ~1e-50; plus a naive float64
  route (eigenvalues of the non-symmetric S1 S2 of numpy.cov matrices)
  and, where scipy is installed, pytorch-fid's scipy.linalg.sqrtm formula, to show how those
  behave on ill-conditioned input;
- KID: torch-fidelity's unbiased MMD^2 in numpy float64;
- SWD: progressive GAN's algorithm with numpy mirror-padded filtering (scipy.ndimage's
  'mirror' mode is numpy's 'reflect' pad), drawing patch positions and directions from
  libtorch's generator in the same order as src/eval/swd.ts, so the values must agree.
"""
import base64
import json
import os

import mpmath
import numpy as np
import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'eval', 'metrics.json')
mpmath.mp.dps = 60


def b64(a, dtype):
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode('ascii')


# ---------------------------------------------------------------- grading
def qwk_sklearn(y1, y2, k=5):
    confusion = np.zeros((k, k))
    for a, b in zip(y1, y2):
        confusion[a, b] += 1
    sum0 = confusion.sum(axis=0)
    sum1 = confusion.sum(axis=1)
    expected = np.outer(sum0, sum1) / sum0.sum()
    w = np.zeros((k, k), dtype=int) + np.arange(k)
    w = (w - w.T) ** 2
    return float(1 - np.sum(w * confusion) / np.sum(w * expected)), confusion


def grading_case(rng, n, missing=None):
    truth = rng.randint(0, 5, n)
    # a noisy grader: mostly right, off by one or two otherwise
    pred = np.clip(truth + rng.choice([-2, -1, 0, 0, 0, 1, 2], n), 0, 4)
    if missing is not None:
        truth[truth == missing] = (missing + 1) % 5
        pred[pred == missing] = (missing + 1) % 5
    kappa, confusion = qwk_sklearn(truth, pred)
    rows = confusion.sum(axis=1)
    tpr = [float(confusion[c, c] / rows[c]) if rows[c] > 0 else None for c in range(5)]
    return {'truth': truth.tolist(), 'pred': pred.tolist(), 'kappa': kappa, 'accuracy': float(np.mean(truth == pred)),
            'tpr': tpr, 'confusion': confusion.astype(int).tolist()}


# ---------------------------------------------------------------- Frechet
def mp_matrix(a):
    return mpmath.matrix([[mpmath.mpf(float(v)) for v in row] for row in a])


def mp_stats_of_samples(x):
    """Mean and covariance (divisor n - 1) of float64 samples, exactly (60 digits)."""
    n, d = x.shape
    xm = mp_matrix(x)
    mu = [sum(xm[i, j] for i in range(n)) / n for j in range(d)]
    c = mpmath.matrix(d, d)
    for a in range(d):
        for b in range(a, d):
            c[a, b] = c[b, a] = sum((xm[i, a] - mu[a]) * (xm[i, b] - mu[b]) for i in range(n)) / (n - 1)
    return mu, c


def mp_fid(mu1, c1, mu2, c2, general_sqrtm=False):
    """d^2 at 60 digits; tr((S1 S2)^(1/2)) via S1^(1/2) S2 S1^(1/2) or, as a cross-check,
    the general sqrtm of the product."""
    d = c1.rows
    mean_term = sum((a - b) ** 2 for a, b in zip(mu1, mu2))
    tr = sum(c1[i, i] + c2[i, i] for i in range(d))
    if general_sqrtm:
        root = mpmath.sqrtm(c1 * c2)
        ts = mpmath.re(sum(root[i, i] for i in range(d)))
    else:
        e, q = mpmath.eigsy(c1)
        r = q * mpmath.diag([mpmath.sqrt(max(v, 0)) for v in e]) * q.T
        m = r * c2 * r
        ev, _ = mpmath.eigsy((m + m.T) / 2)
        ts = sum(mpmath.sqrt(max(v, 0)) for v in ev)
    return float(mean_term + tr - 2 * ts)


def naive_fid(mu1, s1, mu2, s2):
    """Eigenvalues of the non-symmetric product S1 S2 in float64 (what a plain sqrtm relies on)."""
    ev = torch.linalg.eigvals(torch.from_numpy(s1 @ s2))
    ts = torch.sqrt(ev.to(torch.complex128)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * ts.real), float(abs(ts.imag))


def pytorch_fid_formula(mu1, s1, mu2, s2):
    try:
        from scipy import linalg
    except ImportError:
        return None
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def side(case, key, mu=None, sigma=None, samples=None):
    """One Gaussian of a case: given as mu and sigma, or as samples whose statistics are
    taken exactly (the reference) and in float64 numpy (for the naive routes)."""
    if samples is not None:
        case[key] = {'samples': b64(samples, np.float64), 'n': samples.shape[0]}
        return samples.mean(0), np.cov(samples, rowvar=False), mp_stats_of_samples(samples)
    case[key] = {'mu': b64(mu, np.float64), 'sigma': b64(sigma, np.float64)}
    return mu, sigma, ([mpmath.mpf(float(v)) for v in mu], mp_matrix(sigma))


def fid_case(name, d, a, b, general_sqrtm=False):
    case = {'name': name, 'dim': d}
    mu1, s1, (m1, c1) = side(case, 'a', **a)
    mu2, s2, (m2, c2) = side(case, 'b', **b)
    case['expected'] = mp_fid(m1, c1, m2, c2)
    if general_sqrtm:
        case['expectedGeneralSqrtm'] = mp_fid(m1, c1, m2, c2, general_sqrtm=True)
    naive, imag = naive_fid(mu1, s1, mu2, s2)
    case['naiveProductEig'] = naive if np.isfinite(naive) else None
    case['naiveProductEigImag'] = imag
    pf = pytorch_fid_formula(mu1, s1, mu2, s2)
    if pf is not None:
        case['pytorchFidScipy'] = pf
    return case


def frechet_cases(rng):
    cases = []
    d = 6
    a1 = rng.randn(d, d)
    a2 = rng.randn(d, d)
    s1 = a1 @ a1.T / d + 0.1 * np.eye(d)
    s2 = a2 @ a2.T / d + 0.1 * np.eye(d)
    cases.append(fid_case('well-conditioned 6-d', d, {'mu': rng.randn(d), 'sigma': s1}, {'mu': rng.randn(d), 'sigma': s2},
                          general_sqrtm=True))

    # Ill-conditioned, 32-d: S1 with eigenvalues 1 .. 1e-12, and covariances of 6 samples
    # (rank 5) and of 12 samples (rank 11), as when a grade has fewer images than feature
    # dimensions. The reference takes the sample covariances exactly, so it sees their true
    # rank; float64 covariances carry rounding noise of ~1e-16 in the null space.
    d = 32
    q, _ = np.linalg.qr(rng.randn(d, d))
    s1 = (q * np.logspace(0, -12, d)) @ q.T
    s1 = (s1 + s1.T) / 2
    x = rng.randn(6, d)
    y = rng.randn(12, d) * 0.7 + 0.2
    cases.append(fid_case('spectrum 1..1e-12 vs rank 5', d, {'mu': rng.randn(d) * 0.1, 'sigma': s1}, {'samples': x}))
    cases.append(fid_case('rank 5 vs rank 11', d, {'samples': x}, {'samples': y}))
    cases.append(fid_case('rank 5 vs itself', d, {'samples': x}, {'samples': x}))
    return cases


# ---------------------------------------------------------------- KID
def kid_full_set(fa, fb, degree=3, coef0=1):
    """torch-fidelity's mmd2 (mmd_est='unbiased') on the full, equally sized sets."""
    d = fa.shape[1]
    k = lambda p, q: (p @ q.T / d + coef0) ** degree
    kxx, kyy, kxy = k(fa, fa), k(fb, fb), k(fa, fb)
    m = fa.shape[0]
    return float(((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.sum() / (m * m))


# ---------------------------------------------------------------- SWD
G = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256.0


def mirror_filter(x, f):
    h, w = x.shape[2:]
    p = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode='reflect')
    out = np.zeros_like(x)
    for i in range(5):
        for j in range(5):
            out += f[i, j] * p[:, :, i:i + h, j:j + w]
    return out


def pyr_down(x):
    return mirror_filter(x, G)[:, :, ::2, ::2]


def pyr_up(x):
    n, c, h, w = x.shape
    r = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
    r[:, :, ::2, ::2] = x
    return mirror_filter(r, G * 4.0)


def laplacian_pyramid(x, levels):
    pyr = [x.astype(np.float64)]
    for _ in range(1, levels):
        pyr.append(pyr_down(pyr[-1]))
        pyr[-2] = pyr[-2] - pyr_up(pyr[-1])
    return pyr


def swd_descriptors(images, levels, seed, nhood=7, per_image=128):
    half = nhood // 2
    out = []
    for li, level in enumerate(laplacian_pyramid(images, levels)):
        torch.manual_seed(seed * 1009 + 17 + li)
        n, c, h, w = level.shape
        p = n * per_image
        xs, ys = [], []
        for _ in range(n):
            xs.append(torch.randint(half, w - half, (per_image,)))
            ys.append(torch.randint(half, h - half, (per_image,)))
        xs = torch.cat(xs).numpy()
        ys = torch.cat(ys).numpy()
        desc = np.empty((p, c, nhood, nhood))
        for i in range(p):
            img = i // per_image
            desc[i] = level[img, :, ys[i] - half:ys[i] + half + 1, xs[i] - half:xs[i] + half + 1]
        desc -= desc.mean(axis=(0, 2, 3), keepdims=True)
        desc /= desc.std(axis=(0, 2, 3), keepdims=True)
        out.append(desc.reshape(p, -1))
    return out


def swd_reference(a, b, seed, repeats=4, dirs=128):
    levels = 0
    r = a.shape[2]
    while r >= 16:
        levels += 1
        r //= 2
    da = swd_descriptors(a, levels, seed)
    db = swd_descriptors(b, levels, seed)
    torch.manual_seed(seed * 1009)
    per_level = []
    for xa, xb in zip(da, db):
        results = []
        for _ in range(repeats):
            d = torch.randn(xa.shape[1], dirs).double().numpy()
            d /= np.sqrt(np.sum(np.square(d), axis=0, keepdims=True))
            pa = np.sort(xa @ d, axis=0)
            pb = np.sort(xb @ d, axis=0)
            results.append(np.mean(np.abs(pa - pb)))
        per_level.append(float(np.mean(results)) * 1e3)
    return per_level


def smooth_images(rng, n, size):
    """uint8 images with structure at several scales (blurred noise plus fine noise)."""
    coarse = rng.rand(n, 3, size // 8, size // 8)
    up = np.kron(coarse, np.ones((8, 8)))
    img = 200 * up + 40 * rng.rand(n, 3, size, size)
    return np.clip(img, 0, 255).astype(np.uint8)


def main():
    rng = np.random.RandomState(20240601)
    fixture = {
        'grading': [grading_case(rng, 60), grading_case(rng, 40, missing=3)],
    }

    feats = rng.randn(40, 6) * np.array([1, 2, 0.5, 1, 3, 0.1]) + 1000.0
    feats[:, 1] += feats[:, 0] * 0.8
    fixture['stats'] = {'features': feats.tolist(), 'mu': feats.mean(0).tolist(), 'sigma': np.cov(feats, rowvar=False).tolist()}
    fixture['frechet'] = frechet_cases(rng)

    fa = rng.randn(12, 5)
    fb = rng.randn(12, 5) * 1.2 + 0.3
    fixture['kid'] = {'a': fa.tolist(), 'b': fb.tolist(), 'mmd2': kid_full_set(fa, fb)}

    size = 32
    a = smooth_images(rng, 2, size)
    b = smooth_images(rng, 2, size)
    pyr = laplacian_pyramid(a[:1].astype(np.float32), 2)
    fixture['swd'] = {
        'shape': [2, 3, size, size], 'seed': 7,
        'a': b64(a, np.uint8), 'b': b64(b, np.uint8),
        'pyramidOfFirst': [b64(level, np.float32) for level in pyr],
        'perLevel': swd_reference(a, b, 7),
    }
    with open(OUT, 'w') as f:
        json.dump(fixture, f)
    print('wrote', os.path.relpath(OUT), os.path.getsize(OUT), 'bytes')
    for c in fixture['frechet']:
        print(f"{c['name']}: expected {c['expected']:.15g}, naive {c['naiveProductEig']}, imag {c['naiveProductEigImag']:.3g}",
              f"general sqrtm {c.get('expectedGeneralSqrtm')}")
    print('swd', fixture['swd']['perLevel'], 'kid', fixture['kid']['mmd2'])


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Reference values for the lesion contrast (src/eval/lesion-contrast.ts), written to
test/fixtures/eval/lesion_contrast.json. Run: /usr/bin/python3 scripts/reference/lesion_contrast.py

The route is the prototype's: the green channel minus
F.avg_pool2d(g, 9, stride=1, padding=4, count_include_pad=False) in float64; background = the
mean over FOV pixels (>= 128) in no channel's mask (>= 128); contrast = the mean over a
channel's mask pixels in the FOV minus the background, for channels with at least 3 such pixels;
per set, the mean and sample standard deviation (torch.std, unbiased) over the images that have
the channel. Inputs are seeded and stored beside the results (uint8, base64)."""
import base64
import json
import os

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'eval', 'lesion_contrast.json')
CHANNELS = ['vessel', 'optic_disc', 'MA', 'HE', 'EX', 'SE', 'LM', 'PM']


def b64(t):
    return base64.b64encode(t.contiguous().numpy().astype('uint8').tobytes()).decode('ascii')


def measure(rgb, masks, fov):
    g = rgb[:, :, 1].double()[None, None]
    hp = (g - F.avg_pool2d(g, 9, stride=1, padding=4, count_include_pad=False))[0, 0]
    in_fov = fov >= 128
    any_mask = torch.zeros_like(in_fov)
    for m in masks.values():
        any_mask |= m >= 128
    bg = hp[in_fov & ~any_mask].mean().item()
    out = {}
    for ch, m in masks.items():
        sel = (m >= 128) & in_fov
        if int(sel.sum()) >= 3:
            out[ch] = hp[sel].mean().item() - bg
    return hp, bg, out


def make_image(gen, h, w, channels, tiny=()):
    """A vignetted noisy background, a dark and a bright blob, random masks per channel
    (soft 0..255 for LM/PM), a disc FOV. Channels in `tiny` get exactly 2 mask pixels."""
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing='ij')
    r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    base = 150 - 60 * r2 + 25 * torch.randn(h, w, generator=gen, dtype=torch.float64)
    rgb = torch.stack([base + 40, base, base * 0.4], -1)
    masks = {}
    for ch in channels:
        if ch in ('LM', 'PM'):
            m = (torch.rand(h, w, generator=gen) * 255).round()
        else:
            m = (torch.rand(h, w, generator=gen) < 0.12).double() * 255
        if ch in tiny:
            m = torch.zeros(h, w, dtype=torch.float64)
            m[h // 2, w // 3] = 255
            m[h // 2 + 1, w // 3] = 200
        masks[ch] = m.to(torch.uint8)
        shift = -35 if ch in ('vessel', 'MA', 'HE') else 30
        rgb[:, :, 1] += (m >= 128).double() * shift * torch.rand(1, generator=gen, dtype=torch.float64).item()
    fov = ((r2 <= 0.85).double() * 255).to(torch.uint8)
    return rgb.round().clamp(0, 255).to(torch.uint8), masks, fov


def main():
    gen = torch.Generator().manual_seed(20240611)
    specs = [
        (23, 31, ['vessel', 'optic_disc', 'HE', 'EX', 'LM'], ()),
        (23, 31, ['vessel', 'MA', 'HE', 'SE', 'PM'], ('MA',)),
        (23, 31, ['vessel', 'optic_disc', 'EX'], ()),
        (23, 31, ['vessel', 'HE', 'EX', 'SE'], ()),
    ]
    images = []
    per_channel = {}
    for h, w, chans, tiny in specs:
        rgb, masks, fov = make_image(gen, h, w, chans, tiny)
        hp, bg, contrast = measure(rgb, masks, fov)
        images.append({
            'height': h, 'width': w, 'rgb': b64(rgb), 'fov': b64(fov),
            'masks': {ch: b64(m) for ch, m in masks.items()},
            'high_pass': base64.b64encode(hp.numpy().tobytes()).decode('ascii'),
            'background': bg, 'contrast': contrast,
        })
        for ch, v in contrast.items():
            per_channel.setdefault(ch, []).append(v)
    summary = {}
    for ch in CHANNELS:
        if ch in per_channel:
            v = torch.tensor(per_channel[ch], dtype=torch.float64)
            summary[ch] = {'mean': v.mean().item(), 'std': v.std().item() if len(v) > 1 else 0.0, 'n': len(v)}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump({'torch': torch.__version__, 'images': images, 'summary': summary}, f)
    print(OUT, os.path.getsize(OUT), 'bytes')


if __name__ == '__main__':
    main()

"""One training step of a small conv GAN at 128x128: the Python half of bench/engine/gan.ts.

The architecture is the compact DR-GAN shape (ngf = ndf = 32, batch 4), written
functionally over a flat dict of raw parameters so that the TypeScript side can run the
very same weights:
  G: reflect-pad conv7x7 (8 -> 32) -> 2 conv3x3 s2 (-> 64 -> 128, now 32x32) -> 2 residual
     blocks (conv3x3-IN-ReLU-conv3x3-IN) -> spatial self-attention at 32x32 (1x1 convs to
     Q, K (16 ch) and V (128 ch), softmax(Q K^T) V with scale 1, x + gamma * out) -> 2
     conv-transpose3x3 s2 (-> 64 -> 32) -> reflect-pad conv7x7 (-> 3) + tanh.
     Every conv but the last is followed by InstanceNorm (no affine) + ReLU.
  D: PatchGAN on concat(c, image) (11 ch): conv4x4 s2 (32) LReLU, conv4x4 s2 (64) IN LReLU,
     conv4x4 s2 (128) IN LReLU, conv4x4 s1 (256) IN LReLU, conv4x4 s1 (-> 1 logit map).
  Losses: BCE-with-logits adversarial (D: real/fake, G: non-saturating) + 10 * L1.
  Adam(lr 2e-4, betas (0.5, 0.999)) for G and for D (torch's default single-tensor path).
Attention builds the full 1024 x 1024 map per sample (16 MiB for the batch): small at
32x32, and it is what a Python user would write.

Protocol (stdin/stdout, one JSON line per answer):
  start: writes weights + inputs to DIR (weights.json manifest + weights.bin float32),
         runs two steps from them and prints {"losses": [[lossD, lossG], ...]}, then
         restarts from the same weights.
  "time K": runs K steps, prints {"ms": [...]}.   "quit": exits.
With a fourth argument "init-only" it writes the weights and inputs and exits.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

B, H, W = 4, 128, 128
C_IN, C_OUT, NGF, NDF = 8, 3, 32, 32
LR, BETAS, LAMBDA_L1 = 2e-4, (0.5, 0.999), 10.0


def param_shapes():
    """Name -> shape, in a fixed order shared with the TypeScript side (via the manifest)."""
    s = {}
    def conv(name, cout, cin, k):
        s[name + ".w"] = [cout, cin, k, k]
        s[name + ".b"] = [cout]
    def convT(name, cin, cout, k):
        s[name + ".w"] = [cin, cout, k, k]
        s[name + ".b"] = [cout]
    conv("g.c0", NGF, C_IN, 7)
    conv("g.d1", 2 * NGF, NGF, 3)
    conv("g.d2", 4 * NGF, 2 * NGF, 3)
    for i in range(2):
        conv(f"g.r{i}.c1", 4 * NGF, 4 * NGF, 3)
        conv(f"g.r{i}.c2", 4 * NGF, 4 * NGF, 3)
    conv("g.att.q", 4 * NGF // 8, 4 * NGF, 1)
    conv("g.att.k", 4 * NGF // 8, 4 * NGF, 1)
    conv("g.att.v", 4 * NGF, 4 * NGF, 1)
    s["g.att.gamma"] = [1]
    convT("g.u1", 4 * NGF, 2 * NGF, 3)
    convT("g.u2", 2 * NGF, NGF, 3)
    conv("g.out", C_OUT, NGF, 7)
    conv("d.c1", NDF, C_IN + C_OUT, 4)
    conv("d.c2", 2 * NDF, NDF, 4)
    conv("d.c3", 4 * NDF, 2 * NDF, 4)
    conv("d.c4", 8 * NDF, 4 * NDF, 4)
    conv("d.out", 1, 8 * NDF, 4)
    return s


def init_params(seed):
    g = torch.Generator().manual_seed(seed)
    p = {}
    for name, shape in param_shapes().items():
        if name.endswith(".w"):
            p[name] = torch.randn(shape, generator=g) * 0.02
        elif name == "g.att.gamma":
            # The spec initialises gamma to 0; 0.1 here so that the attention path shows in
            # the first step's losses (the correctness check) and its gradients are non-zero.
            p[name] = torch.full(shape, 0.1)
        else:
            p[name] = torch.randn(shape, generator=g) * 0.01
    c = torch.rand([B, C_IN, H, W], generator=g)
    x = torch.rand([B, C_OUT, H, W], generator=g) * 2 - 1
    return p, c, x


def save(directory, params, c, x):
    os.makedirs(directory, exist_ok=True)
    entries, chunks, offset = [], [], 0
    for name, t in list(params.items()) + [("input.c", c), ("input.x", x)]:
        data = t.contiguous().to(torch.float32).numpy().tobytes()
        entries.append({"name": name, "shape": list(t.shape), "offset": offset})
        chunks.append(data)
        offset += len(data)
    with open(os.path.join(directory, "weights.bin"), "wb") as f:
        f.write(b"".join(chunks))
    with open(os.path.join(directory, "weights.json"), "w") as f:
        json.dump({"tensors": entries}, f)


def norm_relu(h):
    return F.relu(F.instance_norm(h))


def generator(p, c):
    h = norm_relu(F.conv2d(F.pad(c, (3, 3, 3, 3), mode="reflect"), p["g.c0.w"], p["g.c0.b"]))
    h = norm_relu(F.conv2d(h, p["g.d1.w"], p["g.d1.b"], stride=2, padding=1))
    h = norm_relu(F.conv2d(h, p["g.d2.w"], p["g.d2.b"], stride=2, padding=1))
    for i in range(2):
        r = norm_relu(F.conv2d(h, p[f"g.r{i}.c1.w"], p[f"g.r{i}.c1.b"], padding=1))
        r = F.instance_norm(F.conv2d(r, p[f"g.r{i}.c2.w"], p[f"g.r{i}.c2.b"], padding=1))
        h = h + r
    b, ch, hh, ww = h.shape
    q = F.conv2d(h, p["g.att.q.w"], p["g.att.q.b"]).flatten(2).transpose(1, 2)
    k = F.conv2d(h, p["g.att.k.w"], p["g.att.k.b"]).flatten(2).transpose(1, 2)
    v = F.conv2d(h, p["g.att.v.w"], p["g.att.v.b"]).flatten(2).transpose(1, 2)
    att = torch.softmax(torch.bmm(q, k.transpose(1, 2)), dim=-1)  # full [B, N, N] map, scale 1
    o = torch.bmm(att, v).transpose(1, 2).reshape(b, ch, hh, ww)
    h = h + p["g.att.gamma"] * o
    h = norm_relu(F.conv_transpose2d(h, p["g.u1.w"], p["g.u1.b"], stride=2, padding=1, output_padding=1))
    h = norm_relu(F.conv_transpose2d(h, p["g.u2.w"], p["g.u2.b"], stride=2, padding=1, output_padding=1))
    return torch.tanh(F.conv2d(F.pad(h, (3, 3, 3, 3), mode="reflect"), p["g.out.w"], p["g.out.b"]))


def discriminator(p, inp):
    h = F.leaky_relu(F.conv2d(inp, p["d.c1.w"], p["d.c1.b"], stride=2, padding=1), 0.2)
    h = F.leaky_relu(F.instance_norm(F.conv2d(h, p["d.c2.w"], p["d.c2.b"], stride=2, padding=1)), 0.2)
    h = F.leaky_relu(F.instance_norm(F.conv2d(h, p["d.c3.w"], p["d.c3.b"], stride=2, padding=1)), 0.2)
    h = F.leaky_relu(F.instance_norm(F.conv2d(h, p["d.c4.w"], p["d.c4.b"], padding=1)), 0.2)
    return F.conv2d(h, p["d.out.w"], p["d.out.b"], padding=1)


class Trainer:
    def __init__(self, params, c, x):
        self.p = {k: v.clone().requires_grad_(True) for k, v in params.items()}
        self.g_params = [v for k, v in self.p.items() if k.startswith("g.")]
        self.d_params = [v for k, v in self.p.items() if k.startswith("d.")]
        self.opt_g = torch.optim.Adam(self.g_params, lr=LR, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.d_params, lr=LR, betas=BETAS)
        self.c, self.x = c, x

    def step(self):
        p, c, x = self.p, self.c, self.x
        fake = generator(p, c)
        pred_fake = discriminator(p, torch.cat([c, fake.detach()], 1))
        pred_real = discriminator(p, torch.cat([c, x], 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
                        + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real)))
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        for t in self.d_params:  # G's backward needs no D weight gradients (pix2pix does the same)
            t.requires_grad_(False)
        pred = discriminator(p, torch.cat([c, fake], 1))
        loss_g = F.binary_cross_entropy_with_logits(pred, torch.ones_like(pred)) + LAMBDA_L1 * F.l1_loss(fake, x)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        for t in self.d_params:
            t.requires_grad_(True)
        return loss_d.item(), loss_g.item()


def main():
    directory = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1234
    torch.set_num_threads(threads)
    params, c, x = init_params(seed)
    save(directory, params, c, x)
    if len(sys.argv) > 4 and sys.argv[4] == "init-only":  # weights for the tfjs comparison
        return
    check = Trainer(params, c, x)
    losses = [check.step() for _ in range(2)]
    del check
    print(json.dumps({"losses": losses, "threads": torch.get_num_threads(), "torch": torch.__version__}), flush=True)
    trainer = Trainer(params, c, x)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "time":
            ms = []
            for _ in range(int(cmd[1])):
                t0 = time.perf_counter()
                trainer.step()
                ms.append((time.perf_counter() - t0) * 1e3)
            print(json.dumps({"ms": ms}), flush=True)


if __name__ == "__main__":
    main()

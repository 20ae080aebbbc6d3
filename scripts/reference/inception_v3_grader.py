"""Reference values for src/models/inception-v3.ts (run with /usr/bin/python3, which has torch).

  /usr/bin/python3 scripts/reference/inception_v3_grader.py

torchvision is not installed in Debian's python3-torch, so Inception3 is written out below by
hand, module for module as in torchvision 0.14's inception.py (the release that matches
libtorch 1.13): same classes, attribute names and registration order (AuxLogits between
Mixed_6e and Mixed_7a), hence the same state dict keys and shapes. `divisor` narrows every
branch to max(1, c // divisor) channels (not a torchvision option: the grader's
widthDivisor) for the forward fixture only. transform_input=True, aux_logits=True, as
torchvision's inception_v3(weights=...) builds it.

Writes test/fixtures/models/:
  inception-v3-keys.json          state dict (key, shape) lists of full-size Inception3 with
                                  num_classes 5 (a grader) and 1000 (torchvision's ImageNet
                                  file inception_v3_google-0cc3c7bd.pth)
  inception-v3-d32.safetensors    Inception3 with widths / 32 and 5 classes: random weights
                                  (random BN statistics too) under their names, and outputs
                                  "out.*", "after.*" (BN running statistics after one
                                  train-mode forward);
                                  metadata "reference" = the seeds and sizes below

Inputs are not stored (a 4 x 3 x 299 x 299 float32 input is 4 MB): each is torch.randn of
the recorded shape right after torch.manual_seed(seed), which the TypeScript test repeats on
the same libtorch generator. Dropout's mask in the train-mode pass is drawn after
torch.manual_seed(dropout_seed), also repeated there.
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'models')
DIVISOR = 32
WEIGHT_SEED = 2016
# Train and eval mode at 299 (the aux head needs a 17 x 17 Mixed_6e map), eval at 75 (the
# smallest input torchvision's Inception3 accepts).
X299_SEED, X299_SHAPE = 31, [4, 3, 299, 299]
X75_SEED, X75_SHAPE = 75, [3, 3, 75, 80]
DROPOUT_SEED = 5


def load_writer():
    import importlib.util
    spec = importlib.util.spec_from_file_location('ref_io', os.path.join(os.path.dirname(__file__), 'io.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_safetensors


class BasicConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionA(nn.Module):
    def __init__(self, in_channels, pool_features, w):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, w(48), kernel_size=1)
        self.branch5x5_2 = BasicConv2d(w(48), w(64), kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, w(pool_features), kernel_size=1)
        self.out_channels = 2 * w(64) + w(96) + w(pool_features)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels, w):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, w(384), kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(64), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(64), w(96), kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(w(96), w(96), kernel_size=3, stride=2)
        self.out_channels = w(384) + w(96) + in_channels

    def forward(self, x):
        branch3x3 = self.branch3x3(x)
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels, channels_7x7, w):
        super().__init__()
        c7 = w(channels_7x7)
        self.branch1x1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.out_channels = 4 * w(192)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels, w):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch3x3_2 = BasicConv2d(w(192), w(320), kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(w(192), w(192), kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(w(192), w(192), kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(w(192), w(192), kernel_size=3, stride=2)
        self.out_channels = w(320) + w(192) + in_channels

    def forward(self, x):
        branch3x3 = self.branch3x3_2(self.branch3x3_1(x))
        branch7x7x3 = self.branch7x7x3_1(x)
        branch7x7x3 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(branch7x7x3)))
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([branch3x3, branch7x7x3, branch_pool], 1)


class InceptionE(nn.Module):
    def __init__(self, in_channels, w):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, w(320), kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, w(384), kernel_size=1)
        self.branch3x3_2a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, w(448), kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(w(448), w(384), kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(w(384), w(384), kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(w(384), w(384), kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, w(192), kernel_size=1)
        self.out_channels = w(320) + 4 * w(384) + w(192)

    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class InceptionAux(nn.Module):
    def __init__(self, in_channels, num_classes, w):
        super().__init__()
        self.conv0 = BasicConv2d(in_channels, w(128), kernel_size=1)
        self.conv1 = BasicConv2d(w(128), w(768), kernel_size=5)
        self.fc = nn.Linear(w(768), num_classes)

    def forward(self, x):
        x = F.avg_pool2d(x, kernel_size=5, stride=3)  # 17 x 17 -> 5 x 5
        x = self.conv1(self.conv0(x))  # -> 1 x 1
        x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.fc(x)


class Inception3(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, transform_input=True, dropout=0.5, divisor=1):
        super().__init__()
        w = lambda c: max(1, c // divisor)  # noqa: E731
        self.aux_logits = aux_logits
        self.transform_input = transform_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, w(32), kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(w(32), w(32), kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(w(32), w(64), kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(w(64), w(80), kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(w(80), w(192), kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(w(192), 32, w)
        self.Mixed_5c = InceptionA(self.Mixed_5b.out_channels, 64, w)
        self.Mixed_5d = InceptionA(self.Mixed_5c.out_channels, 64, w)
        self.Mixed_6a = InceptionB(self.Mixed_5d.out_channels, w)
        self.Mixed_6b = InceptionC(self.Mixed_6a.out_channels, 128, w)
        self.Mixed_6c = InceptionC(self.Mixed_6b.out_channels, 160, w)
        self.Mixed_6d = InceptionC(self.Mixed_6c.out_channels, 160, w)
        self.Mixed_6e = InceptionC(self.Mixed_6d.out_channels, 192, w)
        self.AuxLogits = InceptionAux(self.Mixed_6e.out_channels, num_classes, w) if aux_logits else None
        self.Mixed_7a = InceptionD(self.Mixed_6e.out_channels, w)
        self.Mixed_7b = InceptionE(self.Mixed_7a.out_channels, w)
        self.Mixed_7c = InceptionE(self.Mixed_7b.out_channels, w)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(self.Mixed_7c.out_channels, num_classes)

    def _transform_input(self, x):
        if self.transform_input:
            x_ch0 = torch.unsqueeze(x[:, 0], 1) * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
            x_ch1 = torch.unsqueeze(x[:, 1], 1) * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
            x_ch2 = torch.unsqueeze(x[:, 2], 1) * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
            x = torch.cat((x_ch0, x_ch1, x_ch2), 1)
        return x

    def _forward(self, x):
        x = self._transform_input(x)
        x = self.Conv2d_1a_3x3(x)
        x = self.Conv2d_2a_3x3(x)
        x = self.Conv2d_2b_3x3(x)
        x = self.maxpool1(x)
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)
        x = self.maxpool2(x)
        x = self.Mixed_5b(x)
        x = self.Mixed_5c(x)
        x = self.Mixed_5d(x)
        x = self.Mixed_6a(x)
        x = self.Mixed_6b(x)
        x = self.Mixed_6c(x)
        x = self.Mixed_6d(x)
        x = self.Mixed_6e(x)
        aux = None
        if self.AuxLogits is not None and self.training:
            aux = self.AuxLogits(x)
        x = self.Mixed_7a(x)
        x = self.Mixed_7b(x)
        x = self.Mixed_7c(x)
        x = self.avgpool(x)
        pooled = torch.flatten(x, 1)
        x = self.dropout(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x, aux, pooled

    def forward(self, x):
        # torchvision returns InceptionOutputs(logits, aux_logits) in training, logits in eval
        logits, aux, _ = self._forward(x)
        return (logits, aux) if self.training and self.aux_logits else logits


def key_list(m):
    return [[k, list(v.shape)] for k, v in m.state_dict().items()]


def randomise(m, g):
    """Weights that keep activations O(1) through 94 conv layers; BN statistics off their defaults."""
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if name.endswith('num_batches_tracked'):
                continue
            if name.endswith('running_var') or name.endswith('bn.weight'):
                t.copy_(torch.rand(t.shape, generator=g) * 0.5 + 0.75)
            elif name.endswith('running_mean') or name.endswith('bn.bias') or name.endswith('fc.bias'):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
            elif name.endswith('conv.weight'):
                t.copy_(torch.randn(t.shape, generator=g) * (2.0 / t[0].numel()) ** 0.5)
            elif name.endswith('fc.weight'):
                t.copy_(torch.randn(t.shape, generator=g) / t.shape[1] ** 0.5)
            else:
                raise ValueError('unexpected key ' + name)


def seeded_input(seed, shape):
    torch.manual_seed(seed)
    return torch.randn(shape)


def main():
    os.makedirs(OUT, exist_ok=True)
    write = load_writer()
    keys = {'inception_v3': key_list(Inception3(5)), 'inception_v3_imagenet': key_list(Inception3(1000))}
    with open(os.path.join(OUT, 'inception-v3-keys.json'), 'w') as f:
        json.dump(keys, f, separators=(',', ':'))

    model = Inception3(5, divisor=DIVISOR)
    randomise(model, torch.Generator().manual_seed(WEIGHT_SEED))
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    x299 = seeded_input(X299_SEED, X299_SHAPE)
    x75 = seeded_input(X75_SEED, X75_SHAPE)
    model.train()
    torch.manual_seed(DROPOUT_SEED)
    with torch.no_grad():
        train_logits, train_aux, _ = model._forward(x299)
    # Running statistics after the pass (num_batches_tracked, 1 everywhere, for one layer only:
    # the fixture must stay under 200 KB).
    for k, v in model.state_dict().items():
        if k.endswith('running_mean') or k.endswith('running_var') or k == 'Conv2d_1a_3x3.bn.num_batches_tracked':
            tensors['after.' + k] = v.clone()
    model.eval()
    with torch.no_grad():
        eval_logits, eval_aux, eval_features = model._forward(x299)
        assert eval_aux is None
        eval75_logits, _, eval75_features = model._forward(x75)
    tensors.update({
        'out.train_logits': train_logits, 'out.train_aux': train_aux,
        'out.eval_logits': eval_logits, 'out.eval_features': eval_features,
        'out.eval75_logits': eval75_logits, 'out.eval75_features': eval75_features,
    })
    meta = {'reference': json.dumps({
        'divisor': DIVISOR, 'num_classes': 5, 'weight_seed': WEIGHT_SEED, 'dropout_seed': DROPOUT_SEED,
        'x299': {'seed': X299_SEED, 'shape': X299_SHAPE}, 'x75': {'seed': X75_SEED, 'shape': X75_SHAPE},
        'num_parameters': sum(p.numel() for p in model.parameters()),
    })}
    path = os.path.join(OUT, 'inception-v3-d32.safetensors')
    write(path, tensors, meta)
    print(path, os.path.getsize(path), 'bytes')
    for k in ['out.train_logits', 'out.train_aux', 'out.eval_logits', 'out.eval_features', 'out.eval75_logits']:
        t = tensors[k]
        print(k, list(t.shape), 'max |v| %.4g' % t.abs().max().item())
    print('keys (5 classes):', len(keys['inception_v3']), 'parameters at full size:',
          sum(p.numel() for p in Inception3(5).parameters()))


if __name__ == '__main__':
    main()

"""Reference values for test/models (run with /usr/bin/python3, which has torch).

  /usr/bin/python3 scripts/reference/grader_models.py

torchvision is not installed in Debian's python3-torch, so ResNet and VGG are written out
below by hand, module for module as in torchvision 0.14's resnet.py / vgg.py (the release that
matches libtorch 1.13): same classes, same attribute names, same registration order, hence
the same state dict keys and shapes. `width` shrinks them for the forward fixtures only.

Writes test/fixtures/models/:
  keys.json                   state dict (key, shape) lists of full-size resnet18, resnet50,
                              vgg16, vgg16_bn with 5 classes
  resnet18_w2.safetensors     ResNet-18 at base width 2: weights (random BN statistics too),
  resnet50_w2.safetensors     an input, and train- then eval-mode outputs (keys "out.*")
  vgg16_bn_d32.safetensors    VGG-16-BN with channels / 32 and 16 hidden units
"""
import json
import os
import sys

import torch
import torch.nn as nn


OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'models')


def load_writer():
    import importlib.util
    spec = importlib.util.spec_from_file_location('ref_io', os.path.join(os.path.dirname(__file__), 'io.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.write_safetensors


def conv3x3(i, o, stride=1):
    return nn.Conv2d(i, o, 3, stride, 1, bias=False)


def conv1x1(i, o, stride=1):
    return nn.Conv2d(i, o, 1, stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if self.downsample is not None else x
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000, width=64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], 2)
        self.layer3 = self._make_layer(block, width * 4, layers[2], 2)
        self.layer4 = self._make_layer(block, width * 8, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes))
        return nn.Sequential(*layers)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x):
        return self.fc(self.features(x))


CFG_D = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']


class VGG(nn.Module):
    def __init__(self, num_classes=1000, batch_norm=False, divisor=1, hidden=4096):
        super().__init__()
        layers = []
        cin = 3
        for v in CFG_D:
            if v == 'M':
                layers.append(nn.MaxPool2d(2, 2))
                continue
            cout = max(1, v // divisor)
            layers.append(nn.Conv2d(cin, cout, 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.ReLU(inplace=True))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(cin * 7 * 7, hidden), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(hidden, hidden), nn.ReLU(True), nn.Dropout(0.5),
            nn.Linear(hidden, num_classes))

    def feats(self, x):
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.classifier[:6](x)

    def forward(self, x):
        return self.classifier[6](self.feats(x))


def key_list(m):
    return [[k, list(v.shape)] for k, v in m.state_dict().items()]


def randomise(m, g):
    with torch.no_grad():
        for name, t in m.state_dict().items():
            if t.dtype != torch.float32:
                continue
            if name.endswith('running_var'):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith('.weight') and t.dim() == 1:  # BN scale
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            else:
                fan = t[0].numel() if t.dim() > 1 else 1
                t.copy_(torch.randn(t.shape, generator=g) / (fan ** 0.5))


def forward_fixture(name, model, feats, size, g, write):
    randomise(model, g)
    x = torch.randn(2, 3, size, size, generator=g)
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    with torch.no_grad():
        train_logits = model(x)
    model.eval()
    with torch.no_grad():
        eval_feats = feats(x)
        eval_logits = model(x)
    for k, v in model.state_dict().items():
        if k.endswith('running_mean') or k.endswith('running_var') or k.endswith('num_batches_tracked'):
            tensors['after.' + k] = v.clone()
    tensors.update({'in.x': x, 'out.train_logits': train_logits, 'out.eval_features': eval_feats, 'out.eval_logits': eval_logits})
    path = os.path.join(OUT, name)
    write(path, tensors)
    print(path, os.path.getsize(path), 'bytes')


def main():
    os.makedirs(OUT, exist_ok=True)
    write = load_writer()
    keys = {
        'resnet18': key_list(ResNet(BasicBlock, [2, 2, 2, 2], 5)),
        'resnet50': key_list(ResNet(Bottleneck, [3, 4, 6, 3], 5)),
        'vgg16': key_list(VGG(5)),
        'vgg16_bn': key_list(VGG(5, batch_norm=True)),
    }
    with open(os.path.join(OUT, 'keys.json'), 'w') as f:
        json.dump(keys, f, separators=(',', ':'))
    g = torch.Generator().manual_seed(1234)
    r18 = ResNet(BasicBlock, [2, 2, 2, 2], 5, width=2)
    forward_fixture('resnet18_w2.safetensors', r18, r18.features, 32, g, write)
    r50 = ResNet(Bottleneck, [3, 4, 6, 3], 5, width=2)
    forward_fixture('resnet50_w2.safetensors', r50, r50.features, 32, g, write)
    v = VGG(5, batch_norm=True, divisor=32, hidden=16)
    forward_fixture('vgg16_bn_d32.safetensors', v, v.feats, 32, g, write)


if __name__ == '__main__':
    main()

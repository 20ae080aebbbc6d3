"""Reference weight files for test/torch/io (run with /usr/bin/python3, which has torch).

  /usr/bin/python3 scripts/reference/io.py generate       writes test/fixtures/io/*
  /usr/bin/python3 scripts/reference/io.py verify-pth F   torch.load(F) and print it as JSON
  /usr/bin/python3 scripts/reference/io.py verify-st F    read a .safetensors file, print it as JSON

The Python `safetensors` package is not in Debian, so `write_safetensors` below writes the
format by hand, following the reference crate's writer (safetensors/src/tensor.rs
`prepare`): tensors sorted by descending Dtype enum order then by name (bytewise), header
as compact serde_json with "__metadata__" first, padded with spaces to 8 bytes.
"""
import json
import os
import pickle
import struct
import sys
import zipfile

import torch

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'io')

ST_CODE = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16',
           torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
           torch.uint8: 'U8', torch.bool: 'BOOL'}
ST_DTYPE = {v: k for k, v in ST_CODE.items()}
# Position in the crate's `enum Dtype` (BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16,
# I32, U32, F32, F64, I64, U64); derived Ord follows declaration order.
RANK = {'BOOL': 0, 'U8': 1, 'I8': 2, 'I16': 5, 'F16': 7, 'BF16': 8, 'I32': 9, 'F32': 11, 'F64': 13, 'I64': 14}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None):
    order = sorted(tensors.items(), key=lambda kv: (-RANK[ST_CODE[kv[1].dtype]], kv[0].encode('utf-8')))
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    offset = 0
    blobs = []
    for name, t in order:
        b = tensor_bytes(t)
        header[name] = {'dtype': ST_CODE[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', None)
    base = 8 + n
    out = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        b, e = info['data_offsets']
        assert b == end, f'{name}: gap or overlap'
        end = e
        dtype = ST_DTYPE[info['dtype']]
        raw = bytearray(data[base + b:base + e])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info['shape'])
    assert base + end == len(data), 'trailing bytes'
    return out, meta


def as_json(t):
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape),
            'values': t.detach().double().flatten().tolist() if t.dtype != torch.bool else t.flatten().int().tolist()}


def values_fixture():
    """Tensors of every dtype with values that test exactness (fractions, extremes, negatives)."""
    g = torch.Generator().manual_seed(7)
    return {
        'conv.weight': torch.randn(2, 3, 2, 2, generator=g),
        'conv.bias': torch.tensor([0.5, -1.25]),
        'bn.running_mean': torch.randn(3, generator=g, dtype=torch.float64),
        'bn.num_batches_tracked': torch.tensor(123456789012, dtype=torch.int64),
        'half': torch.tensor([1.0, -2.5, 65504.0, 6.1e-5], dtype=torch.float16),
        'bf16': torch.tensor([1.0, -3.0, 0.15625], dtype=torch.bfloat16),
        'i32': torch.tensor([-2147483648, 2147483647, 0], dtype=torch.int32),
        'i16': torch.tensor([[-32768, 7], [1, 32767]], dtype=torch.int16),
        'i8': torch.tensor([-128, 127], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 3], dtype=torch.uint8),
        'mask': torch.tensor([True, False, True]),
        'empty': torch.zeros(0, 4),
        'scalar': torch.tensor(3.75, dtype=torch.float64),
    }


def plain(v):
    """The JSON the TS test builds from an unpickled value (big ints as "<n>n" strings)."""
    if isinstance(v, bool) or v is None or isinstance(v, (float, str)):
        return v
    if isinstance(v, int):
        return v if abs(v) <= 2 ** 53 - 1 else f'{v}n'
    if isinstance(v, bytes):
        return {'bytes': list(v)}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    raise TypeError(type(v))


class Evil:
    def __reduce__(self):
        return (os.system, ('echo this must never run',))


def generate():
    os.makedirs(OUT, exist_ok=True)
    vals = values_fixture()
    write_safetensors(os.path.join(OUT, 'values.safetensors'), vals, {'format': 'pt'})
    write_safetensors(os.path.join(OUT, 'nometa.safetensors'), {'b': vals['conv.bias'], 'a': vals['i8']})

    # A small model's state dict plus saved views: non-contiguous (transpose), offset
    # (a slice into a larger storage) and two tensors sharing one storage.
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(5, 2))
    sd = model.state_dict()
    big = torch.arange(40, dtype=torch.float32).reshape(5, 8)
    sd['view.transposed'] = big.t()
    sd['view.offset'] = big[2:4, 1:6]
    sd['view.shared_a'] = big[1]
    sd['view.shared_b'] = big[:, 3]
    sd['extra.f64'] = torch.linspace(-1, 1, 5, dtype=torch.float64)
    sd['extra.i64'] = torch.tensor([-(2 ** 40), 0, 2 ** 40 + 1], dtype=torch.int64)
    sd['extra.f16'] = torch.tensor([[0.1, 0.2], [-0.3, 1000.0]], dtype=torch.float16).t()
    sd['extra.bool'] = torch.tensor([True, False])
    sd['extra.scalar'] = torch.tensor(2.5)
    torch.save(sd, os.path.join(OUT, 'model_zip.pth'))
    torch.save(sd, os.path.join(OUT, 'model_legacy.pth'), _use_new_zipfile_serialization=False)
    # The same checkpoint with deflated entries (torch.load reads those too).
    deflated = os.path.join(OUT, 'model_deflated.pth')
    with zipfile.ZipFile(os.path.join(OUT, 'model_zip.pth')) as zin, zipfile.ZipFile(deflated, 'w', zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    assert all(torch.equal(a, b) for a, b in zip(torch.load(deflated).values(), sd.values()))
    torch.save({'model': {'w': big[0], 'inner': {'b': torch.tensor([1, 2])}}, 'epoch': 3, 'name': 'run1'},
               os.path.join(OUT, 'nested.pth'))
    torch.save({'w': torch.ones(2), 'payload': Evil()}, os.path.join(OUT, 'evil_zip.pth'))
    torch.save({'w': torch.ones(2), 'payload': Evil()}, os.path.join(OUT, 'evil_legacy.pth'), _use_new_zipfile_serialization=False)

    # Plain-data pickles at each protocol torch.save may use, for the unpickler's opcodes.
    data = {'ints': [0, 1, -1, 255, 256, 65535, 65536, -2 ** 31, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 63, -2 ** 70],
            'floats': [0.5, -1e300, 1.0], 'str': 'h\u00e9llo \u4e16', 'long_str': 'x' * 300, 'bytes': b'\x00\xff',
            'none': None, 'bools': [True, False], 'tuple': (1, (2, 3), ()), 'nested': {'k': [[], {}]},
            'shared': [[7]] * 2, 7: 'int key'}
    pickles = {str(p): pickle.dumps(data, protocol=p).hex() for p in (2, 3, 4, 5)}
    with open(os.path.join(OUT, 'pickles.json'), 'w') as f:
        json.dump({'pickles': pickles, 'expected': plain(data)}, f)

    expected = {'values': {k: as_json(v) for k, v in vals.items()},
                'model': {k: as_json(v) for k, v in sd.items()},
                'model_keys': list(sd.keys())}
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=0)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else 'generate'
    if cmd == 'generate':
        generate()
    elif cmd == 'verify-pth':
        sd = torch.load(sys.argv[2])
        print(json.dumps({k: as_json(v) for k, v in sd.items()}))
    elif cmd == 'verify-st':
        tensors, meta = read_safetensors(sys.argv[2])
        print(json.dumps({'metadata': meta, 'tensors': {k: as_json(v) for k, v in tensors.items()}}))
    else:
        sys.exit(f'unknown command {cmd}')


if __name__ == '__main__':
    main()

// The `--device` flag shared by the commands that run networks (training, synthesis,
// evaluation): checked where it enters, so a typo or a missing GPU is a usage error that
// names the flag, not a libtorch message from deep inside the first forward pass.
import * as torch from '../torch/index.js';
import { UsageError, type FlagSpec } from './flags.js';

export const DEVICE_FLAG: FlagSpec = { kind: 'string', default: 'cpu', help: 'where the networks run: cpu, cuda or cuda:N (needs a CUDA build of libtorch: DRGAN_TORCH_DIR)' };

/** 'cpu' | 'cuda' | 'cuda:N', checked against the CUDA devices this libtorch sees. */
export function resolveDevice(value: unknown, command: string): torch.Device {
  const v = String(value ?? 'cpu').trim().toLowerCase();
  if (v === 'cpu') return 'cpu';
  const m = /^cuda(?::(\d+))?$/.exec(v);
  if (!m) throw new UsageError(`${command}: --device ${JSON.stringify(value)}: expected cpu, cuda or cuda:N`);
  if (!torch.cuda.isAvailable()) {
    throw new UsageError(`${command}: --device ${v}: this libtorch sees no CUDA device (a CPU-only libtorch, or no GPU visible; a CUDA libtorch is used by building the addon with DRGAN_TORCH_DIR=/path/to/libtorch)`);
  }
  const index = m[1] === undefined ? 0 : Number(m[1]);
  const count = torch.cuda.deviceCount();
  if (index >= count) throw new UsageError(`${command}: --device ${v}: only ${count} CUDA device(s) visible (cuda:0..cuda:${count - 1})`);
  return `cuda:${index}`;
}

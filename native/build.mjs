// Builds the libtorch Node-API addon with g++ directly: no node-gyp, so nothing is
// downloaded (Node-API headers come from the npm package node-api-headers).
//
// DRGAN_TORCH_DIR=/opt/libtorch   build against another libtorch (include/ and lib/ inside;
//                                 CUDA libraries are linked when present)
// DRGAN_TORCH_CXX11_ABI=0         for a libtorch built with the pre-C++11 string ABI
// DRGAN_NATIVE_DEBUG=1            -O0 -g
// DRGAN_CXX_STD=c++20             the language standard (default: c++17, or c++20 for libtorch >= 2.14,
//                                 whose headers refuse anything older)
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native', 'src');
const outDir = join(root, 'build', 'Release');
const objDir = join(root, 'build', 'obj');
const target = join(outDir, 'drgan_torch.node');

function torchLayout() {
  const dir = process.env.DRGAN_TORCH_DIR;
  if (dir) {
    const inc = join(dir, 'include');
    const lib = join(dir, 'lib');
    if (!existsSync(join(inc, 'ATen', 'ATen.h'))) {
      throw new Error(`DRGAN_TORCH_DIR=${dir}: ${join(inc, 'ATen', 'ATen.h')} not found (expected a libtorch folder with include/ and lib/)`);
    }
    const libs = ['torch', 'torch_cpu', 'c10'];
    for (const extra of ['torch_cuda', 'c10_cuda']) if (existsSync(join(lib, `lib${extra}.so`))) libs.push(extra);
    return { includes: [inc, join(inc, 'torch', 'csrc', 'api', 'include')], libDirs: [lib], libs, rpath: [lib] };
  }
  const inc = '/usr/include';
  if (!existsSync(join(inc, 'ATen', 'ATen.h'))) {
    throw new Error('libtorch headers not found in /usr/include: install Debian\'s libtorch-dev (bash scripts/setup.sh does) or set DRGAN_TORCH_DIR');
  }
  return { includes: [join(inc, 'torch', 'csrc', 'api', 'include')], libDirs: [], libs: ['torch', 'torch_cpu', 'c10'], rpath: [] };
}

const torch = torchLayout();

/** libtorch's version from its header (torch/version.h), or null when the header is absent (1.x). */
function torchVersion(includes) {
  for (const inc of includes) {
    const p = join(inc, 'torch', 'version.h');
    if (!existsSync(p)) continue;
    const text = readFileSync(p, 'utf8');
    const major = /TORCH_VERSION_MAJOR\s+(\d+)/.exec(text), minor = /TORCH_VERSION_MINOR\s+(\d+)/.exec(text);
    if (major && minor) return [Number(major[1]), Number(minor[1])];
  }
  return null;
}
const version = torchVersion(torch.includes.concat(['/usr/include/torch/csrc/api/include']));
const cxxStd = process.env.DRGAN_CXX_STD ?? (version && (version[0] > 2 || (version[0] === 2 && version[1] >= 14)) ? 'c++20' : 'c++17');
const napiInclude = require('node-api-headers').include_dir;
const addonInclude = dirname(require.resolve('node-addon-api/package.json'));
const debug = process.env.DRGAN_NATIVE_DEBUG === '1';
const cflags = [
  `-std=${cxxStd}`, '-fPIC', '-fexceptions', '-frtti', '-Wall', '-Wno-unused-parameter', '-Wno-unused-variable',
  debug ? '-O0' : '-O2', '-g1',
  '-DNAPI_EXPERIMENTAL', '-DNAPI_VERSION=2147483647', // register as experimental so basic finalizers run inside GC, not only when the event loop turns
  '-DNAPI_CPP_EXCEPTIONS', '-DNODE_ADDON_API_DISABLE_DEPRECATED',
  `-D_GLIBCXX_USE_CXX11_ABI=${process.env.DRGAN_TORCH_CXX11_ABI ?? '1'}`,
  `-I${napiInclude}`, `-I${addonInclude}`,
  ...torch.includes.map((i) => `-I${i}`),
];
const ldflags = [
  '-shared', '-Wl,--no-as-needed', // keep torch_cuda linked: nothing references it, but loading it registers the CUDA kernels
  ...torch.libDirs.map((d) => `-L${d}`),
  ...torch.rpath.map((d) => `-Wl,-rpath,${d}`),
  ...torch.libs.map((l) => `-l${l}`),
];

function mtime(p) { return existsSync(p) ? statSync(p).mtimeMs : 0; }

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}`))));
    child.on('error', reject);
  });
}

mkdirSync(outDir, { recursive: true });
mkdirSync(objDir, { recursive: true });
const sources = readdirSync(srcDir).filter((f) => f.endsWith('.cc')).sort();
const headers = readdirSync(srcDir).filter((f) => f.endsWith('.h'));
const newestHeader = Math.max(0, ...headers.map((h) => mtime(join(srcDir, h))));
const stampPath = join(objDir, 'flags.txt');
const stamp = JSON.stringify({ cflags, ldflags });
const flagsChanged = !existsSync(stampPath) || readFileSync(stampPath, 'utf8') !== stamp;

const stale = sources.filter((s) => {
  const obj = join(objDir, s.replace(/\.cc$/, '.o'));
  return flagsChanged || mtime(obj) < Math.max(mtime(join(srcDir, s)), newestHeader);
});
const objects = sources.map((s) => join(objDir, s.replace(/\.cc$/, '.o')));
if (stale.length === 0 && existsSync(target) && Math.min(...objects.map(mtime)) <= mtime(target)) {
  console.log('native: up to date');
  process.exit(0);
}
const t0 = Date.now();
console.log(`native: compiling ${stale.length} file(s) against ${process.env.DRGAN_TORCH_DIR ?? 'Debian libtorch'}${version ? ` ${version.join('.')}` : ''} (-std=${cxxStd})`);
const pool = Math.max(1, Math.min(cpus().length, 8));
const queue = [...stale];
await Promise.all(Array.from({ length: pool }, async () => {
  while (queue.length) {
    const s = queue.shift();
    await run('g++', [...cflags, '-c', join(srcDir, s), '-o', join(objDir, s.replace(/\.cc$/, '.o'))]);
  }
}));
const tmp = `${target}.tmp`;
await run('g++', [...objects, '-o', tmp, ...ldflags]);
renameSync(tmp, target); // atomic: a failed link never leaves a broken addon behind
writeFileSync(stampPath, stamp);
console.log(`native: built ${target} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

// Weight files: safetensors (read and write) and PyTorch .pth checkpoints (read both
// formats, write the zip format). Reached as `torch.io`.
export {
  loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors, readSafetensorsHeader, parseSafetensorsHeader,
  MAX_HEADER_BYTES, type SafetensorsEntry, type SafetensorsHeader, type TensorDict, type LoadOptions,
} from './safetensors.js';
export { loadPth, parsePth, loadPthObject, parsePthObject, savePth, serializePth, type PthLoadOptions } from './pth.js';
export { PyDict, PyGlobal } from './pickle.js';

// Resident memory of this process from /proc/self/status (Linux), for peak-memory benchmarks
// that run each configuration in its own child process.
import { readFileSync, writeFileSync } from 'node:fs';

/** VmRSS (now) or VmHWM (high-water mark since start or the last resetPeak), in KiB. */
export function statusKiB(field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]);
}

/**
 * Resets VmHWM to the current resident set (writing 5 to clear_refs, Linux >= 4.0), so
 * the next peak is the measured step's and not an earlier one's (model construction).
 * Returns false where the kernel refuses; callers then report the unreset mark.
 */
export function resetPeak(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

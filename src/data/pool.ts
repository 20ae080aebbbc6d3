// A small async work pool: at most `concurrency` tasks in flight. sharp decodes in libuv
// threads, so a few photos in flight keep the cores busy while the main thread stays free.

/**
 * Runs worker(item, index) for every item, `concurrency` at a time. When `stop()` turns
 * true no new item starts; items already running finish. Rejections propagate (after the
 * in-flight ones settle), so a bug does not leave half-written work racing a thrown error.
 */
export async function runPool<T>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  let failure: unknown;
  let failed = false;
  const lane = async () => {
    while (!failed && !stop() && next < items.length) {
      const i = next++;
      try {
        await worker(items[i], i);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  if (failed) throw failure;
}

// Progress of a long command as plain lines on stderr, only where a person watches it (a
// terminal): piped or logged output stays the result alone.

/** A reporter that writes "what: done/total" at most every 5 s, and always at the end. */
export function progressLines(what: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => {};
  let last = Date.now();
  return (done, total) => {
    const now = Date.now();
    if (now - last > 5000 || done === total) {
      last = now;
      process.stderr.write(`${what}: ${done}/${total}\n`);
    }
  };
}

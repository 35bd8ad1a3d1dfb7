/** Polls `probe` until it gives a value, or throws naming `what` once `deadlineMs` (epoch ms) has passed. */
export async function waitUntil<T>(what: string, deadlineMs: number, probe: () => T | undefined | Promise<T | undefined>, intervalMs = 200): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadlineMs) throw new Error(`${what}: not by the deadline`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

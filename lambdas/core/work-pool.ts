/** At most `size` of its jobs run at once, started in the order they asked (the back-fill's pools, the replay). */
export interface WorkPool {
  run<R>(job: () => Promise<R>): Promise<R>;
}

export function workPool(size: number): WorkPool {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(job) {
      if (active < Math.max(1, size)) active++;
      // A finishing job hands its slot straight to the next waiter, so the count never overshoots.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await job();
      } finally {
        const next = waiting.shift();
        if (next === undefined) active--;
        else next();
      }
    },
  };
}

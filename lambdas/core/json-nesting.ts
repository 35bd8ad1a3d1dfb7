/**
 * Whether `value` nests deeper than `limit` levels (the value itself is level 1; each map or list around an element
 * adds one). Only arrays and plain objects nest: class instances (an exact number's NumberValue, bytes) are values.
 * Iterative, so JSON nested thousands of levels deep cannot overflow the stack; stops at the first element too deep.
 */
export function exceedsNestingLimit(value: unknown, limit: number): boolean {
  const pending: Array<{ readonly value: unknown; readonly level: number }> = [{ value, level: 1 }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const container = next.value;
    if (!isContainer(container)) continue;
    const children = Array.isArray(container) ? container : Object.values(container);
    if (children.length > 0 && next.level + 1 > limit) return true;
    for (const child of children) pending.push({ value: child, level: next.level + 1 });
  }
  return false;
}

/** An array, or an object JSON.parse could have made (prototype Object.prototype or null). */
export function isContainer(value: unknown): value is unknown[] | Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return true;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Token ids as the stream accepts them from a server. An id is a vocabulary index:
 * a non-negative safe integer. A canonical decimal string ("5", not "05", "5.0" or
 * " 5") is taken as its number; anything else (5.5, -1, null, 2^53) is no id at all,
 * so that it is never delivered as an id nor sent back in a continuation prompt.
 */

/** Digits without a leading zero (or a lone zero). */
const CANONICAL_INTEGER = /^(0|[1-9][0-9]*)$/;

/** Whether `value` is an id as it should be sent (the per-token check: no allocation). */
export function isTokenId(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && Number.isSafeInteger(value);
}

/** `value` as an id: itself when it is one, a canonical integer string's number, else undefined. */
export function toTokenId(value: unknown): number | undefined {
  if (isTokenId(value)) return value;
  if (typeof value === 'string' && CANONICAL_INTEGER.test(value)) {
    const id = Number(value);
    if (Number.isSafeInteger(id)) return id;
  }
  return undefined;
}

/**
 * The ids of a list as numbers when every entry is an id (the list itself when nothing
 * needed converting), or undefined when one is not.
 */
export function tokenIdList(values: readonly unknown[]): number[] | undefined {
  let out: number[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (isTokenId(value)) {
      if (out !== undefined) out.push(value);
      continue;
    }
    const id = toTokenId(value);
    if (id === undefined) return undefined;
    out ??= values.slice(0, i) as number[];
    out.push(id);
  }
  return out ?? (values as number[]);
}

/**
 * The fault grammar: a comma-separated list of `name` or `name:arg[:arg]`,
 * given server-wide (`faults` option) or per request (`x-sim-fault` header).
 * Parsing is strict: an unknown name or a bad argument is an error naming it,
 * so a typo in a test never silently tests nothing.
 */

export type FaultName =
  | 'byte-writes'
  | 'line-endings'
  | 'keepalive'
  | 'stall-headers'
  | 'stall-first-token'
  | 'stall-after'
  | 'reset-after'
  | 'truncate-after'
  | 'error-after'
  | 'status'
  | 'huge-line'
  | 'bad-json-after'
  | 'trickle'
  | 'fail-first'
  | 'keepalive-forever'
  | 'html-200'
  | 'json-200'
  | 'data-after-done'
  | 'no-blank-line-at-end';

/** One parsed fault. `spec` is its text as written (the `fail-first` counter key). */
export interface FaultSpec {
  name: FaultName;
  args: string[];
  spec?: string;
}

/** How many arguments each fault takes: [min, max]. */
const ARITY: Record<FaultName, [number, number]> = {
  'byte-writes': [0, 0],
  'line-endings': [1, 1],
  keepalive: [1, 1],
  'stall-headers': [1, 1],
  'stall-first-token': [1, 2],
  'stall-after': [2, 3],
  'reset-after': [1, 2],
  'truncate-after': [1, 2],
  'error-after': [1, 2],
  status: [1, 2],
  'huge-line': [1, 2],
  'bad-json-after': [1, 1],
  trickle: [1, 1],
  'fail-first': [1, 2],
  'keepalive-forever': [1, 1],
  'html-200': [0, 0],
  'json-200': [0, 0],
  'data-after-done': [0, 1],
  'no-blank-line-at-end': [0, 1],
};

export class FaultSyntaxError extends Error {
  override name = 'FaultSyntaxError';
}

function count(spec: string, value: string | undefined, what: string): number {
  if (value === undefined || !/^\d+$/.test(value)) {
    throw new FaultSyntaxError(
      `fault '${spec}': ${what} must be a non-negative integer, got '${value ?? ''}'`,
    );
  }
  return Number(value);
}

/** Parses a fault list (string or specs), validating names and arguments. */
export function parseFaults(input: string | readonly FaultSpec[] | undefined): FaultSpec[] {
  if (input === undefined) return [];
  const specs: FaultSpec[] =
    typeof input === 'string'
      ? input
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '')
          .map((part) => {
            const [name, ...args] = part.split(':');
            return { name: name as FaultName, args, spec: part };
          })
      : input.map((fault) => ({ ...fault, spec: fault.spec ?? [fault.name, ...fault.args].join(':') }));
  for (const fault of specs) validate(fault);
  return specs;
}

function validate(fault: FaultSpec): void {
  const spec = fault.spec ?? fault.name;
  const arity = ARITY[fault.name];
  if (!arity) {
    throw new FaultSyntaxError(
      `unknown fault '${fault.name}' in '${spec}' (known: ${Object.keys(ARITY).join(', ')})`,
    );
  }
  const [min, max] = arity;
  if (fault.args.length < min || fault.args.length > max) {
    throw new FaultSyntaxError(`fault '${spec}' takes ${min === max ? min : `${min}..${max}`} argument(s)`);
  }
  switch (fault.name) {
    case 'line-endings':
      if (fault.args[0] !== 'cr' && fault.args[0] !== 'crlf') {
        throw new FaultSyntaxError(`fault '${spec}': line-endings takes 'cr' or 'crlf'`);
      }
      break;
    case 'status': {
      const code = count(spec, fault.args[0], 'status code');
      if (code < 100 || code > 599) throw new FaultSyntaxError(`fault '${spec}': status code out of range`);
      const extra = fault.args[1];
      if (
        extra !== undefined &&
        !/^(retry-after=\d+(\.\d+)?|retry-after-date(=\d+)?|retry-after-ms=\d+)$/.test(extra)
      ) {
        throw new FaultSyntaxError(
          `fault '${spec}': expected retry-after=SECONDS, retry-after-date[=SECONDS] or retry-after-ms=N`,
        );
      }
      break;
    }
    case 'fail-first':
      count(spec, fault.args[0], 'count');
      if (fault.args[1] !== undefined) count(spec, fault.args[1], 'status code');
      break;
    case 'stall-first-token': {
      count(spec, fault.args[0], 'pause');
      const every = fault.args[1];
      if (every !== undefined && !/^every=[1-9]\d*$/.test(every)) {
        throw new FaultSyntaxError(
          `fault '${spec}': the optional last argument is every=N (N ≥ 1: the Nth, 2Nth, … request stalls)`,
        );
      }
      break;
    }
    case 'data-after-done':
    case 'no-blank-line-at-end':
      if (fault.name === 'no-blank-line-at-end' && fault.args[0] !== undefined && fault.args[0] !== 'bare') {
        throw new FaultSyntaxError(`fault '${spec}': the only option is 'bare' (no newline at all)`);
      }
      if (fault.name === 'data-after-done' && fault.args[0] !== undefined)
        count(spec, fault.args[0], 'hold time');
      break;
    case 'stall-after':
    case 'reset-after':
    case 'truncate-after':
    case 'error-after': {
      const fixed = fault.name === 'stall-after' ? 2 : 1;
      for (const arg of fault.args.slice(0, fixed)) count(spec, arg, 'argument');
      if (fault.args.length > fixed && fault.args[fixed] !== 'once') {
        throw new FaultSyntaxError(`fault '${spec}': the optional last argument is 'once'`);
      }
      break;
    }
    default:
      for (const arg of fault.args) count(spec, arg, 'argument');
  }
}

/** The faults of one request, resolved into a plan the responder reads. */
export interface FaultPlan {
  byteWrites: boolean;
  lineEndings?: 'cr' | 'crlf';
  keepaliveMs?: number;
  stallHeadersMs?: number;
  stallFirstTokenMs?: number;
  /** token count → pause ms */
  stallAfter: Map<number, number>;
  resetAfter?: number;
  truncateAfter?: number;
  errorAfter?: number;
  status?: { code: number; retryAfter?: string; retryAfterMs?: string };
  hugeLine?: { mib: number; after: number };
  badJsonAfter: Set<number>;
  trickleMs?: number;
  failFirst?: { count: number; code: number; key: string };
  keepaliveForeverMs?: number;
  html200: boolean;
  json200: boolean;
  /**
   * Spec strings of in-stream faults marked `:once`: they fire only for the first
   * request carrying that exact spec (per server), so a retried or resumed
   * request goes through.
   */
  once: string[];
  dataAfterDone?: { holdMs: number };
  noBlankLineAtEnd?: { bare: boolean };
}

/**
 * Resolves a validated list into a plan (later entries override earlier ones of
 * the same name). `consumeOnce(spec)` is asked about each `:once` fault and
 * returns false when that spec already fired on this server (then it is skipped).
 * `countRequest(spec)` counts the requests carrying a `:every=N` fault on this server
 * (1, 2, …): the fault applies to every Nth (without a counter, to every request).
 */
export function planFaults(
  faults: readonly FaultSpec[],
  consumeOnce: (spec: string) => boolean = () => true,
  countRequest?: (spec: string) => number,
): FaultPlan {
  const plan: FaultPlan = {
    byteWrites: false,
    stallAfter: new Map(),
    badJsonAfter: new Set(),
    html200: false,
    json200: false,
    once: [],
  };
  for (const fault of faults) {
    const n = fault.args.map(Number);
    if (fault.args.at(-1) === 'once') {
      if (!consumeOnce(fault.spec ?? fault.name)) continue;
      plan.once.push(fault.spec ?? fault.name);
    }
    switch (fault.name) {
      case 'byte-writes':
        plan.byteWrites = true;
        break;
      case 'line-endings':
        plan.lineEndings = fault.args[0] as 'cr' | 'crlf';
        break;
      case 'keepalive':
        plan.keepaliveMs = Math.max(1, n[0]);
        break;
      case 'stall-headers':
        plan.stallHeadersMs = n[0];
        break;
      case 'stall-first-token': {
        const every = fault.args[1] === undefined ? 1 : Number(fault.args[1].slice('every='.length));
        if (every > 1 && countRequest !== undefined && countRequest(fault.spec ?? fault.name) % every !== 0) {
          break;
        }
        plan.stallFirstTokenMs = n[0];
        break;
      }
      case 'stall-after':
        plan.stallAfter.set(n[0], n[1]);
        break;
      case 'reset-after':
        plan.resetAfter = n[0];
        break;
      case 'truncate-after':
        plan.truncateAfter = n[0];
        break;
      case 'error-after':
        plan.errorAfter = n[0];
        break;
      case 'status': {
        const status: FaultPlan['status'] = { code: n[0] };
        const extra = fault.args[1];
        if (extra?.startsWith('retry-after-ms=')) status.retryAfterMs = extra.slice('retry-after-ms='.length);
        else if (extra?.startsWith('retry-after-date')) {
          const seconds = extra.includes('=') ? Number(extra.split('=')[1]) : 1;
          // HTTP dates have 1 s resolution: round up so the client never retries early.
          status.retryAfter = new Date(
            Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000 + 1000,
          ).toUTCString();
        } else if (extra?.startsWith('retry-after=')) status.retryAfter = extra.slice('retry-after='.length);
        plan.status = status;
        break;
      }
      case 'huge-line':
        plan.hugeLine = { mib: n[0], after: fault.args[1] === undefined ? 0 : n[1] };
        break;
      case 'bad-json-after':
        plan.badJsonAfter.add(n[0]);
        break;
      case 'trickle':
        plan.trickleMs = n[0];
        break;
      case 'fail-first':
        plan.failFirst = {
          count: n[0],
          code: fault.args[1] === undefined ? 503 : n[1],
          key: fault.spec ?? '',
        };
        break;
      case 'keepalive-forever':
        plan.keepaliveForeverMs = Math.max(1, n[0]);
        break;
      case 'html-200':
        plan.html200 = true;
        break;
      case 'json-200':
        plan.json200 = true;
        break;
      case 'data-after-done':
        plan.dataAfterDone = { holdMs: fault.args[0] === undefined ? 0 : n[0] };
        break;
      case 'no-blank-line-at-end':
        plan.noBlankLineAtEnd = { bare: fault.args[0] === 'bare' };
        break;
    }
  }
  return plan;
}

/**
 * A recording dispatcher for the probe: every request the probe's Client sends goes
 * through it to the real dispatcher, and it keeps the request body and the first
 * bytes of the answer, so the probe can say what the server put on the wire (which
 * field its reasoning came in, whether it echoed the prompt's ids), beside what the
 * Client decoded from it. Requests pass unchanged; only copies are kept.
 */
import { Dispatcher } from 'undici';

/** Response bytes kept per request: the probe's requests ask for 2–4 tokens, a few KiB. */
export const TAP_MAX_RESPONSE_BYTES = 256 * 1024;
/** Requests kept: the probe sends about twenty; more means something loops. */
export const TAP_MAX_RECORDS = 200;

/** One request as it went and the start of what came back. */
export interface TapRecord {
  method: string;
  path: string;
  /** The request body as sent (JSON text), or undefined. */
  body: string | undefined;
  /** The final response status, when one arrived. */
  status: number | undefined;
  /** The response's `content-encoding`, when it had one (its bytes are then not readable as they are). */
  encoding: string | undefined;
  /** Response body bytes, at most TAP_MAX_RESPONSE_BYTES. */
  chunks: Buffer[];
  bytes: number;
}

/** Wraps `inner`, recording what passes (see the module comment). */
export class WireTap extends Dispatcher {
  readonly records: TapRecord[] = [];

  constructor(private readonly inner: Dispatcher) {
    super();
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const record: TapRecord = {
      method: options.method,
      path: options.path,
      body: typeof options.body === 'string' ? options.body : bodyText(options.body),
      status: undefined,
      encoding: undefined,
      chunks: [],
      bytes: 0,
    };
    if (this.records.length < TAP_MAX_RECORDS) this.records.push(record);
    // The transport uses undici's callback handler (transport/dispatch.ts): its calls are passed on.
    const target = handler as Required<Dispatcher.DispatchHandler>;
    const recording: Dispatcher.DispatchHandler = {
      onConnect: (abort) => target.onConnect(abort),
      onHeaders: (status, headers, resume, statusText) => {
        if (status >= 200) {
          record.status = status;
          record.encoding = contentEncoding(headers);
        }
        return target.onHeaders(status, headers, resume, statusText);
      },
      onData: (chunk) => {
        if (record.bytes < TAP_MAX_RESPONSE_BYTES) {
          const kept = chunk.subarray(0, TAP_MAX_RESPONSE_BYTES - record.bytes);
          record.chunks.push(Buffer.from(kept));
          record.bytes += kept.length;
        }
        return target.onData(chunk);
      },
      onComplete: (trailers) => target.onComplete(trailers),
      onError: (error) => target.onError(error),
    };
    return this.inner.dispatch(options, recording);
  }

  override close(): Promise<void> {
    return this.inner.close();
  }

  override destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function bodyText(body: unknown): string | undefined {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  return undefined;
}

/** The `content-encoding` value in undici's raw header list (name, value, name, value, …). */
function contentEncoding(headers: Buffer[] | string[] | null | undefined): string | undefined {
  if (!Array.isArray(headers)) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (String(headers[i]).toLowerCase() === 'content-encoding') {
      const value = String(headers[i + 1])
        .trim()
        .toLowerCase();
      return value === '' || value === 'identity' ? undefined : value;
    }
  }
  return undefined;
}

/** Raw HTTP against the simulator: every chunk as it arrived, socket errors kept, no client library in between. */
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: Buffer[];
  body: Buffer;
  text: string;
  error?: NodeJS.ErrnoException;
}

export function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(`${url}${path}`, {
      method,
      agent: false,
      headers: { 'content-type': 'application/json', ...headers },
    });
    let finish: ((error?: NodeJS.ErrnoException) => void) | undefined;
    // Before the response an error rejects; after it, it ends the response with `error` set.
    req.on('error', (error) => (finish ? finish(error) : reject(error)));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      finish = (error?: NodeJS.ErrnoException): void => {
        if (done) return;
        done = true;
        const all = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          chunks,
          body: all,
          text: all.toString('utf8'),
          error,
        });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish?.());
      res.on('error', (error) => finish?.(error));
      res.on('aborted', () => finish?.(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    });
    req.end(payload);
  });
}

/** The blocks of an SSE body (split on blank lines), without the trailing empty one. */
export function blocks(text: string): string[] {
  return text.split('\n\n').filter((block) => block !== '');
}

/** JSON payloads of the `data:` events (excluding [DONE]). */
// biome-ignore lint/suspicious/noExplicitAny: event payloads are free-form JSON, asserted field by field.
type Payload = Record<string, any>;

export function dataJson(text: string): Payload[] {
  return blocks(text)
    .filter((block) => block.startsWith('data: ') && block !== 'data: [DONE]')
    .map((block) => JSON.parse(block.slice('data: '.length)));
}

/**
 * The Responses the adapter hands back: a relayed stream's (its body pulls from the
 * engine, one array per socket read), a server's error answer as it came, and the
 * headers they carry.
 */
import { TokenwireError } from '../errors.js';
import type { RelayStream } from './relay-stream.js';

/**
 * Response headers not passed on: the body is re-framed (its length and encoding are
 * not the server's) and connection handling is the transport's.
 */
const DROPPED_RESPONSE_HEADERS = new Set([
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
]);

/** A server's response headers as a Headers object, without the ones that described its bytes. */
export function responseHeaders(headers: Record<string, string> | undefined): Headers {
  const out = new Headers();
  if (headers === undefined) return out;
  for (const [name, value] of Object.entries(headers)) {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) out.set(name, value);
  }
  return out;
}

/**
 * How a failure reaches the SDK: `throw` fails the body with the TokenwireError (the
 * SDK's read throws it); `event` ends the body with a `data: {"error": …}` event, which
 * SDKs that parse events in a pipeline (the AI SDK) turn into their own error after the
 * text that came before it (failing the body makes such a pipeline drop text it had
 * already read).
 */
export type ErrorDelivery = 'throw' | 'event';

/** The error as an OpenAI-style in-stream error event: the message, tokenwire's code, the tokens before it. */
export function errorEvent(error: TokenwireError): Uint8Array {
  const json = JSON.stringify({
    error: {
      message: error.message,
      type: 'tokenwire_error',
      param: null,
      code: error.code,
      partial_tokens: error.partial.length,
    },
  });
  return Buffer.from(`data: ${json}\n\n`);
}

function deliverFailure(
  controller: ReadableStreamDefaultController<Uint8Array>,
  error: unknown,
  delivery: ErrorDelivery,
): void {
  if (delivery === 'event' && error instanceof TokenwireError && error.code !== 'aborted') {
    controller.enqueue(errorEvent(error));
    controller.close();
  } else controller.error(error);
}

/** The relayed stream as a Response: `first` (already read) and then whatever the engine passes on. */
export function relayResponse(
  stream: RelayStream,
  first: Uint8Array | undefined,
  delivery: ErrorDelivery,
): Response {
  let pending = first;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (pending !== undefined) {
          controller.enqueue(pending);
          pending = undefined;
          return;
        }
        try {
          const next = await stream.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          deliverFailure(controller, error, delivery);
        }
      },
      async cancel() {
        // The SDK stopped reading (a `break`, an abort): drop the request quietly.
        await stream.return();
      },
    },
    // Pulled only when the SDK reads: the engine's queue is the buffer (and pauses the socket).
    { highWaterMark: 0 },
  );
  const head = stream.responseHead();
  const headers = responseHeaders(head?.headers);
  headers.set('content-type', 'text/event-stream');
  return new Response(body, { status: head?.status ?? 200, headers });
}

/**
 * A relayed stream that failed before anything was passed on, with a response from the
 * server: an HTTP error goes back as the server sent it (status, headers, body) so the
 * SDK raises its own error class with the server's message, marked `x-should-retry:
 * false` (the engine already retried it); any other failure is a stream whose body
 * fails with the engine's error at the first read.
 */
export function failedRelayResponse(
  stream: RelayStream,
  error: TokenwireError,
  delivery: ErrorDelivery,
): Response {
  if (error.code === 'http_error' && error.status !== undefined) {
    const headers = responseHeaders(error.headers);
    headers.set('x-should-retry', 'false');
    return new Response(error.body ?? '', { status: error.status, headers });
  }
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      deliverFailure(controller, error, delivery);
    },
  });
  const head = stream.responseHead();
  const headers = responseHeaders(head?.headers);
  headers.set('content-type', 'text/event-stream');
  return new Response(body, { status: 200, headers });
}

/**
 * The measured clients. Each factory gets `{ baseUrl, connections }` (baseUrl is
 * the server root with the bench prefix, without `/v1`) and returns
 * `{ run(tokens) → output, close() }`, where an output is
 * `{ ids?, text?, count, bytes?, finishReason?, done, firstTokenNs }`.
 *
 * Every client collects the same things the same way (ids pushed into an array,
 * text appended to a string) so that the comparison is about the stack under it.
 */

const PROMPT_IDS = [1, 2, 3];
const now = process.hrtime.bigint;

function requestBody(tokens) {
  return JSON.stringify({
    model: 'm',
    prompt: PROMPT_IDS,
    max_tokens: tokens,
    stream: true,
    stream_options: { include_usage: true },
    return_token_ids: true,
  });
}

/** An undici Agent for the bench server, and `open(tokens)`: a streaming request's body (Readable). */
async function undiciStreams(baseUrl, connections) {
  const { Agent, request } = await import('undici');
  const agent = new Agent({ connections, pipelining: 1 });
  const url = `${baseUrl}/v1/completions`;
  async function open(tokens) {
    const { statusCode, body } = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: requestBody(tokens),
    });
    if (statusCode !== 200) throw new Error(`HTTP ${statusCode}`);
    return body;
  }
  return { agent, open };
}

/** The transport floor: undici.request(), body bytes counted and dropped. */
async function drain({ baseUrl, connections }) {
  const { agent, open } = await undiciStreams(baseUrl, connections);
  return {
    async run(tokens) {
      const body = await open(tokens);
      let bytes = 0;
      let firstTokenNs = 0n;
      await new Promise((resolve, reject) => {
        body.on('data', (chunk) => {
          if (bytes === 0) firstTokenNs = now();
          bytes += chunk.length;
        });
        body.on('end', resolve);
        body.on('error', reject);
      });
      return { bytes, count: undefined, done: true, firstTokenNs };
    },
    close: () => agent.close(),
  };
}

/** The baseline: undici.request() + eventsource-parser + JSON.parse per event. */
async function raw({ baseUrl, connections }) {
  const { agent, open } = await undiciStreams(baseUrl, connections);
  const { createParser } = await import('eventsource-parser');
  return {
    async run(tokens) {
      const body = await open(tokens);
      const out = { ids: [], text: '', finishReason: undefined, done: false, firstTokenNs: 0n };
      const parser = createParser({
        onEvent(event) {
          if (event.data === '[DONE]') {
            out.done = true;
            return;
          }
          const choice = JSON.parse(event.data).choices[0];
          if (choice !== undefined) takeChoice(out, choice);
        },
      });
      const decoder = new TextDecoder();
      await new Promise((resolve, reject) => {
        body.on('data', (chunk) => parser.feed(decoder.decode(chunk, { stream: true })));
        body.on('end', resolve);
        body.on('error', reject);
      });
      parser.feed(decoder.decode());
      return { ...out, count: out.ids.length };
    },
    close: () => agent.close(),
  };
}

/**
 * What raw and openai do with a parsed chunk's first choice: its ids and text
 * collected, its finish reason kept.
 */
function takeChoice(out, choice) {
  const tokenIds = choice.token_ids;
  if (tokenIds !== undefined && tokenIds !== null) {
    if (out.firstTokenNs === 0n && tokenIds.length > 0) out.firstTokenNs = now();
    for (let i = 0; i < tokenIds.length; i++) out.ids.push(tokenIds[i]);
  }
  out.text += choice.text;
  if (choice.finish_reason) out.finishReason = choice.finish_reason;
}

/**
 * openai-node: completions.create({ stream: true }) over its default fetch, or over
 * tokenwire's `createFetch()` (from the built dist/) with `tokenwireFetch`: the same
 * loop, the stream checked by tokenwire's engine (defaults but no capture files).
 */
async function openai({ baseUrl }, tokenwireFetch = false) {
  const { default: OpenAI } = await import('openai');
  let fetch;
  if (tokenwireFetch) {
    const { createFetch } = await import('../dist/fetch/index.js');
    fetch = createFetch({ dialect: 'vllm', failedRequestsDir: false });
  }
  const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'x', maxRetries: 0, fetch });
  return {
    async run(tokens) {
      const stream = await client.completions.create({
        model: 'm',
        prompt: PROMPT_IDS,
        max_tokens: tokens,
        stream: true,
        stream_options: { include_usage: true },
      });
      // openai-node ends its iterator at [DONE]; a normal end of the loop means it saw one or EOF.
      const out = { ids: [], text: '', finishReason: undefined, done: true, firstTokenNs: 0n };
      for await (const chunk of stream) {
        // token_ids is not in openai's types, but the parsed chunk keeps vLLM's extra field.
        const choice = chunk.choices[0];
        if (choice !== undefined) takeChoice(out, choice);
      }
      return { ...out, count: out.ids.length };
    },
    close: async () => {
      await fetch?.close();
    },
  };
}

/** The AI SDK: streamText over @ai-sdk/openai-compatible; `chat` picks chatModel instead of completionModel. */
function aisdk(chat) {
  return async ({ baseUrl }) => {
    const { streamText } = await import('ai');
    const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
    // AI SDK prints a warning line per call for some settings; keep the bench output clean.
    globalThis.AI_SDK_LOG_WARNINGS = false;
    const provider = createOpenAICompatible({ baseURL: `${baseUrl}/v1`, name: 'bench', includeUsage: true });
    const model = chat ? provider.chatModel('m') : provider.completionModel('m');
    return {
      async run(tokens) {
        let streamError;
        const result = streamText({
          model,
          prompt: 'hi',
          maxOutputTokens: tokens,
          maxRetries: 0,
          onError: ({ error }) => {
            streamError = error;
          },
        });
        let text = '';
        let count = 0;
        let firstTokenNs = 0n;
        for await (const delta of result.textStream) {
          if (delta.length === 0) continue;
          if (count === 0) firstTokenNs = now();
          count++;
          text += delta;
        }
        if (streamError) throw streamError;
        const finishReason = await result.finishReason;
        // The SDK maps vLLM's "length" to its own "length".
        return { text, count, finishReason, done: true, firstTokenNs };
      },
      close: async () => {},
    };
  };
}

/**
 * tokenwire, from the built dist/ (absent or broken → "unavailable"). `defaults`
 * keeps retries and failed-request capture on, as a new Client has them (capture
 * keeps each stream's last 16 KiB of raw bytes for the fixture of a failure).
 */
function tokenwireClient(defaults, batches = false) {
  return async ({ baseUrl, connections }) => {
    const { Client } = await import('../dist/index.js');
    const client = new Client({
      baseUrl,
      dialect: 'vllm',
      model: 'm',
      maxConnections: connections,
      ...(defaults ? {} : { retry: false, failedRequestsDir: false }),
    });
    return tokenwireRunner(client, batches);
  };
}

/**
 * tokenwire with OpenTelemetry on: the real SDK (a tracer provider whose span processor
 * drops every ended span, a meter provider whose reader is never collected), passed as
 * `telemetry`, so every call builds its span, events and metric points as in production,
 * and nothing is exported. What it costs over `tokenwire` is the price of telemetry.
 */
function tokenwireOtelClient() {
  return async ({ baseUrl, connections }) => {
    const { Client } = await import('../dist/index.js');
    const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
    const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
    const dropAll = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(dropAll)] });
    class NeverRead extends MetricReader {
      async onForceFlush() {}
      async onShutdown() {}
    }
    const meterProvider = new MeterProvider({ readers: [new NeverRead()] });
    const client = new Client({
      baseUrl,
      dialect: 'vllm',
      model: 'm',
      maxConnections: connections,
      retry: false,
      failedRequestsDir: false,
      telemetry: { tracerProvider, meterProvider },
    });
    const runner = tokenwireRunner(client, false);
    return {
      run: runner.run,
      close: async () => {
        await runner.close();
        await tracerProvider.shutdown();
        await meterProvider.shutdown();
      },
    };
  };
}

/** Runs over plain for-await, or over stream.batches() (one promise per batch of events that arrived together). */
function tokenwireRunner(client, batches) {
  return {
    async run(tokens) {
      const out = { ids: [], text: '', finishReason: undefined, done: false, firstTokenNs: 0n };
      const stream = client.streamCompletion({ prompt: PROMPT_IDS, maxTokens: tokens });
      if (batches) {
        for await (const batch of stream.batches())
          for (let i = 0; i < batch.length; i++) take(out, batch[i]);
      } else {
        for await (const event of stream) take(out, event);
      }
      return { ...out, count: out.ids.length };
    },
    close: () => client.close(),
  };
}

function take(out, event) {
  if (event.type === 'token') {
    if (out.firstTokenNs === 0n) out.firstTokenNs = now();
    out.ids.push(event.id);
    out.text += event.text;
  } else if (event.type === 'done') {
    out.finishReason = event.finishReason;
    out.done = true;
  }
}

export const CLIENTS = {
  drain,
  raw,
  openai: (options) => openai(options),
  'openai+tokenwire-fetch': (options) => openai(options, true),
  aisdk: aisdk(false),
  'aisdk-chat': aisdk(true),
  tokenwire: tokenwireClient(false),
  'tokenwire-defaults': tokenwireClient(true),
  'tokenwire-batches': tokenwireClient(false, true),
  'tokenwire-otel': tokenwireOtelClient(),
};

/** Which server endpoint each client talks to (the chat one gets the chat stream). */
export const CLIENT_KIND = { 'aisdk-chat': 'chat' };

/**
 * The non-generation endpoints: model list, tokenize/detokenize, health and
 * llama.cpp's /props, each in its dialect's shape (PROTOCOLS.md "Tokenize /
 * detokenize"). Returns undefined for paths the dialect does not serve.
 */

import type { WireFacts } from '../dialects/wire-facts.js';
import { type ErrorReply, errorReply } from './http-errors.js';
import type { SimDialect } from './request.js';
import { detokenize, isVocabId, renderWithSpecials, tokenize } from './tokenizer.js';
import { BOS_ID, EOS_ID, VOCAB } from './vocab.js';

const JSON_TYPE = 'application/json';

function ok(dialect: SimDialect, body: unknown): ErrorReply {
  return {
    status: 200,
    contentType: dialect === 'llamacpp' ? 'application/json; charset=utf-8' : JSON_TYPE,
    body: JSON.stringify(body),
  };
}

const CREATED = 1_700_000_000;

function models(dialect: SimDialect, model: string, maxModelLen: number): unknown {
  switch (dialect) {
    case 'vllm':
      return {
        object: 'list',
        data: [
          {
            id: model,
            object: 'model',
            created: CREATED,
            owned_by: 'vllm',
            root: model,
            parent: null,
            max_model_len: maxModelLen,
            permission: [],
          },
        ],
      };
    case 'sglang':
      return {
        object: 'list',
        data: [{ id: model, object: 'model', created: CREATED, owned_by: 'sglang', root: model }],
      };
    case 'llamacpp':
      return {
        object: 'list',
        data: [
          {
            id: model,
            object: 'model',
            created: CREATED,
            owned_by: 'llamacpp',
            meta: { vocab_type: 1, n_vocab: VOCAB.size, n_ctx_train: maxModelLen },
          },
        ],
      };
    case 'openai':
      return { object: 'list', data: [{ id: model, object: 'model', created: CREATED, owned_by: 'system' }] };
    case 'fireworks':
      return {
        object: 'list',
        data: [{ id: model, object: 'model', created: CREATED, owned_by: 'fireworks' }],
      };
    case 'openrouter':
      return {
        data: [{ id: model, name: `Sim: ${model}`, created: CREATED, context_length: maxModelLen }],
      };
    case 'together':
      // Together answers /v1/models with a bare array.
      return [{ id: model, object: 'model', created: CREATED, type: 'language', organization: 'Sim' }];
  }
}

function ids(value: unknown, dialect: SimDialect): number[] | ErrorReply {
  if (!Array.isArray(value) || !value.every(isVocabId)) {
    return errorReply(
      dialect,
      400,
      `'tokens' must be an array of token ids in 0..${VOCAB.size - 1}`,
      'tokens',
    );
  }
  return value as number[];
}

function llamaPiece(id: number): string | number[] {
  if (id === BOS_ID) return '<s>';
  if (id === EOS_ID) return '</s>';
  const bytes = VOCAB.bytes[id];
  const text = bytes.toString('utf8');
  // A piece that is not valid UTF-8 on its own is an int array, as recorded.
  return Buffer.from(text, 'utf8').equals(bytes) ? text : [...bytes];
}

/**
 * The version endpoint the emulated row names (`detection.path`, `versionField`): vLLM
 * `GET /version` → `{"version"}`, SGLang `GET /server_info` → its server args with
 * `model_path` and `version` (wire-facts-vllm.ts / wire-facts-sglang.ts cite where). The
 * version is the label's (`vllm@0.10.1` → `0.10.1`), so a client detecting it picks that
 * row. llama.cpp's `/props` is answered by {@link routeUtility} with its build.
 */
export function versionReply(
  facts: WireFacts | undefined,
  method: string,
  path: string,
  model: string,
): ErrorReply | undefined {
  const detection = facts?.detection;
  if (facts === undefined || detection?.path !== path || method !== 'GET') return undefined;
  if (detection.versionField === undefined || facts.dialect === 'llamacpp') return undefined;
  const at = facts.label.indexOf('@');
  if (at < 0) return undefined;
  const body: Record<string, unknown> = { [detection.versionField]: facts.label.slice(at + 1) };
  if (facts.dialect === 'sglang') body.model_path = model;
  return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(body) };
}

export function routeUtility(
  dialect: SimDialect,
  method: string,
  path: string,
  body: unknown,
  model: string,
  maxModelLen: number,
  /** llama.cpp `/props` `build_info` (the emulated build's). */
  buildInfo = 'b4748-c392e5094',
): ErrorReply | undefined {
  const json = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  if (method === 'GET' && (path === '/v1/models' || (dialect === 'llamacpp' && path === '/models'))) {
    return ok(dialect, models(dialect, model, maxModelLen));
  }
  if (method === 'GET' && path === '/health') {
    if (dialect === 'llamacpp') return ok(dialect, { status: 'ok' });
    if (dialect === 'vllm' || dialect === 'sglang') return { status: 200, contentType: JSON_TYPE, body: '' };
    return undefined;
  }
  if (method === 'GET' && path === '/props' && dialect === 'llamacpp') {
    return ok(dialect, {
      default_generation_settings: { n_ctx: maxModelLen, model, temperature: 0.8, top_k: 40, top_p: 0.95 },
      total_slots: 4,
      model_path: `${model}.gguf`,
      chat_template:
        '{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}',
      build_info: buildInfo,
    });
  }
  if (method !== 'POST') return undefined;
  const tokenizePath = dialect === 'sglang' ? '/v1/tokenize' : '/tokenize';
  const detokenizePath = dialect === 'sglang' ? '/v1/detokenize' : '/detokenize';
  const hasTokenizer = dialect === 'vllm' || dialect === 'sglang' || dialect === 'llamacpp';
  if (!hasTokenizer) return undefined;
  if (path === tokenizePath) {
    if (dialect === 'llamacpp') {
      const content = typeof json.content === 'string' ? json.content : '';
      const tokens = json.add_special === true ? [BOS_ID, ...tokenize(content)] : tokenize(content);
      if (json.with_pieces === true)
        return ok(dialect, { tokens: tokens.map((id) => ({ id, piece: llamaPiece(id) })) });
      return ok(dialect, { tokens });
    }
    if (typeof json.prompt !== 'string')
      return errorReply(dialect, 400, "'prompt' must be a string", 'prompt');
    const tokens = tokenize(json.prompt);
    return ok(dialect, { count: tokens.length, max_model_len: maxModelLen, tokens });
  }
  if (path === detokenizePath) {
    const tokens = ids(json.tokens, dialect);
    if (!Array.isArray(tokens)) return tokens;
    if (dialect === 'llamacpp') return ok(dialect, { content: renderWithSpecials(tokens) });
    if (dialect === 'sglang') return ok(dialect, { text: detokenize(tokens) });
    return ok(dialect, { prompt: detokenize(tokens) });
  }
  return undefined;
}

/**
 * Per-dialect differences of the OpenAI-like streams the simulator writes (role
 * chunk, where finish reason, ids, usage and errors go), as data for the encoder
 * in wire-openai.ts.
 */
import type { SimDialect } from './request.js';

/** How one dialect spells its stream (see wire-openai.ts for what each server sends). */
export interface Style {
  /** Chat's first chunk, in the wire-facts table's words (an emulated row's own value comes first). */
  roleChunk: 'role-empty' | 'role-empty-refusal' | 'role-only' | 'none';
  finishOnLastToken: boolean;
  stopField?: string;
  ids: 'vllm' | 'together' | 'end' | 'none';
  reasoningField: 'reasoning_content' | 'reasoning';
  usage: 'chunk-if-requested' | 'on-finish';
  errorType: string;
  doneAfterError: boolean;
  processingComments: number;
}

export const STYLES: Record<Exclude<SimDialect, 'llamacpp'>, Style> = {
  vllm: {
    roleChunk: 'role-empty',
    finishOnLastToken: true,
    stopField: 'stop_reason',
    ids: 'vllm',
    reasoningField: 'reasoning_content',
    usage: 'chunk-if-requested',
    errorType: 'InternalServerError',
    doneAfterError: true,
    processingComments: 0,
  },
  sglang: {
    roleChunk: 'role-empty',
    finishOnLastToken: false,
    stopField: 'matched_stop',
    ids: 'end',
    reasoningField: 'reasoning_content',
    usage: 'chunk-if-requested',
    errorType: 'InternalServerError',
    doneAfterError: true,
    processingComments: 0,
  },
  openai: {
    roleChunk: 'role-empty-refusal',
    finishOnLastToken: false,
    ids: 'none',
    reasoningField: 'reasoning_content',
    usage: 'chunk-if-requested',
    errorType: 'server_error',
    doneAfterError: false,
    processingComments: 0,
  },
  openrouter: {
    roleChunk: 'none',
    finishOnLastToken: false,
    stopField: 'native_finish_reason',
    ids: 'none',
    reasoningField: 'reasoning',
    usage: 'on-finish',
    errorType: 'server_error',
    doneAfterError: false,
    processingComments: 2,
  },
  // Fireworks, from its wire-facts row (src/dialects/wire-facts-hosted.ts, its OpenAPI spec; not
  // verified against recorded traffic): ids live with return_token_ids, prompt ids on the first
  // chunk, finish on the last token, a usage chunk with include_usage, errors without [DONE].
  fireworks: {
    roleChunk: 'role-only',
    finishOnLastToken: true,
    ids: 'vllm',
    reasoningField: 'reasoning_content',
    usage: 'chunk-if-requested',
    errorType: 'server_error',
    doneAfterError: false,
    processingComments: 0,
  },
  together: {
    roleChunk: 'none',
    finishOnLastToken: true,
    ids: 'together',
    reasoningField: 'reasoning',
    usage: 'on-finish',
    errorType: 'server_error',
    doneAfterError: true,
    processingComments: 0,
  },
};

/**
 * Reading a server's identity from its own info endpoints (pure: JSON in, facts
 * out). Which endpoint each server has is in the wire-facts table (`detection`):
 * vLLM `GET /version` → `{"version"}`; SGLang `GET /server_info` → its server
 * args, scheduler info and `version`; llama.cpp `GET /props` → `build_info`
 * (`b10587-3f545becc`).
 */
import type { ServerInfo } from './dialect.js';
import type { Json } from './openai-shapes.js';

function stringField(body: Json, field: string): string | undefined {
  const value = body !== null && typeof body === 'object' ? body[field] : undefined;
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** vLLM `GET /version`: `{"version": "0.11.0"}`. */
export function vllmServerInfo(body: unknown): ServerInfo | undefined {
  const version = stringField(body, 'version');
  return version === undefined ? undefined : { version };
}

/**
 * SGLang `GET /server_info`: its ServerArgs (`model_path`, `schedule_low_priority_values_first`,
 * …) merged with the scheduler's info and `version`. Undefined when the body is not that.
 */
export function sglangServerInfo(body: unknown): ServerInfo | undefined {
  const version = stringField(body, 'version');
  if (version === undefined || stringField(body, 'model_path') === undefined) return undefined;
  const info: ServerInfo = { version };
  if ((body as Json).schedule_low_priority_values_first === true) info.lowPriorityValuesFirst = true;
  return info;
}

/** llama.cpp `GET /props`: `build_info` (`b10587-3f545becc`), or undefined when absent. */
export function llamacppServerInfo(body: unknown): ServerInfo | undefined {
  const version = stringField(body, 'build_info');
  return version === undefined ? undefined : { version };
}

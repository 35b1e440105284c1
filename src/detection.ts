/**
 * Server and version detection, once per endpoint: which server family answers
 * and which version, so request flags can be chosen per version (vLLM before
 * 0.10.2 ignores `return_token_ids`; llama.cpp chat usage needs `include_usage`
 * on 2026 builds; SGLang's priority order follows its flags).
 *
 * Order: a hosted provider's URL (no request); `GET /v1/models` (`owned_by`, the
 * `Server` header); then the family's own info endpoint for the version — vLLM
 * `GET /version`, SGLang `GET /server_info` (`/get_server_info` on older
 * builds), llama.cpp `GET /props`. A server `/v1/models` does not identify is
 * probed at `/props`, `/server_info`, `/version` in that order. An answer that
 * is an HTTP error or not JSON means "not here"; a network failure fails the
 * detection (the caller retries it like a request).
 */
import type { Dialect, ServerInfo } from './dialects/dialect.js';
import { detectDialect, dialectByName, dialectFromUrl } from './dialects/index.js';
import { llamacppServerInfo, sglangServerInfo, vllmServerInfo } from './dialects/server-info.js';
import type { DialectName } from './types.js';

/** What `client.server()` reports. */
export interface ServerIdentity {
  /** The dialect in use. */
  dialect: DialectName;
  /** The version the server reported (`0.11.0`, `b10587-3f545becc`); undefined when it did not say. */
  version: string | undefined;
  /**
   * How the server was recognised, in the order it was learned: `host name`, `GET /v1/models`
   * (`owned_by` or the `Server` header), and the info endpoint the version came from
   * (`GET /version`, `GET /server_info`, `GET /props`). Empty when nothing identified it (the
   * generic dialect is used); undefined when the dialect was named in the options.
   */
  detectedBy?: string[];
  /** The info endpoint that answered with the version (`/version`), when one did. */
  versionPath?: string;
}

/** A JSON GET: the answer, or undefined when the server has no such endpoint (HTTP error, not JSON). */
export type GetJson = (
  path: string,
) => Promise<{ body: unknown; headers: Record<string, string> } | undefined>;

/** The detection's outcome: the dialect variant to use and what to report. */
export interface Detected {
  dialect: Dialect;
  identity: ServerIdentity;
  /** The family as recognised (undefined: unknown server, the generic dialect is used). */
  recognised: DialectName | undefined;
}

type InfoReader = (body: unknown) => ServerInfo | undefined;

/** Each family's info endpoints, in the order tried. */
const INFO_ENDPOINTS: Partial<Record<DialectName, readonly (readonly [string, InfoReader])[]>> = {
  vllm: [['/version', vllmServerInfo]],
  sglang: [
    ['/server_info', sglangServerInfo],
    ['/get_server_info', sglangServerInfo],
  ],
  llamacpp: [['/props', llamacppServerInfo]],
};

/** Probes for a server `/v1/models` did not identify: most specific answer first. */
const UNKNOWN_PROBES: readonly (readonly [DialectName, string, InfoReader])[] = [
  ['llamacpp', '/props', llamacppServerInfo],
  ['sglang', '/server_info', sglangServerInfo],
  ['vllm', '/version', vllmServerInfo],
];

async function familyInfo(
  name: DialectName,
  get: GetJson,
): Promise<{ info: ServerInfo; path: string } | undefined> {
  for (const [path, read] of INFO_ENDPOINTS[name] ?? []) {
    const answer = await get(path);
    const info = answer && read(answer.body);
    if (info !== undefined) return { info, path };
  }
  return undefined;
}

/** Detects the server behind `rootUrl` (see the module comment for the order). */
export async function detectServer(rootUrl: string, get: GetJson): Promise<Detected> {
  let name = dialectFromUrl(rootUrl);
  let info: ServerInfo | undefined;
  let versionPath: string | undefined;
  const detectedBy: string[] = name === undefined ? [] : ['host name'];
  if (name === undefined) {
    const models = await get('/v1/models');
    if (models !== undefined) name = detectDialect(models.body, models.headers);
    if (name !== undefined) {
      detectedBy.push('GET /v1/models');
      const found = await familyInfo(name, get);
      info = found?.info;
      versionPath = found?.path;
    } else {
      for (const [family, path, read] of UNKNOWN_PROBES) {
        const answer = await get(path);
        info = answer && read(answer.body);
        if (info !== undefined) {
          name = family;
          versionPath = path;
          break;
        }
      }
    }
  }
  if (versionPath !== undefined) detectedBy.push(`GET ${versionPath}`);
  const base = (name && dialectByName(name)) || dialectByName('openai')!;
  const dialect = info !== undefined && base.forServer ? base.forServer(info) : base;
  const identity: ServerIdentity = { dialect: dialect.name, version: info?.version, detectedBy };
  if (versionPath !== undefined) identity.versionPath = versionPath;
  return { dialect, identity, recognised: name };
}

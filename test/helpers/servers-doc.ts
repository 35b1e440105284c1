/**
 * Renders docs/servers.md and the README's dialect table from the wire-facts
 * table (src/dialects/wire-facts.ts). test/unit/wire-facts-docs.test.ts fails
 * when the files differ from the rendering; `UPDATE_DOCS=1 npx vitest run
 * test/unit/wire-facts-docs.test.ts` rewrites them.
 */
import { WIRE_FACTS } from '../../src/dialects/wire-facts.js';
import type {
  AffinityFact,
  Citation,
  Cited,
  EndpointFacts,
  WireFacts,
} from '../../src/dialects/wire-facts-types.js';

/** Markers around the generated table in README.md. */
export const README_START = '<!-- dialect-table:start (generated from src/dialects/wire-facts.ts) -->';
export const README_END = '<!-- dialect-table:end -->';

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function citation(c: Citation): string {
  const where = c.where ? ` — ${c.where}` : '';
  const revision = c.revision ? ` (${c.revision})` : '';
  return `${c.kind}: \`${c.ref}\`${where}${revision}`;
}

function cites(fact: Cited): string {
  const mark = fact.verified === false ? ' **(not verified from source or recording)**' : '';
  return fact.cite.map(citation).join('; ') + mark;
}

function json(value: unknown): string {
  const text = JSON.stringify(value);
  return text === '{}' ? 'nothing (default)' : `\`${text}\``;
}

function idsSummary(endpoint: EndpointFacts): string {
  const { ids } = endpoint;
  if (ids.delivery === 'none') return 'none';
  const when = ids.delivery === 'live' ? 'live' : 'at the end';
  return `${when}: \`${ids.field}\`${ids.nullIds ? ' (sometimes `null`)' : ''}`;
}

function usageSummary(endpoint: EndpointFacts): string {
  const { usage } = endpoint;
  const where = {
    'usage-chunk': 'a last `choices: []` chunk',
    'finish-chunk': 'the finish chunk',
    'native-final': 'the native final event',
    none: 'none',
  }[usage.where];
  const when = { include_usage: 'with `stream_options.include_usage`', always: 'always', never: 'never' }[
    usage.when
  ];
  return `${where}, ${when}`;
}

function affinitySummary(fact: AffinityFact): string {
  const carriers = [
    fact.header && `header \`${fact.header}\``,
    fact.chatField &&
      `chat body \`${fact.chatField}\`${fact.maxLength ? ` (a key over ${fact.maxLength} characters as its SHA-256)` : ''}`,
  ].filter(Boolean);
  return `${carriers.join(', ')}: read by ${fact.readBy}`;
}

function prioritySummary(row: WireFacts): string {
  const { priority } = row;
  if (priority.order === 'ignored') return 'ignored by the server (dropped)';
  const order = priority.order === 'lower-first' ? 'lower = earlier' : 'higher = earlier';
  return `\`${priority.field}\`, ${order}; needs \`${priority.requires}\``;
}

function endpointSection(name: string, endpoint: EndpointFacts): string[] {
  const lines = [
    `#### ${name} (\`${endpoint.path}\`)`,
    '',
    '| fact | value | verified in |',
    '|---|---|---|',
  ];
  lines.push(`| ids | ${cell(idsSummary(endpoint))} | ${cell(cites(endpoint.ids))} |`);
  lines.push(`| how to ask | ${cell(json(endpoint.ids.ask))} | ${cell(cites(endpoint.ids))} |`);
  if (endpoint.ids.askHeaders) {
    const framed = endpoint.ids.framedEvent ? ` → \`event: ${endpoint.ids.framedEvent}\`` : '';
    lines.push(
      `| framed ids | ${cell(json(endpoint.ids.askHeaders) + framed)} | ${cell(cites(endpoint.ids))} |`,
    );
  }
  if (endpoint.ids.promptField) {
    lines.push(`| prompt ids | \`${cell(endpoint.ids.promptField)}\` | ${cell(cites(endpoint.ids))} |`);
  }
  lines.push(`| usage | ${cell(usageSummary(endpoint))} | ${cell(cites(endpoint.usage))} |`);
  const shape = [
    endpoint.roleChunk ? `role chunk: ${endpoint.roleChunk}` : undefined,
    `finish_reason: ${endpoint.finishOn}`,
    `ends with ${endpoint.end}`,
    endpoint.reasoningField ? `reasoning in \`delta.${endpoint.reasoningField}\`` : undefined,
    endpoint.logprobIds ? `logprobs ids: \`${endpoint.logprobIds}\`` : undefined,
    `resume ${endpoint.resume ? 'exact' : 'not possible'}`,
  ].filter((part) => part !== undefined);
  lines.push(
    `| stream shape | ${cell(shape.join('; '))} | ${cell(endpoint.cite.map(citation).join('; '))} |`,
    '',
  );
  return lines;
}

function rowSection(row: WireFacts): string[] {
  const range = [
    row.versions.from && `≥ ${row.versions.from}`,
    row.versions.below && `< ${row.versions.below}`,
  ]
    .filter(Boolean)
    .join(', ');
  const lines = [
    `### \`${row.label}\` — ${row.dialect} ${row.version}${range ? ` (applies to ${range})` : ''}`,
    '',
  ];
  lines.push(...endpointSection('Completions', row.completions), ...endpointSection('Chat', row.chat));
  lines.push(
    '#### Errors, refusals, priority, detection, session key',
    '',
    '| fact | value | verified in |',
    '|---|---|---|',
  );
  for (const error of row.httpErrors) {
    lines.push(
      `| HTTP ${error.status}: ${cell(error.cause)} | \`${cell(error.body)}\` | ${cell(cites(error))} |`,
    );
  }
  const stream = row.inStreamError;
  lines.push(
    `| in-stream error (${stream.shape}, ${stream.doneAfter ? '[DONE] after' : 'no [DONE] after'}) | \`${cell(stream.example)}\` | ${cell(cites(stream))} |`,
  );
  for (const refusal of row.refusals) {
    lines.push(
      `| refuses ${cell(refusal.trigger)} (${refusal.endpoint}) | HTTP ${refusal.status}: ${cell(refusal.message)} | ${cell(cites(refusal))} |`,
    );
  }
  const finish = Object.entries(row.finishReasons)
    .map(([server, ours]) => (server === ours ? `\`${server}\`` : `\`${server}\` → ${ours}`))
    .join(', ');
  lines.push(`| finish reasons | ${finish} | |`);
  lines.push(`| priority | ${cell(prioritySummary(row))} | ${cell(cites(row.priority))} |`);
  const detection = row.detection;
  const how = [
    detection.path && `\`GET ${detection.path}\` → \`${detection.versionField}\``,
    detection.serverHeader && `\`Server: ${detection.serverHeader}\``,
    detection.ownedBy && `\`owned_by: ${detection.ownedBy}\``,
    detection.requestIdHeader && `request id in \`${detection.requestIdHeader}\``,
  ].filter(Boolean);
  lines.push(`| detection | ${cell(how.join('; ') || 'by URL')} | ${cell(cites(detection))} |`);
  lines.push(
    row.affinity
      ? `| session key (\`session\`, \`affinityKey\`) | ${cell(affinitySummary(row.affinity))} | ${cell(cites(row.affinity))} |`
      : '| session key (`session`, `affinityKey`) | not sent (no source shows this server reads one) | |',
  );
  if (row.context) {
    const context = row.context;
    const what = [
      context.overlongPrompt === 'cut'
        ? 'an over-long prompt is cut silently'
        : 'an over-long prompt is refused',
      context.flag && `flag: ${context.flag}`,
      context.usage,
    ].filter(Boolean);
    lines.push(`| context | ${cell(what.join('; '))} | ${cell(cites(context))} |`);
  }
  if (row.tokenize) {
    lines.push(
      `| tokenize | \`${row.tokenize.tokenize}\`, \`${row.tokenize.detokenize}\` | ${cell(cites(row.tokenize))} |`,
    );
  }
  lines.push('');
  return lines;
}

/** One fact marked `verified: false`, and how a user checks it on their server. */
interface UnverifiedFact {
  row: string;
  fact: string;
  /** The `tokenwire probe` output line(s) that show it, or another way when the probe cannot. */
  check: string;
}

const probeLine = (...facts: string[]) =>
  `\`tokenwire probe\` line${facts.length > 1 ? 's' : ''} ${facts.map((f) => `\`${f}\``).join(', ')}`;

function endpointUnverified(row: WireFacts, kind: 'completions' | 'chat'): UnverifiedFact[] {
  const endpoint = row[kind];
  const out: UnverifiedFact[] = [];
  const name = kind === 'completions' ? 'Completions' : 'Chat';
  if (endpoint.ids.verified === false) {
    const lines = [`${kind}.ids`];
    if (endpoint.ids.promptField) lines.push(`${kind}.promptIds`);
    lines.push(`${kind}.resume`);
    out.push({ row: row.label, fact: `${name} ids: ${idsSummary(endpoint)}`, check: probeLine(...lines) });
  }
  if (endpoint.usage.verified === false) {
    out.push({
      row: row.label,
      fact: `${name} usage: ${usageSummary(endpoint)}`,
      check: probeLine(`${kind}.usage.includeUsage`, `${kind}.usage.withoutIncludeUsage`),
    });
  }
  return out;
}

/** Every fact of the table marked `verified: false`, with the way to check it. */
export function unverifiedFacts(): UnverifiedFact[] {
  const out: UnverifiedFact[] = [];
  for (const row of WIRE_FACTS) {
    out.push(...endpointUnverified(row, 'completions'), ...endpointUnverified(row, 'chat'));
    for (const error of row.httpErrors.filter((e) => e.verified === false)) {
      out.push({
        row: row.label,
        fact: `HTTP ${error.status} (${error.cause}): \`${error.body}\``,
        check:
          error.status === 401
            ? "not by the probe: `tokenwire models --base-url URL --api-key wrong` prints the server's 401 body"
            : 'not by the probe: send such a request with `tokenwire complete --base-url URL …`; the error line shows the body',
      });
    }
    if (row.inStreamError.verified === false) {
      out.push({
        row: row.label,
        fact: `in-stream error (${row.inStreamError.shape}, ${row.inStreamError.doneAfter ? '[DONE] after' : 'no [DONE] after'})`,
        check:
          'not by the probe (a healthy server sends none): a failed stream is saved under the failed-requests directory; `tokenwire replay --show FILE` shows its bytes',
      });
    }
    for (const refusal of row.refusals.filter((r) => r.verified === false)) {
      out.push({
        row: row.label,
        fact: `refuses ${refusal.trigger}`,
        check:
          refusal.body.priority !== undefined
            ? probeLine('completions.priority', 'chat.priority')
            : 'not by the probe: send such a request with `tokenwire complete`/`chat`',
      });
    }
    if (row.priority.verified === false) {
      out.push({
        row: row.label,
        fact: `priority: ${prioritySummary(row)}`,
        check:
          row.priority.field === undefined
            ? 'not by the probe (tokenwire sends no priority there): add `"priority": 1` to the curl request above and see that it is accepted'
            : probeLine('completions.priority', 'chat.priority'),
      });
    }
    if (row.detection.verified === false) {
      const { path, requestIdHeader } = row.detection;
      out.push({
        row: row.label,
        fact: `detection: ${path ? `version at \`GET ${path}\`` : 'by host name or `owned_by`'}${requestIdHeader ? `; request id in \`${requestIdHeader}\`` : ''}`,
        check: path
          ? `${probeLine('detection.versionPath')} (and the \`dialect:\` line above the checks)`
          : `the probe's \`dialect:\` line (how it was detected)${requestIdHeader ? `; the header: \`curl -sN -D - …\` on one request` : ''}`,
      });
    }
    if (row.tokenize?.verified === false) {
      out.push({
        row: row.label,
        fact: `tokenize: \`${row.tokenize.tokenize}\`, \`${row.tokenize.detokenize}\``,
        check: probeLine('tokenize.endpoints'),
      });
    }
  }
  return out;
}

function unverifiedSection(): string[] {
  const lines = [
    '## Facts not verified, and how to check them on your server',
    '',
    'Run `tokenwire probe --base-url URL --model NAME` (add `--api-key KEY` or set `TOKENWIRE_API_KEY`; the key is',
    'never printed). It sends one tiny request of each kind and prints one line per fact: `ok` when the server does',
    'what the row below says, `DISAGREE` (with what the table says) when it does not — please report those, with',
    'the `dialect:` line — and `-` when it could not compare. Exit code 8 means at least one disagreement.',
    '`--json` gives the same report for scripts. The line that shows each fact:',
    '',
    '| row | fact (not verified) | how to check it |',
    '|---|---|---|',
  ];
  for (const fact of unverifiedFacts()) {
    lines.push(`| \`${fact.row}\` | ${cell(fact.fact)} | ${cell(fact.check)} |`);
  }
  lines.push('');
  return lines;
}

/** docs/servers.md as the table says it. */
export function renderServersDoc(): string {
  const lines = [
    '# What each server sends (generated)',
    '',
    'Generated from `src/dialects/wire-facts.ts` by `test/helpers/servers-doc.ts`; edit the table, then run',
    '`UPDATE_DOCS=1 npx vitest run test/unit/wire-facts-docs.test.ts`. Every fact names where it was verified:',
    'the upstream file and function (and the commit read, or `main as indexed 2026-12`), or a recorded',
    'fixture in `test/fixtures/`. Facts marked **not verified** come from vendor documentation or notes only;',
    '`tokenwire probe` checks them against your server (see the list below).',
    '',
    '## Where this differs from PROTOCOLS.md',
    '',
    '- SGLang chat finish_reason comes in a chunk of its own after the last token (`_generate_chat_stream`),',
    '  and its in-stream error after a server-side abort is followed by `[DONE]`.',
    '- SGLang ignores `priority` without `--enable-priority-scheduling`, unless the server runs with',
    '  `--abort-on-priority-when-disabled`, which aborts such requests.',
    '- vLLM chat `logprobs.content[]` entries have no `id`: with `return_token_ids` the ids are in',
    '  `choices[i].token_ids`; before 0.10.2 they are spelled `"token_id:N"` in `logprobs.content[].token`.',
    '',
    '## The raw events, by hand',
    '',
    'To see what `tokenwire probe` reads, send one tiny streamed request with the fields the row asks for and look at the raw events',
    '(`curl -sN` shows them as the server writes them), for example:',
    '',
    '```sh',
    '# ids live? (Fireworks, vLLM, SGLang completions): look for token_ids in each chunk',
    'curl -sN $BASE/v1/completions -H "Authorization: Bearer $KEY" -H "Content-Type: application/json" \\',
    '  -d \'{"model":"M","prompt":"Hi","max_tokens":3,"stream":true,"return_token_ids":true,"stream_options":{"include_usage":true}}\'',
    '# Together: look for choices[0].delta.token_id (and null), and the finish_reason spelling',
    '# OpenRouter: the X-Generation-Id response header (curl -sN -D - …), usage on the last chunk',
    '# vLLM version and priority: curl $BASE/version; send "priority": 1 and expect HTTP 400 without',
    '#   --scheduling-policy priority',
    '```',
    '',
    'With `debug: true` (or `TOKENWIRE_DEBUG=1`) the client logs what detection found (`dialect`, `version`,',
    '`wire`), and an `ids_missing` warning when a server that should send ids did not.',
    '',
  ];
  lines.push(...unverifiedSection());
  for (const row of WIRE_FACTS) lines.push(...rowSection(row));
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The README's dialect table (one line per dialect: its newest row). */
export function renderReadmeTable(): string {
  const lines = [
    README_START,
    '| dialect (versions) | completion ids | chat ids | usage | priority | tokenize / detokenize |',
    '|---|---|---|---|---|---|',
  ];
  for (const row of WIRE_FACTS) {
    const name = row.label.includes('@')
      ? `\`${row.dialect}\` ${row.label.slice(row.label.indexOf('@'))}`
      : `\`${row.dialect}\``;
    const tokenize = row.tokenize ? `\`${row.tokenize.tokenize}\`, \`${row.tokenize.detokenize}\`` : '—';
    const usage =
      usageSummary(row.completions) === usageSummary(row.chat)
        ? usageSummary(row.completions)
        : `completions: ${usageSummary(row.completions)}; chat: ${usageSummary(row.chat)}`;
    lines.push(
      `| ${name} | ${cell(idsSummary(row.completions))} | ${cell(idsSummary(row.chat))} | ${cell(usage)} | ${cell(prioritySummary(row))} | ${tokenize} |`,
    );
  }
  lines.push(README_END);
  return lines.join('\n');
}

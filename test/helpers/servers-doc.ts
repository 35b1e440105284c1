/**
 * Renders docs/servers.md and the README's dialect table from the wire-facts
 * table (src/dialects/wire-facts.ts). test/unit/wire-facts-docs.test.ts fails
 * when the files differ from the rendering; `UPDATE_DOCS=1 npx vitest run
 * test/unit/wire-facts-docs.test.ts` rewrites them.
 */
import { WIRE_FACTS } from '../../src/dialects/wire-facts.js';
import type { Citation, Cited, EndpointFacts, WireFacts } from '../../src/dialects/wire-facts-types.js';

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
    '#### Errors, refusals, priority, detection',
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
  if (row.tokenize) {
    lines.push(
      `| tokenize | \`${row.tokenize.tokenize}\`, \`${row.tokenize.detokenize}\` | ${cell(cites(row.tokenize))} |`,
    );
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
    '`tokenwire probe` checks them against your server.',
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
    '## Checking a fact marked not verified on your server',
    '',
    'Send one tiny streamed request with the fields the row asks for and look at the raw events',
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

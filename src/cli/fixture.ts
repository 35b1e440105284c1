/**
 * Reading a failed-request fixture (the library's capture format) and showing
 * it readably: request, response head, the raw bytes received, the error.
 */
import { readFile } from 'node:fs/promises';
import { CAPTURE_FORMAT, type FailedRequestFixture } from '../diagnostics/capture.js';
import { UsageError } from './exit-codes.js';

/** Longest JSON value shown per body field in --show (a long id prompt is not worth a screen). */
const MAX_FIELD_CHARS = 2_000;

export async function readFixture(path: string): Promise<FailedRequestFixture> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read fixture ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
  let fixture: FailedRequestFixture;
  try {
    fixture = JSON.parse(text) as FailedRequestFixture;
  } catch (error) {
    throw new UsageError(`${path} is not JSON: ${(error as Error).message}`);
  }
  if (fixture?.format !== CAPTURE_FORMAT) {
    throw new UsageError(
      `${path} is not a tokenwire failed-request fixture (format ${JSON.stringify(fixture?.format)}, expected ${CAPTURE_FORMAT})`,
    );
  }
  if (!Array.isArray(fixture.attempts) || fixture.attempts.length === 0 || !fixture.attempts[0]?.request) {
    throw new UsageError(`${path} has no captured request`);
  }
  return fixture;
}

/** The error code the first attempt failed with (what a one-attempt replay should reproduce). */
export function capturedCode(fixture: FailedRequestFixture): string {
  const first = fixture.attempts[0].error?.code ?? fixture.error?.code;
  return typeof first === 'string' ? first : 'unknown';
}

function shortJson(value: unknown): string {
  const json = JSON.stringify(value) ?? 'undefined';
  return json.length > MAX_FIELD_CHARS
    ? `${json.slice(0, MAX_FIELD_CHARS)}… (${json.length - MAX_FIELD_CHARS} more chars)`
    : json;
}

function bodyLines(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [shortJson(body)];
  const entries = Object.entries(body);
  // Valid JSON (no comma after the last member) unless a long value had to be shortened.
  return [
    '{',
    ...entries.map(
      ([key, value], i) =>
        `  ${JSON.stringify(key)}: ${shortJson(value)}${i < entries.length - 1 ? ',' : ''}`,
    ),
    '}',
  ];
}

/** Shows raw stream bytes line by line, with CRs visible. */
function rawLines(raw: NonNullable<FailedRequestFixture['attempts'][0]['raw']>): string[] {
  const bytes = raw.encoding === 'base64' ? Buffer.from(raw.data, 'base64') : Buffer.from(raw.data, 'utf8');
  const text = bytes.toString('utf8');
  const lines = text.split('\n').map((line) => `| ${line.replaceAll('\r', '\\r')}`);
  if (text.endsWith('\n')) lines.pop();
  const notes = [`${raw.totalBytes} bytes received`];
  if (raw.truncatedHead) notes.push(`only the last ${bytes.length} kept`);
  if (raw.encoding === 'base64') notes.push('not valid UTF-8: shown with replacement characters');
  if (!text.endsWith('\n') && text !== '') notes.push('no newline at the end');
  return [...lines, `(${notes.join('; ')})`];
}

/** The whole fixture, readably. */
export function showFixture(path: string, fixture: FailedRequestFixture): string {
  const out: string[] = [
    `fixture ${path}`,
    `created ${fixture.createdAt} by tokenwire ${fixture.tokenwireVersion}; ${fixture.kind} request, dialect ${fixture.dialect}`,
    `error: ${String(fixture.error?.message ?? fixture.error?.code)}`,
    `tokens received before the failure: ${fixture.tokensReceived}`,
  ];
  fixture.attempts.forEach((attempt, index) => {
    out.push('', `── attempt ${index + 1} of ${fixture.attempts.length} (started ${attempt.startedAt})`);
    const { request, response } = attempt;
    out.push(`> ${request.method} ${request.url}`);
    for (const [name, value] of Object.entries(request.headers)) out.push(`> ${name}: ${value}`);
    out.push('>', ...bodyLines(request.body).map((line) => `> ${line}`));
    if (response) {
      out.push(`< ${response.status}`);
      for (const [name, value] of Object.entries(response.headers)) out.push(`< ${name}: ${value}`);
      out.push('<');
    } else {
      out.push('< (no response head)');
    }
    if (attempt.raw) out.push(...rawLines(attempt.raw));
    if (attempt.error) out.push(`error: ${String(attempt.error.message ?? attempt.error.code)}`);
    const t = attempt.timings;
    const timings = [
      t.headersMs === undefined ? undefined : `headers ${Math.round(t.headersMs)} ms`,
      t.firstTokenMs === undefined ? undefined : `first token ${Math.round(t.firstTokenMs)} ms`,
      `duration ${Math.round(t.durationMs)} ms`,
    ].filter((part) => part !== undefined);
    out.push(`timings: ${timings.join(', ')}`);
    if (attempt.retry) {
      out.push(
        `then: ${attempt.retry.reason}${attempt.retry.delayMs > 0 ? ` (after ${Math.round(attempt.retry.delayMs)} ms)` : ''}`,
      );
    }
  });
  return out.join('\n');
}

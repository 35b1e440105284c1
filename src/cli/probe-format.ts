/**
 * How `tokenwire probe` prints a probe report for people: the server and the
 * table row it was compared with, one line per fact (what the server did; for a
 * disagreement also what the table says), then the verdict.
 */
import type { ProbeCheck, ProbeReport } from '../index.js';

const MARK: Record<ProbeCheck['status'], string> = { agree: 'ok', disagree: 'DISAGREE', unchecked: '-' };

/** The report as lines of text (no trailing newline on each). */
export function probeLines(report: ProbeReport): string[] {
  const { server } = report;
  const how =
    report.dialectSource === 'configured'
      ? 'named with --dialect'
      : server.detectedBy === undefined || server.detectedBy.length === 0
        ? 'not recognised: the generic dialect'
        : `detected by ${server.detectedBy.join(', ')}`;
  const lines = [
    `server:  ${report.url}`,
    `dialect: ${server.dialect}${server.version === undefined ? '' : ` ${server.version}`} (${how})`,
    `table:   compared with the wire-facts row ${report.row} (docs/servers.md)`,
    '',
  ];
  const markWidth = Math.max(...Object.values(MARK).map((mark) => mark.length));
  const factWidth = Math.max(...report.checks.map((check) => check.fact.length));
  for (const check of report.checks) {
    const unverified = check.unverified ? ' [table: not verified]' : '';
    lines.push(
      `${MARK[check.status].padEnd(markWidth)}  ${check.fact.padEnd(factWidth)}  ${check.observed}${unverified}`,
    );
    const indent = ' '.repeat(markWidth + factWidth + 4);
    if (check.status === 'disagree' && check.expected !== undefined)
      lines.push(`${indent}table says: ${check.expected}`);
    if (check.detail !== undefined) lines.push(`${indent}(${oneLine(check.detail)})`);
  }
  lines.push('');
  const agreed = report.checks.filter((c) => c.status === 'agree').length;
  const unchecked = report.checks.filter((c) => c.status === 'unchecked').length;
  const counts = `${agreed} agree, ${report.disagreements} disagree, ${unchecked} not compared`;
  const time = `${(report.durationMs / 1000).toFixed(2)} s`;
  lines.push(
    report.disagreements === 0
      ? `${counts} (${time}): the server does what the table says for ${report.row}.`
      : `${counts} (${time}): the server does not do what the table says for ${report.row}. Please report the DISAGREE lines (or the output of --json) with the server's version.`,
  );
  return lines;
}

/** Server messages can span lines; the report keeps one line per note. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Standard input for prompts and messages. */
import { UsageError } from './exit-codes.js';

/** Largest standard input accepted (a 1M-token prompt as text is a few MiB). */
const MAX_STDIN_BYTES = 256 * 1024 * 1024;

/** Reads all of standard input as UTF-8; a usage error when it is a terminal (nothing piped). */
export async function readStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) {
    throw new UsageError(`no ${what} given: pass it as a flag or pipe it on standard input (see --help)`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_STDIN_BYTES)
      throw new UsageError(`standard input is larger than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') throw new UsageError(`no ${what} given: standard input was empty (see --help)`);
  return text;
}

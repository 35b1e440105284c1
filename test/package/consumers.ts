/**
 * The programs of the consumer project made by pack.test.ts: one project (`npm init`'s
 * `"type": "commonjs"`), several programs, each run against the simulator it starts
 * from `tokenwire/sim`. Every program prints one JSON line: the ids, text and finish
 * reason of a stream that the simulator breaks once (so resume runs in that build too).
 */

/** The stream every program runs, and what it prints. */
const BODY = `
  const sim = await startSimulator({ dialect: 'vllm', faults: 'reset-after:3:once' });
  const client = new Client({ baseUrl: sim.url, failedRequestsDir: false, logger: () => {} });
  try {
    const result = await client.streamCompletion({ prompt: [1, 2, 3], maxTokens: 8 }).final();
    const first: number | undefined = result.ids[0];
    console.log(JSON.stringify({
      kind: KIND,
      ids: result.ids,
      first,
      text: result.text,
      finishReason: result.finishReason,
      resumes: result.stats.resumes,
      errorClass: typeof TokenwireError,
    }));
  } finally {
    await client.close();
    await sim.close();
  }
`;

/** Plain JavaScript, CommonJS (`require`), as in a fresh `npm init` project. */
export const CJS_PROGRAM = `'use strict';
const { Client, TokenwireError } = require('tokenwire');
const { startSimulator } = require('tokenwire/sim');
const KIND = 'cjs';
(async () => {${BODY.replace(': number | undefined', '')}})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

/** Plain JavaScript, ESM (`import`, top-level await). */
export const ESM_PROGRAM = `import { Client, TokenwireError } from 'tokenwire';
import { startSimulator } from 'tokenwire/sim';
const KIND = 'esm';
${BODY.replace(': number | undefined', '')}`;

/**
 * TypeScript, the same text compiled as CommonJS (`.ts` in a CommonJS project) and as ESM
 * (`.mts`). The misspelled option must be a type error: if the types did not resolve
 * (everything `any`), the `@ts-expect-error` would itself be an error.
 */
export function tsProgram(kind: string): string {
  return `import { Client, type CompletionResult, TokenwireError } from 'tokenwire';
import { startSimulator } from 'tokenwire/sim';
const KIND: string = ${JSON.stringify(kind)};
export async function main(): Promise<void> {${BODY}}
export function typeChecks(client: Client): Promise<CompletionResult> {
  // @ts-expect-error maxTokenz is not an option
  return client.streamCompletion({ prompt: [1], maxTokenz: 1 }).final();
}
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;
}

/**
 * Requires (CommonJS) or imports (ESM) every subpath of the package's "exports" and prints
 * each one's export names: both module systems must give the same, non-empty, lists.
 */
export function entriesProgram(subpaths: readonly string[], format: 'cjs' | 'esm'): string {
  const load = (spec: string) => (format === 'cjs' ? `require(${spec})` : `await import(${spec})`);
  const lines = subpaths.map(
    (subpath) =>
      `names[${JSON.stringify(subpath)}] = Object.keys(${load(JSON.stringify(`tokenwire${subpath.slice(1)}`))}).filter((k) => k !== 'default' && k !== '__esModule').sort();`,
  );
  const body = `const names = {};\n${lines.join('\n')}\nconsole.log(JSON.stringify(names));\n`;
  return format === 'cjs' ? `'use strict';\n${body}` : body;
}

/** TypeScript that only has to type-check: every entry point, imported under the given resolution. */
export function tsEntries(subpaths: readonly string[]): string {
  return `${subpaths
    .map((subpath, i) => `import * as entry${i} from ${JSON.stringify(`tokenwire${subpath.slice(1)}`)};`)
    .join('\n')}\nexport const entries = [${subpaths.map((_, i) => `entry${i}`).join(', ')}];\n`;
}

/** tsconfig of one resolution mode; `typeRoots` lends the consumer this repository's @types/node. */
export function tsconfig(mode: 'node16' | 'nodenext' | 'bundler', files: string[], typeRoots: string) {
  const module = mode === 'bundler' ? 'preserve' : mode;
  return {
    compilerOptions: {
      module,
      moduleResolution: mode,
      target: 'ES2022',
      strict: true,
      // As most projects do (and 3x faster here); @arethetypeswrong/cli checks our .d.ts files.
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [typeRoots],
      outDir: `out-${mode}`,
      rootDir: '.',
    },
    files,
  };
}

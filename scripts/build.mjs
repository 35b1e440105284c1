#!/usr/bin/env node
/**
 * Builds the package: ESM and CommonJS, each with its own types.
 *
 *   dist/             ESM (`"type": "module"` from the root package.json) and .d.ts, by tsc
 *   dist/cjs/         CommonJS: every module of src/ but the CLI, transpiled one by one
 *                     (tsconfig.json has `isolatedModules`, so that is exact), the same
 *                     .d.ts beside them, and a package.json `{"type": "commonjs"}` that makes
 *                     Node and TypeScript read both as CommonJS.
 *
 * CommonJS has no `import.meta`: `import.meta.url` is rewritten (commonJsMeta below), and a
 * dynamic `import()` becomes `require()` (fine for CommonJS packages and, from Node 20.19,
 * for ES modules without top-level await).
 *
 * No source maps: the package does not ship src/, and a map pointing at files that are
 * not there only makes debuggers and bundlers complain.
 *
 * ADDING AN ENTRY POINT (`tokenwire/NAME`):
 *   1. write src/NAME/index.ts (everything under src/ is built both ways already);
 *   2. add to "exports" in package.json, in this exact shape (the order matters to TypeScript:
 *      "types" first inside each condition):
 *        "./NAME": {
 *          "import": { "types": "./dist/NAME/index.d.ts", "default": "./dist/NAME/index.js" },
 *          "require": { "types": "./dist/cjs/NAME/index.d.ts", "default": "./dist/cjs/NAME/index.js" }
 *        }
 *   That is all: this script fails when an entry does not have that shape or names a file
 *   the build did not make, and test/package/pack.test.ts imports and requires every entry
 *   of "exports" from an installed tarball, and runs @arethetypeswrong/cli on it.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ts = require('typescript');

const SRC = join(root, 'src');
const DIST = join(root, 'dist');
const CJS = join(DIST, 'cjs');
/** Not part of the library: the CLI is the package's ESM `bin`. */
const ESM_ONLY = new Set(['cli']);

/** The exports entry of subpath `name` ('.' or './sim'), as it must be. */
function exportsEntry(subpath) {
  const base = subpath === '.' ? 'index' : `${subpath.slice(2)}/index`;
  return {
    import: { types: `./dist/${base}.d.ts`, default: `./dist/${base}.js` },
    require: { types: `./dist/cjs/${base}.d.ts`, default: `./dist/cjs/${base}.js` },
  };
}

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function checkExports(pkg) {
  for (const [subpath, entry] of Object.entries(pkg.exports)) {
    if (subpath === './package.json') continue;
    const expected = JSON.stringify(exportsEntry(subpath));
    if (JSON.stringify(entry) !== expected) {
      fail(`package.json exports["${subpath}"] should be ${expected} (see the comment in scripts/build.mjs)`);
    }
  }
}

/**
 * `import.meta` is a syntax error in CommonJS: `import.meta.url` (createRequire's argument,
 * as in src/telemetry/api.ts) becomes the same file URL built from `__filename`; any
 * other use of `import.meta` fails the build, to be handled here first.
 */
function commonJsMeta(code, rel) {
  const replaced = code.replaceAll('import.meta.url', 'require("node:url").pathToFileURL(__filename).href');
  if (replaced.includes('import.meta'))
    fail(`${rel}: import.meta other than import.meta.url has no CommonJS form here`);
  return replaced;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
checkExports(pkg);

rmSync(DIST, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  {
    stdio: 'inherit',
  },
);

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  isolatedModules: true,
  removeComments: false,
};
for (const file of walk(SRC)) {
  if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
  const rel = relative(SRC, file);
  if (ESM_ONLY.has(rel.split(/[\\/]/)[0])) continue;
  const out = join(CJS, rel.replace(/\.ts$/, '.js'));
  const { outputText, diagnostics } = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions,
    fileName: file,
    reportDiagnostics: true,
  });
  if (diagnostics?.length) {
    fail(`${rel}: ${ts.flattenDiagnosticMessageText(diagnostics[0].messageText, '\n')}`);
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, commonJsMeta(outputText, rel));
  // The declarations are the same text; under dist/cjs/ they are read as CommonJS.
  const types = join(DIST, rel.replace(/\.ts$/, '.d.ts'));
  if (existsSync(types)) copyFileSync(types, join(CJS, rel.replace(/\.ts$/, '.d.ts')));
}
writeFileSync(join(CJS, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);

for (const [subpath, entry] of Object.entries(pkg.exports)) {
  if (subpath === './package.json') continue;
  for (const condition of Object.values(entry)) {
    for (const target of Object.values(condition)) {
      if (!existsSync(join(root, target)))
        fail(`exports["${subpath}"] names ${target}, which the build did not make`);
    }
  }
}

/**
 * One measurement in a fresh process: set up one client, run a warm-up, then
 * measure CPU (process.cpuUsage around the work only), wall time, peak RSS over
 * the baseline taken right before the work (with the young generation resident:
 * makeYoungGenerationResident), and time to first token; finally
 * check every stream's output against the generator. Forked by run.mjs, which
 * passes the job as JSON in argv[2] and gets the result over IPC.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import v8 from 'node:v8';
import { CLIENT_KIND, CLIENTS } from './clients.mjs';
import { encodeStream, generateTokens } from './stream-gen.mjs';

/** RSS sampling period during the work, where the kernel's high-water mark is not available. */
const RSS_SAMPLE_MS = 5;

/**
 * The process's peak RSS as the kernel counts it (Linux: VmHWM), reset first so that
 * it covers the work only. Exact, unlike sampling: a timer gets few turns while the
 * event loop is busy with the work (seen: 1 to 6 samples in a 0.4 s run of 1,000
 * streams, so the "peak" was mostly the RSS at the end). Undefined where unavailable.
 */
const kernelPeak = {
  reset() {
    try {
      writeFileSync('/proc/self/clear_refs', '5');
      return this.read() !== undefined;
    } catch {
      return false;
    }
  },
  read() {
    try {
      const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      return kb === undefined ? undefined : Number(kb) * 1024;
    } catch {
      return undefined;
    }
  },
};

const job = JSON.parse(process.argv[2]);
const now = process.hrtime.bigint;

function send(message) {
  if (process.send) process.send(message, () => process.exit(0));
  else {
    console.log(JSON.stringify(message));
    process.exit(0);
  }
}

async function runWorkload(client, streams, tokens) {
  const runs = new Array(streams);
  for (let i = 0; i < streams; i++) runs[i] = client.run(tokens);
  return Promise.all(runs);
}

/** The first mismatch between outputs and the expected stream, or undefined when all match. */
function check(outputs, tokens) {
  const expected = generateTokens(job.seed, tokens);
  const expectedBytes = encodeStream(job.seed, tokens, { promptTokens: 3 }).length;
  for (let s = 0; s < outputs.length; s++) {
    const out = outputs[s];
    if (!out.done) return `stream ${s}: ended without [DONE]/done`;
    if (out.bytes !== undefined) {
      if (out.bytes !== expectedBytes) return `stream ${s}: ${out.bytes} bytes, expected ${expectedBytes}`;
      continue;
    }
    if (out.count !== tokens) return `stream ${s}: ${out.count} tokens, expected ${tokens}`;
    if (out.ids) {
      for (let i = 0; i < tokens; i++) {
        if (out.ids[i] !== expected.ids[i])
          return `stream ${s}: id[${i}] = ${out.ids[i]}, expected ${expected.ids[i]}`;
      }
    }
    if (out.text !== expected.text) {
      let i = 0;
      while (i < out.text.length && out.text[i] === expected.text[i]) i++;
      return `stream ${s}: text differs at char ${i}: ${JSON.stringify(out.text.slice(i, i + 12))} vs ${JSON.stringify(expected.text.slice(i, i + 12))}`;
    }
    if (out.finishReason !== undefined && out.finishReason !== 'length') {
      return `stream ${s}: finish reason ${JSON.stringify(out.finishReason)}, expected "length"`;
    }
  }
  return undefined;
}

/**
 * Touches every page of the young generation before the baseline is taken, with
 * short-lived garbage, and reports how much of it was not resident. V8 shrinks the
 * young generation at a full GC (main's gc() before the settle rounds) and grows it back as a client
 * allocates; a client that allocates little during the settle rounds starts the work
 * with part of its young generation committed but not yet in RAM, and the work's first
 * scavenges then add those pages to the "peak over baseline" although every client
 * ends up with the same young generation (seen: 8 MB of 32 for tokenwire at 1,000
 * streams, 0-2 MB for raw). Made resident for every client alike, the peak measures
 * what the work itself holds: old space, buffers, native memory.
 */
/** Where the garbage goes, so that no compiler can drop its allocation. */
let _lastGarbage;

function makeYoungGenerationResident() {
  const young = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  const before = young();
  if (before === undefined) return undefined;
  // Bounded: at most 8 × the young generation's size of garbage (arrays of ~544 bytes).
  for (let round = 0; round < 8; round++) {
    const space = young();
    if (space.physical_space_size >= space.space_size) break;
    for (let allocated = 0; allocated < space.space_size; allocated += 64 * 8 + 32)
      _lastGarbage = new Array(64).fill(round);
  }
  const after = young();
  return {
    notResidentBeforeMb: (before.space_size - before.physical_space_size) / (1024 * 1024),
    notResidentAfterMb: (after.space_size - after.physical_space_size) / (1024 * 1024),
  };
}

async function main() {
  const factory = CLIENTS[job.client];
  if (!factory) throw new Error(`unknown client ${job.client}`);
  const kind = CLIENT_KIND[job.client] ?? 'completion';
  const baseUrl = `http://127.0.0.1:${job.port}/${job.mode}/${job.seed}`;
  let client;
  try {
    client = await factory({ baseUrl, connections: job.connections, kind });
  } catch (error) {
    send({ status: 'unavailable', reason: String(error?.message ?? error).split('\n')[0] });
    return;
  }

  for (let round = 0; round < (job.warmupRounds ?? 1); round++) {
    const warmupOutputs = await runWorkload(client, job.warmupStreams, job.tokens);
    const warmupProblem = check(warmupOutputs, job.tokens);
    if (warmupProblem) {
      send({ status: 'failed', reason: `warm-up: ${warmupProblem}` });
      return;
    }
  }

  globalThis.gc?.();
  globalThis.gc?.();
  // A forced full GC also shrinks the young generation and costs the next rounds dearly: a
  // 20k-token tokenwire stream, 0.6-0.7 µs/token in steady state, measured 3.1, 1.5, 1.0, 0.8
  // µs/token in the four rounds after gc() (raw: 1.9, then its steady 1.4-1.5). As many
  // unmeasured rounds as the warm-up had let every client get back to its steady state.
  for (let round = 0; round < Math.max(1, job.warmupRounds ?? 1); round++) {
    await runWorkload(client, job.warmupStreams, job.tokens);
  }
  const youngGeneration = makeYoungGenerationResident();
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  const exactPeak = kernelPeak.reset();
  const sampler = exactPeak
    ? undefined
    : setInterval(() => {
        const rss = process.memoryUsage.rss();
        if (rss > peakRss) peakRss = rss;
      }, RSS_SAMPLE_MS);

  const cpuStart = process.cpuUsage();
  const start = now();
  const outputs = await runWorkload(client, job.streams, job.tokens);
  const end = now();
  const cpu = process.cpuUsage(cpuStart);
  clearInterval(sampler);
  const endRss = exactPeak ? (kernelPeak.read() ?? 0) : process.memoryUsage.rss();
  if (endRss > peakRss) peakRss = endRss;

  const problem = check(outputs, job.tokens);
  await client.close();
  if (problem) {
    send({ status: 'failed', reason: problem });
    return;
  }
  const totalTokens = job.streams * job.tokens;
  const wallNs = Number(end - start);
  send({
    status: 'ok',
    totalTokens,
    wallMs: wallNs / 1e6,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    cpuUsPerToken: (cpu.user + cpu.system) / totalTokens,
    tokensPerSec: totalTokens / (wallNs / 1e9),
    peakRssOverBaselineMb: (peakRss - baselineRss) / (1024 * 1024),
    baselineRssMb: baselineRss / (1024 * 1024),
    youngGeneration,
    rssMeasure: exactPeak ? 'kernel high-water mark' : `sampled every ${RSS_SAMPLE_MS} ms`,
    ttftMs: job.streams === 1 ? Number(outputs[0].firstTokenNs - start) / 1e6 : undefined,
  });
}

main().catch((error) => {
  send({
    status: 'failed',
    reason: `error: ${String(error?.stack ?? error)
      .split('\n')
      .slice(0, 3)
      .join(' | ')}`,
  });
});

/**
 * The fleet benchmark's replicas: a simulator cluster (dist/sim startCluster) in its
 * own process, so that the client's CPU and timings are measured apart from the
 * servers'. Started with fork(JSON options); reports `{ urls }` over IPC, then answers
 * `{ id, op: 'kill' | 'restart' | 'stats' | 'slow', index?, factor? }` with `{ id, result }`.
 * Exits when the parent goes.
 */
import { startCluster } from '../dist/sim/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const cluster = await startCluster(options);
process.send({ urls: cluster.urls });

process.on('message', async (message) => {
  const { id, op, index, factor } = message;
  let result;
  if (op === 'kill') await cluster.replicas[index].kill();
  else if (op === 'restart') await cluster.replicas[index].restart();
  else if (op === 'slow') cluster.replicas[index].setSlowdown(factor);
  else if (op === 'stats') result = cluster.stats();
  process.send({ id, result });
});
process.on('disconnect', async () => {
  await cluster.close();
  process.exit(0);
});

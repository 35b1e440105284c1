/**
 * A cluster of simulated replicas for fleet tests and benchmarks: N simulators on
 * loopback serving the same deterministic model (same seed, so a greedy stream
 * continued on another replica gives exactly the ids it would have), each with its
 * own faults, prefix cache and service rate (replica-model.ts), each able to be
 * killed and restarted on its port while a run goes on.
 */
import { type FaultSpec, parseFaults } from './faults.js';
import { ReplicaModel, type ReplicaModelOptions, type ReplicaStats } from './replica-model.js';
import { type SimReport, type Simulator, type SimulatorOptions, startSimulator } from './server.js';

/** Options of one replica (beside the cluster's shared ones). */
export interface ReplicaOptions extends ReplicaModelOptions {
  /** This replica's faults (same grammar as the simulator's). */
  faults?: string | FaultSpec[];
}

/** Options of {@link startCluster}. */
export interface ClusterOptions
  extends Omit<SimulatorOptions, 'port' | 'faults' | 'replica' | 'tokenDelayMs'>,
    ReplicaModelOptions {
  /** How many replicas (1–64). */
  replicas: number;
  /** Port of the first replica, the next ones following (default 0: free ports). */
  basePort?: number;
  /** Faults of every replica. */
  faults?: string | FaultSpec[];
  /** Per-replica overrides, by index (faults, slowdown, cache size, …). */
  replica?: (ReplicaOptions | undefined)[];
}

/** One replica of a cluster. */
export interface Replica {
  readonly index: number;
  /** 'http://127.0.0.1:PORT' (the same across restarts). */
  readonly url: string;
  /** Whether it is serving now. */
  readonly running: boolean;
  /** Prefix-cache and load counters (kept across restarts). */
  stats(): ReplicaStats;
  /** The simulator's report of the current run (since the last start). */
  report(): SimReport;
  /** Stops it at once: open streams are cut, new connections refused. */
  kill(): Promise<void>;
  /** Starts it again on the same port, its prefix cache cold. */
  restart(): Promise<void>;
  /** Makes it slower (3 = three times) or faster, from now on. */
  setSlowdown(factor: number): void;
}

/** A running cluster. */
export interface Cluster {
  readonly replicas: readonly Replica[];
  /** The replicas' URLs, in order. */
  readonly urls: readonly string[];
  /** Prefix-cache and load counters summed over the replicas. */
  stats(): ReplicaStats & { perReplica: ReplicaStats[] };
  close(): Promise<void>;
}

const MAX_REPLICAS = 64;

class ClusterReplica implements Replica {
  running = true;
  private readonly model: ReplicaModel;

  constructor(
    readonly index: number,
    private sim: Simulator,
    private readonly options: SimulatorOptions,
    modelOptions: ReplicaModelOptions,
  ) {
    this.model = options.replica ?? new ReplicaModel(modelOptions);
  }

  get url(): string {
    return this.sim.url;
  }

  stats(): ReplicaStats {
    return { ...this.model.stats };
  }

  report(): SimReport {
    return this.sim.report();
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.sim.close();
  }

  async restart(): Promise<void> {
    if (this.running) return;
    this.model.clearCache();
    this.sim = await startSimulator({ ...this.options, port: this.sim.port });
    this.running = true;
  }

  setSlowdown(factor: number): void {
    if (!(factor > 0) || !Number.isFinite(factor)) {
      throw new Error(`setSlowdown: factor must be a positive number, got ${factor}`);
    }
    this.model.slowdown = factor;
  }
}

/**
 * Starts `replicas` simulators on loopback, one replica model each.
 *
 * @example
 * const cluster = await startCluster({ replicas: 4, tokenDelayMs: 2, replica: [{ slowdown: 3 }] });
 * const client = new Client({ endpoints: cluster.urls });
 * await cluster.replicas[1].kill(); // streams on it resume elsewhere
 * await cluster.close();
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const count = options.replicas;
  if (!Number.isInteger(count) || count < 1 || count > MAX_REPLICAS) {
    throw new Error(`startCluster: 'replicas' must be an integer from 1 to ${MAX_REPLICAS}, got ${count}`);
  }
  const { replicas: _count, replica: overrides, faults, basePort = 0, ...shared } = options;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + count - 1 > 65_535) {
    throw new Error(`startCluster: 'basePort' must be a port from 0 to ${65_536 - count}, got ${basePort}`);
  }
  parseFaults(faults);
  const modelKeys = ['cacheBlocks', 'tokenDelayMs', 'prefillMsPerToken', 'concurrency', 'slowdown'] as const;
  const replicas: ClusterReplica[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const own = overrides?.[i] ?? {};
      const modelOptions: ReplicaModelOptions = {};
      for (const key of modelKeys) {
        const value = own[key] ?? options[key];
        if (value !== undefined) {
          if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
            throw new Error(`startCluster: '${key}' must be a non-negative number, got ${value}`);
          }
          modelOptions[key] = value;
        }
      }
      const model = new ReplicaModel(modelOptions);
      const simOptions: SimulatorOptions = {
        ...shared,
        faults: [...parseFaults(faults), ...parseFaults(own.faults)],
        replica: model,
        port: basePort === 0 ? 0 : basePort + i,
      };
      for (const key of modelKeys) delete (simOptions as Record<string, unknown>)[key];
      const sim = await startSimulator(simOptions);
      replicas.push(new ClusterReplica(i, sim, simOptions, modelOptions));
    }
  } catch (error) {
    await Promise.all(replicas.map((r) => r.kill()));
    throw error;
  }
  return {
    replicas,
    urls: replicas.map((r) => r.url),
    stats() {
      const perReplica = replicas.map((r) => r.stats());
      const total: ReplicaStats = { requests: 0, promptTokens: 0, cachedTokens: 0, active: 0, maxActive: 0 };
      for (const s of perReplica) {
        total.requests += s.requests;
        total.promptTokens += s.promptTokens;
        total.cachedTokens += s.cachedTokens;
        total.active += s.active;
        total.maxActive = Math.max(total.maxActive, s.maxActive);
      }
      return { ...total, perReplica };
    },
    async close() {
      await Promise.all(replicas.map((r) => r.kill()));
    },
  };
}

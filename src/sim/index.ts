/**
 * tokenwire/sim — a fault-injecting OpenAI-compatible server for tests, demos
 * and benchmarks. It emulates vLLM, SGLang, llama.cpp, OpenAI, OpenRouter,
 * Together and Fireworks wire shapes with a deterministic toy model. It imports
 * nothing from the client; the server versions it emulates come from the
 * wire-facts table (src/dialects/wire-facts*.ts), which is data.
 */
export type { Cluster, ClusterOptions, Replica, ReplicaOptions } from './cluster.js';
export { startCluster } from './cluster.js';
export type { FaultName, FaultSpec } from './faults.js';
export { generate } from './generator.js';
export type { ReplicaModel, ReplicaModelOptions, ReplicaStats } from './replica-model.js';
export type { SimDialect } from './request.js';
export type { Outcome as SimOutcome } from './responder.js';
export type { SimReport, SimRequestRecord, Simulator, SimulatorOptions } from './server.js';
export { startSimulator } from './server.js';
export { detokenize, tokenize } from './tokenizer.js';
export { SIM_VERSIONS, SIM_WIRES } from './versions.js';

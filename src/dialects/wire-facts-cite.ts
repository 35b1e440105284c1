/**
 * Citation builders for the wire-facts table: the upstream files each fact was
 * read in, named once. `INDEXED` marks a file read from the public code index in
 * 2026-12 where the index gave no commit for the version read.
 */
import type { Citation } from './wire-facts-types.js';

/** The revision label of a file read from the code index without a commit. */
export const INDEXED = 'main as indexed 2026-12';

/** vLLM source file, path under `vllm/`. */
export function vllmSource(path: string, where: string, revision = INDEXED): Citation {
  return { kind: 'source', ref: `vllm-project/vllm vllm/${path}`, where, revision };
}

/** SGLang source file, path under `python/sglang/srt/`. */
export function sglangSource(path: string, where: string, revision = INDEXED): Citation {
  return { kind: 'source', ref: `sgl-project/sglang python/sglang/srt/${path}`, where, revision };
}

/** llama.cpp source file, path under `tools/server/`. */
export function llamaSource(path: string, where: string, revision = INDEXED): Citation {
  return { kind: 'source', ref: `ggml-org/llama.cpp tools/server/${path}`, where, revision };
}

/**
 * llama.cpp server source from before the move to `tools/server/` (early 2025:
 * everything in `examples/server/server.cpp`).
 */
export function llamaExampleSource(path: string, where: string, revision: string): Citation {
  return { kind: 'source', ref: `ggml-org/llama.cpp examples/server/${path}`, where, revision };
}

/** A recorded llama.cpp b4748 response in test/fixtures/llamacpp. */
export function b4748Fixture(file: string, where?: string): Citation {
  return { kind: 'fixture', ref: `test/fixtures/llamacpp/${file}`, where, revision: 'b4748-c392e5094' };
}

/** A recorded llama.cpp 2026 master response in test/fixtures/llamacpp-2026. */
export function llama2026Fixture(file: string, where?: string): Citation {
  return { kind: 'fixture', ref: `test/fixtures/llamacpp-2026/${file}`, where, revision: 'b10587-3f545becc' };
}

/** Documentation or an SDK (not the server's own code). */
export function docs(ref: string, where?: string): Citation {
  return { kind: 'docs', ref, where };
}

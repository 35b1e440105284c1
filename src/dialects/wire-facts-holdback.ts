/**
 * How each server holds back streamed text that may begin a stop string (the
 * `stopHoldback` of its wire-facts rows). Read in the servers' source; what the
 * client does with it is src/stream/held-text.ts, what the simulator does is
 * src/sim/holdback.ts.
 */
import { llamaSource, sglangSource, vllmSource } from './wire-facts-cite.js';
import type { StopHoldbackFact } from './wire-facts-types.js';

/** The vLLM revision the detokenizer was read at. */
const VLLM_DETOKENIZER_COMMIT = 'e372329d90d7d12e3957ac21c4097fd9bb79192c';

/**
 * vLLM: `stop_buffer_length = max(len(s) for s in stop) - 1` unless
 * `include_stop_str_in_output`; `get_next_output_text` returns the output text but its last
 * `stop_buffer_length` characters (Python `str`: code points) while the request runs, and all
 * of it once finished (any finish: length, EOS, stop string — cut before the stop string). The
 * chunk of a token whose text is held is still sent, text "" and its `token_ids`: the
 * serving layer skips a chunk only when it has neither text nor ids (chunked prefill).
 */
export const VLLM_HOLDBACK: StopHoldbackFact = {
  mode: 'suffix',
  unit: 'codepoint',
  atFinish: 'flush',
  offWhen: { include_stop_str_in_output: true },
  firstMatch: 'list-order',
  cite: [
    vllmSource(
      'engine/output_processor/stop_checker.py',
      'StopChecker._check_stop_strings: `for stop_str in sampling_params.stop:` returns the first one found (check_stop_strings in v1/engine/detokenizer.py keeps the loop)',
      '4c79cbef63fa0a0e1497d88c35753b6c04355ddd',
    ),
    vllmSource(
      'v1/engine/detokenizer.py',
      'BaseIncrementalDetokenizer.__init__ (stop_buffer_length) and get_next_output_text(finished, delta)',
      VLLM_DETOKENIZER_COMMIT,
    ),
    vllmSource(
      'v1/engine/output_processor.py',
      '_make_request_output: text=detokenizer.get_next_output_text(finished, delta), token_ids=new_token_ids',
      '0015f3f6a0e6ccca781c3f0b127101153c12ebbe',
    ),
    vllmSource(
      'entrypoints/openai/completion/serving.py',
      'completion_stream_generator: `if not delta_text and not delta_token_ids and not previous_num_tokens[i]: continue` (only then is a chunk skipped)',
      '030ea52effcb05071543c8c42b8f0145e94cee43',
    ),
    vllmSource(
      'entrypoints/openai/chat_completion/serving.py',
      'chat_completion_stream_generator: the same skip rule; a chunk with token_ids is sent even when delta_message is None',
      '5e918640d7b65820db5beaa98c2a99925bff7c17',
    ),
  ],
};

/**
 * llama.cpp: `process_token` checks the text not yet sent (`generated_text` from
 * `n_sent_text`): a full stop string cuts it there (what comes before goes out); otherwise,
 * unless the token is EOG, `find_stopping_strings(..., false)` (`string_find_partial_stop`)
 * holds ALL of it (`text_to_send = ""`) while it ends with the beginning of a stop string.
 * The partial response is still sent (`tokens: {tok}`, its probs with `n_probs`). The limit
 * (`has_budget`) is checked after that, and in stream mode `send_final_response` sends no
 * content ("already in last partial chunk"): text held when max_tokens ends the stream is
 * never sent, even without a break.
 */
export const LLAMACPP_HOLDBACK: StopHoldbackFact = {
  mode: 'partial',
  atFinish: 'lost-at-length',
  firstMatch: 'earliest-start',
  cite: [
    llamaSource(
      'server-context.cpp',
      'process_token (find_stopping_strings full, then partial unless EOG; text_to_send = "" while held), send_partial_response, send_final_response (stream: content ""); find_stopping_strings keeps the match with the smallest pos',
      'fb4026604c67c682f552337ec9b91eced0abd35a',
    ),
  ],
};

/**
 * SGLang: the scheduler checks stop strings (`_check_str_based_finish`); the detokenizer
 * sends every decodable character at once (only an incomplete UTF-8 character waits) and
 * trims the matched stop string from the output only when the request finishes
 * (`trim_matched_stop`). The serving layer sends `text[len(stream_buffer):]`, so a stop
 * string's beginning already sent stays sent. Nothing is held back for stop strings.
 */
export const SGLANG_HOLDBACK: StopHoldbackFact = {
  mode: 'none',
  atFinish: 'none',
  firstMatch: 'list-order',
  cite: [
    sglangSource(
      'managers/schedule_batch.py',
      'Req._check_str_based_finish: `for stop_str in self.sampling_params.stop_strs:` ends at the first found',
    ),
    sglangSource(
      'managers/detokenizer_manager.py',
      'event loop: output s.decoded_text + new_text while streaming, trim_eos (trim_matched_stop in later versions) only with a finished_reason',
      '1e8903414a4385f29765e4a1ac2551825e9aba66',
    ),
    sglangSource(
      'entrypoints/openai/serving_completions.py',
      'generate_stream_resp: delta = text[len(stream_buffer):]',
      '7190e6fe8cfd50b0747f968bbdacfcc29ed98a4c',
    ),
  ],
};

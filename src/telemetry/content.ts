/**
 * Prompt content as the conventions' `gen_ai.input.messages` (a JSON string on the
 * span), recorded only when the user opted in (`telemetry.captureContent`).
 */
import type { ChatMessage } from '../types.js';

/** A text prompt, a token-id prompt, or chat messages, as input messages JSON. */
export function inputMessages(input: string | readonly number[] | readonly ChatMessage[]): string {
  if (typeof input === 'string') return JSON.stringify([{ role: 'user', parts: [textPart(input)] }]);
  if (input.length === 0 || typeof input[0] === 'number') {
    // Token ids are the prompt itself: kept as ids (a part type of tokenwire's own).
    return JSON.stringify([{ role: 'user', parts: [{ type: 'token_ids', content: input }] }]);
  }
  return JSON.stringify(
    (input as readonly ChatMessage[]).map((message) => ({
      role: message.role,
      parts:
        typeof message.content === 'string'
          ? [textPart(message.content)]
          : [{ type: 'json', content: message.content }],
    })),
  );
}

function textPart(content: string): { type: 'text'; content: string } {
  return { type: 'text', content };
}

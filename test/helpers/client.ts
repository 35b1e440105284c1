/** Client construction for tests: quiet logger (records kept), no capture unless asked. */
import { Client, type ClientOptions, type LogRecord } from '../../src/index.js';

export interface TestClient {
  client: Client;
  logs: LogRecord[];
}

export function testClient(baseUrl: string, options: ClientOptions = {}): TestClient {
  const logs: LogRecord[] = [];
  const client = new Client({
    baseUrl,
    failedRequestsDir: false,
    retry: false,
    logger: (record) => logs.push(record),
    ...options,
  });
  return { client, logs };
}

/** Runs `fn` and returns the error it throws (fails the test when it does not throw). */
export async function caught(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a failure, but the call succeeded');
}

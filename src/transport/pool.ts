/**
 * The connections to one origin: undici `Client`s (one socket each, no pipelining)
 * handed out from a stack of idle ones. undici's own Pool looks for a free client by
 * scanning all of them, twice per request: at 10,000 concurrent streams that scan
 * was ~12% of the client process's CPU (`node --cpu-prof`, undici 7.30). Here taking
 * and returning a client is O(1). Requests beyond `connections` wait in FIFO order.
 *
 * It is what the client's Agent makes per origin (its `factory`), so the Agent still
 * routes by origin and sees each connection's connect/disconnect events as before.
 */
import { buildConnector, Client, type Dispatcher, errors } from 'undici';
import { PromiseDispatcher } from './promise-dispatcher.js';

/** A request waiting for a connection. */
interface Waiting {
  options: Dispatcher.DispatchOptions;
  handler: Dispatcher.DispatchHandler;
}

/** Served waiting requests after which their slots are dropped from the array. */
const COMPACT_AFTER = 1024;

/** Marks a client that is on the idle stack (so it is pushed once). */
const IDLE = Symbol('tokenwire.idle');
type PooledClient = Client & { [IDLE]?: boolean };

export interface IdleStackPoolOptions {
  /** At most this many connections (≥ 1). */
  connections: number;
  /** Connect deadline, ms. */
  connectTimeoutMs: number;
  /** TLS options of every connection (ca, cert, key, rejectUnauthorized, servername). */
  tls?: Readonly<Record<string, unknown>> | undefined;
  /** Options every Client gets (timeouts, pipelining). */
  client: Client.Options;
}

export class IdleStackPool extends PromiseDispatcher {
  private readonly origin: string | URL;
  private readonly options: IdleStackPoolOptions;
  private readonly clientOptions: Client.Options;
  private readonly clients = new Set<PooledClient>();
  private readonly idle: PooledClient[] = [];
  private waiting: Waiting[] = [];
  private waitingHead = 0;
  private closing: Promise<void> | undefined;
  private finishClose: (() => void) | undefined;
  private destroyedWith: Promise<void> | undefined;

  constructor(origin: string | URL, options: IdleStackPoolOptions) {
    super();
    this.origin = origin;
    this.options = options;
    // One connector for every connection (Client would otherwise build its own each).
    this.clientOptions = {
      ...options.client,
      connect: buildConnector({ ...options.tls, timeout: options.connectTimeoutMs }),
    };
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  get destroyed(): boolean {
    return this.destroyedWith !== undefined;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (this.destroyedWith !== undefined || this.closing !== undefined) {
      const error = this.destroyedWith ? new errors.ClientDestroyedError() : new errors.ClientClosedError();
      handler.onError?.(error);
      return false;
    }
    const client = this.takeClient();
    if (client === undefined) {
      this.waiting.push({ options, handler });
      return false;
    }
    this.send(client, options, handler);
    return true;
  }

  protected closeAll(): Promise<void> {
    if (this.closing === undefined) {
      this.closing = new Promise<void>((resolve) => {
        this.finishClose = resolve;
      }).then(() => this.closeClients());
      if (this.waitingCount() === 0) this.finishClose!();
    }
    return this.closing;
  }

  protected destroyAll(error: Error | null): Promise<void> {
    if (this.destroyedWith === undefined) {
      const destroying = [...this.clients].map((client) => client.destroy(error));
      const reason = error ?? new errors.ClientDestroyedError();
      for (let i = this.waitingHead; i < this.waiting.length; i++) this.waiting[i]!.handler.onError?.(reason);
      this.waiting = [];
      this.waitingHead = 0;
      this.finishClose?.();
      this.destroyedWith = Promise.all(destroying).then(() => undefined);
    }
    return this.destroyedWith;
  }

  /** An idle connection, a new one while below the limit, or undefined (the request waits). */
  private takeClient(): PooledClient | undefined {
    const idle = this.idle;
    while (idle.length > 0) {
      const client = idle.pop()!;
      client[IDLE] = false;
      if (!client.destroyed && !client.closed) return client;
    }
    if (this.clients.size < this.options.connections) return this.newClient();
    return undefined;
  }

  private newClient(): PooledClient {
    const client: PooledClient = new Client(this.origin, this.clientOptions);
    client.on('drain', () => this.onClientFree(client));
    client.on('connect', (origin, targets) => this.emit('connect', origin, [this, ...targets]));
    client.on('disconnect', (origin, targets, error) =>
      this.emit('disconnect', origin, [this, ...targets], error),
    );
    client.on('connectionError', (origin, targets, error) =>
      this.emit('connectionError', origin, [this, ...targets], error),
    );
    this.clients.add(client);
    return client;
  }

  private send(
    client: PooledClient,
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): void {
    // true: the connection can take another request at once (not with pipelining 1).
    if (client.dispatch(options, handler)) this.makeIdle(client);
  }

  /** A connection finished its request: it serves the longest-waiting one, or goes idle. */
  private onClientFree(client: PooledClient): void {
    if (client.destroyed || client.closed) return;
    if (this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead]!;
      this.waiting[this.waitingHead++] = undefined as unknown as Waiting;
      if (this.waitingHead === this.waiting.length) {
        this.waiting = [];
        this.waitingHead = 0;
      } else if (this.waitingHead >= COMPACT_AFTER && this.waitingHead * 2 >= this.waiting.length) {
        // A backlog that never empties must not grow the array without end.
        this.waiting = this.waiting.slice(this.waitingHead);
        this.waitingHead = 0;
      }
      this.send(client, next.options, next.handler);
      if (this.waitingCount() === 0) {
        // As undici's pools do (the Agent re-emits it with the targets); its typings omit them.
        (this as unknown as NodeJS.EventEmitter).emit('drain', this.origin, [this, client]);
        this.finishClose?.();
      }
      return;
    }
    this.makeIdle(client);
  }

  private makeIdle(client: PooledClient): void {
    if (client[IDLE]) return;
    client[IDLE] = true;
    this.idle.push(client);
  }

  private waitingCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  private async closeClients(): Promise<void> {
    await Promise.all(
      [...this.clients].filter((client) => !client.destroyed).map((client) => client.close()),
    );
  }
}

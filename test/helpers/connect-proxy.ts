/**
 * Test-only network pieces on loopback: a CONNECT proxy (node:http) that can refuse or
 * cut a tunnel, a TLS front (node:tls) that makes any loopback HTTP server an HTTPS one,
 * and a self-signed certificate made with `openssl` at test time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';

export interface Tunnel {
  target: string;
  proxyAuthorization: string | undefined;
  /** Bytes sent from the server towards the client. */
  downstreamBytes: number;
}

export interface ConnectProxy {
  url: string;
  tunnels: Tunnel[];
  /** Answer CONNECT with this status instead of 200 (undefined: tunnel). */
  refuseWith: number | undefined;
  /** Cut the next tunnel after this many server-to-client bytes (once). */
  cutNextAfterBytes: number | undefined;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A CONNECT proxy on 127.0.0.1 that tunnels to loopback targets only. */
export async function startConnectProxy(): Promise<ConnectProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(405).end('CONNECT only');
  });
  const proxy: ConnectProxy = {
    url: '',
    tunnels: [],
    refuseWith: undefined,
    cutNextAfterBytes: undefined,
    close: () => closeServer(server, sockets),
  };
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    const tunnel: Tunnel = {
      target,
      proxyAuthorization: req.headers['proxy-authorization'],
      downstreamBytes: 0,
    };
    proxy.tunnels.push(tunnel);
    const [host, port] = [
      target.slice(0, target.lastIndexOf(':')),
      Number(target.slice(target.lastIndexOf(':') + 1)),
    ];
    if (proxy.refuseWith !== undefined) {
      client.end(`HTTP/1.1 ${proxy.refuseWith} Refused\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    if (host !== '127.0.0.1' && host !== 'localhost') {
      client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const cutAfter = proxy.cutNextAfterBytes;
    proxy.cutNextAfterBytes = undefined;
    const upstream = connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (cutAfter !== undefined && tunnel.downstreamBytes + chunk.length >= cutAfter) {
        // Forward up to the cut, then drop both sides as a proxy dying mid-stream would.
        client.write(chunk.subarray(0, cutAfter - tunnel.downstreamBytes));
        tunnel.downstreamBytes = cutAfter;
        upstream.destroy();
        client.destroy();
        return;
      }
      tunnel.downstreamBytes += chunk.length;
      client.write(chunk);
    });
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.end());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  proxy.url = `http://127.0.0.1:${await listen(server)}`;
  return proxy;
}

export interface TlsFront {
  /** https://127.0.0.1:PORT */
  url: string;
  close(): Promise<void>;
}

/** An HTTPS front on 127.0.0.1 for the plain HTTP server at `targetPort` (raw bytes piped both ways). */
export async function startTlsFront(targetPort: number, options: TlsOptions): Promise<TlsFront> {
  const sockets = new Set<Socket>();
  const server = createTlsServer(options, (socket) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  return { url: `https://127.0.0.1:${port}`, close: () => closeServer(server, sockets) };
}

export interface TestCertificate {
  /** PEM, self-signed, for DNS name `localhost` only (not for 127.0.0.1). */
  cert: string;
  key: string;
}

/** A fresh self-signed certificate (EC P-256, 1 day), made with openssl in a 0700 temp dir. */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'tokenwire-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: 'pipe', timeout: 20_000 },
    );
    return {
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

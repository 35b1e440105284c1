import { describe, expect, it } from 'vitest';
import { EndpointState } from '../../src/fleet/endpoint-state.js';
import { PrefixCache } from '../../src/fleet/prefix-cache.js';
import {
  chatPrefixKeys,
  ID_BLOCK,
  idPrefixKeys,
  TEXT_BLOCK,
  textPrefixKeys,
} from '../../src/fleet/prefix-keys.js';
import { type RouteQuery, Router, type RouterOptions } from '../../src/fleet/router.js';

/** A seeded random source (mulberry32), so power-of-two choices are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const urls = (n: number) => Array.from({ length: n }, (_, i) => ({ url: `http://10.0.0.${i + 1}:8000` }));
const ids = (n: number, start = 1) => Array.from({ length: n }, (_, i) => start + i);

function router(n: number, options: RouterOptions = {}): Router {
  return new Router(urls(n), { random: seeded(1), ...options });
}

function pickUrl(r: Router, query: RouteQuery = {}, now = 0): string | undefined {
  return r.pick(query, now)?.endpoint.url;
}

describe('prefix keys', () => {
  it.each([
    [0, 0],
    [1, 0],
    [ID_BLOCK - 1, 0],
    [ID_BLOCK, 1],
    [ID_BLOCK + 1, 1],
    [3 * ID_BLOCK, 3],
  ])('%i ids give %i keys (whole blocks only)', (length, keys) => {
    expect(idPrefixKeys(ids(length))).toHaveLength(keys);
  });

  it('prompts sharing their first k blocks share exactly their first k keys', () => {
    const a = idPrefixKeys([...ids(2 * ID_BLOCK), ...ids(ID_BLOCK, 500)]);
    const b = idPrefixKeys([...ids(2 * ID_BLOCK), ...ids(ID_BLOCK, 900)]);
    expect(a.slice(0, 2)).toEqual(b.slice(0, 2));
    expect(a[2]).not.toBe(b[2]);
    // One id different in block 0 changes every key after it.
    const c = idPrefixKeys([0, ...ids(3 * ID_BLOCK - 1, 2)]);
    expect(c.filter((key, i) => key === a[i])).toEqual([]);
  });

  it('extra ids continue the chain as if appended', () => {
    expect(idPrefixKeys(ids(20), ids(30, 21))).toEqual(idPrefixKeys(ids(50)));
  });

  it('text blocks and chat messages chain the same way', () => {
    const base = 'x'.repeat(TEXT_BLOCK * 2);
    expect(textPrefixKeys(base)).toHaveLength(2);
    expect(textPrefixKeys(`${base}yy`).slice(0, 2)).toEqual(textPrefixKeys(base));
    const system = { role: 'system', content: 'You are terse.' };
    const turn1 = [system, { role: 'user', content: 'hi' }];
    const turn2 = [...turn1, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'more' }];
    const k1 = chatPrefixKeys(turn1);
    const k2 = chatPrefixKeys(turn2);
    expect(k1).toHaveLength(2);
    expect(k2.slice(0, 2)).toEqual(k1);
    expect(chatPrefixKeys([{ role: 'system', content: 'other' }])[0]).not.toBe(k1[0]);
  });

  it('a tool call is keyed by id, name and arguments, whatever the order of its fields', () => {
    const user = { role: 'user', content: 'weather?' };
    const call = (args: unknown) => ({
      id: 'c1',
      type: 'function',
      function: { name: 'get', arguments: args },
    });
    const written = { role: 'assistant', content: null, tool_calls: [call('{"city":"Oslo"}')] };
    const reordered = {
      role: 'assistant',
      tool_calls: [{ function: { arguments: '{"city":"Oslo"}', name: 'get' }, type: 'function', id: 'c1' }],
      content: '',
    };
    expect(chatPrefixKeys([user, reordered])).toEqual(chatPrefixKeys([user, written]));
    // The arguments, the name or the id differing: another key.
    for (const other of [
      [call('{"city":"Bergen"}')],
      [{ ...call('{"city":"Oslo"}'), id: 'c2' }],
      [{ id: 'c1', function: { name: 'put', arguments: '{"city":"Oslo"}' } }],
    ]) {
      expect(chatPrefixKeys([user, { ...written, tool_calls: other }])[1]).not.toBe(
        chatPrefixKeys([user, written])[1],
      );
    }
    // Arguments given as an object are keyed as their JSON.
    expect(chatPrefixKeys([user, { ...written, tool_calls: [call({ city: 'Oslo' })] }])).toEqual(
      chatPrefixKeys([user, written]),
    );
  });
});

describe('PrefixCache', () => {
  it('longestPrefix at 0, 1, k-1 and k held blocks', () => {
    const keys = idPrefixKeys(ids(8 * ID_BLOCK));
    const cache = new PrefixCache(100);
    expect(cache.longestPrefix(keys)).toBe(0);
    cache.add(keys.slice(0, 1));
    expect(cache.longestPrefix(keys)).toBe(1);
    cache.add(keys.slice(0, 7));
    expect(cache.longestPrefix(keys)).toBe(7);
    cache.add(keys);
    expect(cache.longestPrefix(keys)).toBe(8);
    expect(cache.longestPrefix([])).toBe(0);
  });

  it('is bounded: the least recently used prefix goes first, a prefix’s tail before its head', () => {
    const cache = new PrefixCache(4);
    const a = idPrefixKeys(ids(3 * ID_BLOCK, 1));
    const b = idPrefixKeys(ids(3 * ID_BLOCK, 1000));
    cache.add(a);
    cache.add(b);
    expect(cache.size).toBe(4);
    // b is whole; a lost its last two blocks, not its first.
    expect(cache.longestPrefix(b)).toBe(3);
    expect(cache.longestPrefix(a)).toBe(1);
  });
});

describe('Router policies', () => {
  it('a fleet of one always answers its one endpoint, reason "only"', () => {
    const r = router(1);
    expect(r.pick({}, 0)).toMatchObject({ reason: 'only', endpoint: { url: 'http://10.0.0.1:8000' } });
  });

  it('round-robin cycles in order and skips an endpoint that cannot take requests', () => {
    const r = router(3, { policy: 'round-robin' });
    expect([pickUrl(r), pickUrl(r), pickUrl(r), pickUrl(r)]).toEqual([
      'http://10.0.0.1:8000',
      'http://10.0.0.2:8000',
      'http://10.0.0.3:8000',
      'http://10.0.0.1:8000',
    ]);
    r.list()[1].eject(0);
    expect([pickUrl(r), pickUrl(r), pickUrl(r)]).toEqual([
      'http://10.0.0.3:8000',
      'http://10.0.0.1:8000',
      'http://10.0.0.3:8000',
    ]);
  });

  // Round-robin's turn moves past whoever served, also when it was the only endpoint that
  // could (the others out, or tried already by a retry): otherwise the one that served alone
  // is served again when the others return (two in a row, per failover).
  const roundRobinTable: { name: string; steps: string[]; expected: string }[] = [
    { name: 'all up', steps: ['pick', 'pick', 'pick', 'pick'], expected: 'a b c a' },
    {
      name: 'b and c out after a full turn, then back',
      steps: [
        'pick',
        'pick',
        'pick',
        'out b',
        'out c',
        'pick',
        'pick',
        'back b',
        'back c',
        'pick',
        'pick',
        'pick',
      ],
      expected: 'a b c a a b c a',
    },
    {
      name: 'only c up at the start',
      steps: ['out a', 'out b', 'pick', 'back a', 'back b', 'pick', 'pick'],
      expected: 'c a b',
    },
    {
      name: 'a retry that had to go to the one untried endpoint',
      steps: ['pick', 'retry a b', 'pick', 'pick'],
      expected: 'a c a b',
    },
  ];
  for (const row of roundRobinTable) {
    it(`round-robin after a single-eligible pick: ${row.name}`, () => {
      const r = router(3, { policy: 'round-robin' });
      const byName = Object.fromEntries(r.list().map((e, i) => ['abc'[i], e]));
      const nameOf = (url: string | undefined) => 'abc'[r.list().findIndex((e) => e.url === url)];
      const picked: string[] = [];
      for (const step of row.steps) {
        const [verb, ...names] = step.split(' ');
        if (verb === 'pick') picked.push(nameOf(pickUrl(r)));
        else if (verb === 'out') byName[names[0]].eject(0);
        else if (verb === 'back') byName[names[0]].recover(0);
        else if (verb === 'retry') picked.push(nameOf(pickUrl(r, { tried: names.map((n) => byName[n]) })));
      }
      expect(picked.join(' ')).toBe(row.expected);
    });
  }

  it('weighted gives each endpoint its share, smoothly (3:1 → a a b a)', () => {
    const r = new Router(
      [
        { url: 'http://a', weight: 3 },
        { url: 'http://b', weight: 1 },
      ],
      { policy: 'weighted' },
    );
    const picks = Array.from({ length: 8 }, () => pickUrl(r));
    expect(picks).toEqual([
      'http://a',
      'http://a',
      'http://b',
      'http://a',
      'http://a',
      'http://a',
      'http://b',
      'http://a',
    ]);
  });

  it('least-outstanding takes the less loaded of two random choices (never the busiest of 2)', () => {
    const r = router(2);
    r.begin(r.list()[0], undefined, 0);
    for (let i = 0; i < 20; i++) expect(pickUrl(r)).toBe('http://10.0.0.2:8000');
  });

  it('least-outstanding over 4 never picks the single busiest endpoint (power of two choices)', () => {
    const r = router(4, { random: seeded(7) });
    const [busiest] = r.list();
    for (let i = 0; i < 5; i++) r.begin(busiest, undefined, 0);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const url = pickUrl(r)!;
      counts.set(url, (counts.get(url) ?? 0) + 1);
    }
    expect(counts.get(busiest.url)).toBeUndefined();
    expect(counts.size).toBe(3);
  });

  it('least-outstanding weighs in flight by time to first token once known: a 3x slower endpoint takes a third', () => {
    const r = router(2);
    const [slow, fast] = r.list();
    slow.ewmaTtftMs = 300;
    fast.ewmaTtftMs = 100;
    // Costs (in flight + 1) × TTFT: slow 1 × 300 = 300 against fast (k + 1) × 100.
    for (let k = 0; k < 2; k++) {
      expect(pickUrl(r)).toBe(fast.url);
      r.begin(fast, undefined, 0);
    }
    // fast now 2 in flight: 3 × 100 = 300, a tie → the first drawn; at 3 in flight, slow wins.
    r.begin(fast, undefined, 0);
    expect(pickUrl(r)).toBe(slow.url);
  });

  it('least-outstanding weighs load by weight', () => {
    const r = new Router(
      [
        { url: 'http://big', weight: 4 },
        { url: 'http://small', weight: 1 },
      ],
      { random: seeded(3) },
    );
    const [big, small] = r.list();
    for (let i = 0; i < 3; i++) r.begin(big, undefined, 0); // 3/4 = 0.75
    r.begin(small, undefined, 0); // 1/1 = 1
    expect(pickUrl(r)).toBe('http://big');
  });

  it('maxInFlight: an endpoint at its cap takes nothing more; none at all → undefined', () => {
    const r = new Router([
      { url: 'http://a', maxInFlight: 1 },
      { url: 'http://b', maxInFlight: 2 },
    ]);
    const [a, b] = r.list();
    r.begin(a, undefined, 0);
    expect(pickUrl(r)).toBe('http://b');
    r.begin(b, undefined, 0);
    expect(pickUrl(r)).toBe('http://b');
    r.begin(b, undefined, 0);
    expect(r.pick({}, 0)).toBeUndefined();
    expect(r.nextAvailableAt(0)).toBe(Number.POSITIVE_INFINITY);
    r.end(a, 'ok', 0);
    expect(pickUrl(r)).toBe('http://a');
  });

  it('endpoints the request already tried are avoided while another can serve', () => {
    const r = router(2);
    const [a, b] = r.list();
    for (let i = 0; i < 10; i++) expect(pickUrl(r, { tried: [b] })).toBe(a.url);
    // Both tried: either may serve again (a fleet of one retries its one endpoint).
    expect(pickUrl(r, { tried: [a, b] })).toBeDefined();
    expect(pickUrl(router(1), { tried: router(1).list().slice() })).toBe('http://10.0.0.1:8000');
  });
});

describe('Router cache affinity', () => {
  const system = ids(4 * ID_BLOCK, 10_000);

  it('sends a prompt to the endpoint holding its longest prefix', () => {
    const r = router(4);
    const turn1 = idPrefixKeys([...system, ...ids(2 * ID_BLOCK, 1)]);
    const first = r.pick({ keys: turn1 }, 0)!;
    r.begin(first.endpoint, turn1, 0);
    r.end(first.endpoint, 'ok', 0);
    const turn2 = idPrefixKeys([...system, ...ids(5 * ID_BLOCK, 1)]);
    for (let i = 0; i < 10; i++) {
      const choice = r.pick({ keys: turn2 }, 0)!;
      expect(choice).toMatchObject({ endpoint: first.endpoint, reason: 'affinity', cachedBlocks: 6 });
    }
  });

  it('a prefix every endpoint holds (a shared system prompt) does not pin: load decides', () => {
    const r = router(2);
    const shared = idPrefixKeys(system);
    for (const endpoint of r.list()) r.remember(endpoint, shared);
    r.begin(r.list()[0], undefined, 0);
    expect(r.pick({ keys: idPrefixKeys([...system, ...ids(ID_BLOCK)]) }, 0)).toMatchObject({
      endpoint: r.list()[1],
      reason: 'least-outstanding',
    });
  });

  it('yields when the cached endpoint is loaded past factor × least + slack (boundary)', () => {
    const r = router(2, { affinityLoadFactor: 2, affinityLoadSlack: 1 });
    const [cached, other] = r.list();
    const keys = idPrefixKeys([...system]);
    r.remember(cached, keys);
    // other: 2 in flight → bound 2·2 + 1 = 5.
    r.begin(other, undefined, 0);
    r.begin(other, undefined, 0);
    for (let i = 0; i < 5; i++) r.begin(cached, undefined, 0);
    expect(r.pick({ keys }, 0)).toMatchObject({ endpoint: cached, reason: 'affinity' });
    r.begin(cached, undefined, 0); // 6 > 5
    expect(r.pick({ keys }, 0)).toMatchObject({ endpoint: other, reason: 'least-outstanding' });
  });

  it.each([
    [[0, 3, 5, 5], [0, 0, 1, 0], 3, 5],
    [[5, 3, 5, 0], [1, 0, 0, 0], 2, 5],
    [[2, 2, 4, 1], [0, 0, 0, 0], 2, 4],
    [[0, 0, 0, 1], [0, 0, 0, 0], 3, 1],
  ])(
    'held blocks %j, in flight %j → endpoint %i (%i blocks): the longest, the less loaded on a tie',
    (held, loads, want, blocks) => {
      const r = router(4, { affinityLoadSlack: 10 });
      const keys = idPrefixKeys(ids(6 * ID_BLOCK, 2000));
      r.list().forEach((endpoint, i) => {
        r.remember(endpoint, keys.slice(0, held[i]));
        for (let k = 0; k < loads[i]; k++) r.begin(endpoint, undefined, 0);
      });
      expect(r.pick({ keys }, 0)).toMatchObject({
        endpoint: r.list()[want],
        reason: 'affinity',
        cachedBlocks: blocks,
      });
    },
  );

  it('can be turned off', () => {
    const r = router(2, { cacheAffinity: false, policy: 'round-robin' });
    const keys = idPrefixKeys(system);
    r.remember(r.list()[1], keys);
    expect(r.pick({ keys }, 0)).toMatchObject({ endpoint: r.list()[0], reason: 'round-robin' });
  });
});

describe('Router sessions (consistent hashing with bounded loads)', () => {
  it('the same key goes to the same endpoint', () => {
    const r = router(4);
    const first = pickUrl(r, { affinityKey: 'session-17' });
    for (let i = 0; i < 10; i++) expect(pickUrl(r, { affinityKey: 'session-17' })).toBe(first);
  });

  it('keys spread over endpoints, and removing one moves only its own keys', () => {
    const r = router(4);
    const before = new Map<string, string>();
    for (let s = 0; s < 400; s++) before.set(`s${s}`, pickUrl(r, { affinityKey: `s${s}` })!);
    const perEndpoint = new Map<string, number>();
    for (const url of before.values()) perEndpoint.set(url, (perEndpoint.get(url) ?? 0) + 1);
    expect(perEndpoint.size).toBe(4);
    for (const count of perEndpoint.values()) expect(count).toBeGreaterThan(40);
    const gone = r.list()[2].url;
    r.drain(gone);
    expect(r.size).toBe(3);
    for (const [key, url] of before) {
      const now = pickUrl(r, { affinityKey: key });
      if (url !== gone) expect(now).toBe(url);
      else expect(now).not.toBe(gone);
    }
  });

  it('a full endpoint spills the session to the next one (bounded load)', () => {
    const r = router(2, { sessionLoadFactor: 1 });
    const home = r.pick({ affinityKey: 'hot' }, 0)!.endpoint;
    const other = r.list().find((e) => e !== home)!;
    // Total 2, both on home: bound ⌈1 · 3 · 1/2⌉ = 2 < 3 → spills.
    r.begin(home, undefined, 0);
    r.begin(home, undefined, 0);
    expect(r.pick({ affinityKey: 'hot' }, 0)!.endpoint).toBe(other);
  });
});

describe('Router health', () => {
  const health = { consecutiveFailures: 3, baseEjectionMs: 1_000, maxEjectionMs: 8_000, minSamples: 100 };

  it('ejects after exactly k consecutive failures; half-open after the cooldown takes one trial', () => {
    const r = router(2, { health });
    const [a] = r.list();
    for (let i = 0; i < 2; i++) {
      r.begin(a, undefined, 0);
      r.end(a, 'failed', 0, { error: 'boom' });
    }
    expect(a.refresh(0)).toBe('healthy');
    r.begin(a, undefined, 0);
    r.end(a, 'failed', 0, { error: 'boom 3' });
    expect(a.snapshot(0)).toMatchObject({
      state: 'ejected',
      until: 1_000,
      lastError: 'boom 3',
      ejections: 1,
    });
    expect(r.lastError()).toBe('boom 3');
    for (let i = 0; i < 5; i++) expect(pickUrl(r, {}, 999)).not.toBe(a.url);
    expect(a.refresh(1_000)).toBe('half-open');
    expect(a.available(1_000)).toBe(true);
    r.begin(a, undefined, 1_000);
    // The trial is in flight: no second request meanwhile.
    expect(a.available(1_000)).toBe(false);
    r.end(a, 'ok', 1_100, { ttftMs: 40 });
    expect(a.snapshot(1_100)).toMatchObject({ state: 'healthy', ewmaTtftMs: 40 });
  });

  it('a trial that ends saying nothing (its caller gave up) frees the trial: still half-open, the next request is the trial', () => {
    const r = router(2, { health });
    const [a] = r.list();
    a.eject(0);
    expect(a.refresh(1_000)).toBe('half-open');
    const trial = r.begin(a, undefined, 1_000);
    expect(trial).toBe(true);
    expect(a.available(1_000)).toBe(false);
    r.end(a, 'neutral', 1_050, { trial });
    expect(a.snapshot(1_050)).toMatchObject({ state: 'half-open', inFlight: 0, errorRate: 0 });
    expect(a.available(1_050)).toBe(true);
    // A request sent while it was healthy is not the trial: its neutral end leaves the trial in flight.
    const c = router(2, { health }).list()[0];
    expect(c.begin(0)).toBe(false);
    c.eject(0);
    expect(c.begin(1_000)).toBe(true);
    c.end(1_010, 'neutral', undefined, undefined, undefined, false);
    expect(c.available(1_010)).toBe(false);
  });

  it('a failed trial ejects again for twice as long, up to maxEjectionMs', () => {
    const r = router(2, { health });
    const [a] = r.list();
    a.eject(0);
    const untils: number[] = [];
    let now = 0;
    for (let i = 0; i < 5; i++) {
      now = a.ejectedUntil;
      r.begin(a, undefined, now);
      r.end(a, 'failed', now);
      untils.push(a.ejectedUntil - now);
    }
    expect(untils).toEqual([2_000, 4_000, 8_000, 8_000, 8_000]);
    // A successful trial resets the streak: the next ejection is short again.
    now = a.ejectedUntil;
    r.begin(a, undefined, now);
    r.end(a, 'ok', now);
    a.eject(now);
    expect(a.ejectedUntil - now).toBe(1_000);
  });

  it('ejects on the failure rate over the window (failures not in a row)', () => {
    const r = router(2, {
      health: { consecutiveFailures: 100, failureRate: 0.5, failureWindow: 10, minSamples: 10 },
    });
    const [a] = r.list();
    for (let i = 0; i < 9; i++) {
      r.begin(a, undefined, 0);
      r.end(a, i % 2 === 0 ? 'ok' : 'failed', 0);
    }
    expect(a.refresh(0)).toBe('healthy'); // 4 of 9: not enough samples yet
    r.begin(a, undefined, 0);
    r.end(a, 'failed', 0); // 5 of 10 = 0.5
    expect(a.refresh(0)).toBe('ejected');
  });

  it('Retry-After cools only that endpoint, for exactly that long; neutral verdicts change nothing', () => {
    const r = router(2, { health });
    const [a, b] = r.list();
    r.begin(a, undefined, 0);
    r.end(a, 'failed', 0, { coolMs: 2_500 });
    expect(a.snapshot(0)).toMatchObject({ state: 'cooling', until: 2_500 });
    expect(b.refresh(0)).toBe('healthy');
    for (let i = 0; i < 5; i++) expect(pickUrl(r, {}, 2_499)).toBe(b.url);
    expect(r.nextAvailableAt(0)).toBe(0);
    expect(a.available(2_500)).toBe(true);
    r.begin(b, undefined, 0);
    r.end(b, 'neutral', 0);
    expect(b.snapshot(0)).toMatchObject({ state: 'healthy', errorRate: 0 });
  });

  it('when every endpoint is out, nextAvailableAt says when the first comes back', () => {
    const r = router(2, { health });
    r.list()[0].eject(0);
    r.begin(r.list()[1], undefined, 0);
    r.end(r.list()[1], 'failed', 0, { coolMs: 300 });
    expect(r.pick({}, 0)).toBeUndefined();
    expect(r.nextAvailableAt(0)).toBe(300);
  });

  it('draining: no new requests; it leaves the list when its last request ends; re-adding restores it', async () => {
    const r = router(2);
    const [a, b] = r.list();
    r.begin(a, undefined, 0);
    r.drain(a.url);
    expect(a.snapshot(0).state).toBe('draining');
    for (let i = 0; i < 5; i++) expect(pickUrl(r)).toBe(b.url);
    expect(r.size).toBe(2);
    const changed = r.changed();
    r.end(a, 'ok', 0);
    await changed;
    expect(r.list().map((e) => e.url)).toEqual([b.url]);
    r.add({ url: a.url });
    expect(r.size).toBe(2);
  });

  it('EWMA of time to first token', () => {
    const e = new EndpointState('http://x', 0, 1, 10, {
      consecutiveFailures: 3,
      failureRate: 0.5,
      failureWindow: 20,
      minSamples: 10,
      baseEjectionMs: 1_000,
      maxEjectionMs: 60_000,
    });
    e.begin(0);
    e.end(0, 'ok', 100);
    e.begin(0);
    e.end(0, 'ok', 200);
    expect(e.ewmaTtftMs).toBeCloseTo(120);
  });
});

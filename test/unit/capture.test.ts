import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteTail, CAPTURE_MAX_BYTES } from '../../src/diagnostics/capture.js';

describe('ByteTail', () => {
  it('keeps exactly the last CAPTURE_MAX_BYTES bytes, whatever the chunking', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: CAPTURE_MAX_BYTES + 500 }), { maxLength: 12 }),
        (sizes) => {
          const tail = new ByteTail();
          const all: Buffer[] = [];
          let n = 0;
          for (const size of sizes) {
            const chunk = Buffer.alloc(size);
            for (let i = 0; i < size; i++) chunk[i] = (n++ * 7) & 0xff;
            all.push(chunk);
            tail.push(chunk);
          }
          const whole = Buffer.concat(all);
          expect(tail.bytes().equals(whole.subarray(Math.max(0, whole.length - CAPTURE_MAX_BYTES)))).toBe(
            true,
          );
          expect(tail.total).toBe(whole.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('snapshots text as utf8 and other bytes as base64', () => {
    const text = new ByteTail();
    text.push(Buffer.from('data: é\n\n'));
    expect(text.snapshot()).toEqual({
      encoding: 'utf8',
      data: 'data: é\n\n',
      totalBytes: 10,
      truncatedHead: false,
    });
    const binary = new ByteTail();
    binary.push(Buffer.from([0xff, 0xfe]));
    expect(binary.snapshot()?.encoding).toBe('base64');
  });
});

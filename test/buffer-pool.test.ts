import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { BufferPool, transferStarts } from '../src/buffer-pool.ts';

/** Waits until `done()` holds, for at most 20 s (a busy machine runs timers late). */
async function until(done: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 20_000;
  while (!done() && Date.now() < deadline) await delay(10);
  return done();
}

test('a BufferPool hands back what was given, keeps at most its max, and only its own size', (t: TestContext) => {
  const pool = new BufferPool(1024, 2);
  const [a, b, c] = [pool.take(), pool.take(), pool.take()];
  t.assert.ok(a !== b && b !== c && a.length === 1024);
  pool.give(a);
  pool.give(b);
  pool.give(c); // over the max: dropped
  pool.give(Buffer.alloc(512)); // another size: dropped
  t.assert.strictEqual(pool.idle, 2);
  const again = [pool.take(), pool.take()];
  t.assert.deepStrictEqual(new Set(again), new Set([a, b]));
  t.assert.strictEqual(pool.idle, 0);
});

test('a BufferPool lets its buffers go once unused for its idle time, and not before', async (t: TestContext) => {
  const pool = new BufferPool(1024, 4, { idleMs: 300 });
  const buffers = [pool.take(), pool.take()];
  for (const b of buffers) pool.give(b);
  t.assert.strictEqual(pool.idle, 2);
  // Used again within the idle time: the countdown starts over, the buffers stay.
  const start = Date.now();
  pool.give(pool.take());
  t.assert.strictEqual(pool.idle, 2);
  t.assert.ok(await until(() => pool.idle === 0), 'emptied');
  t.assert.ok(Date.now() - start >= 290, `not before its idle time (${Date.now() - start} ms)`);
  const fresh = pool.take();
  t.assert.ok(!buffers.includes(fresh), 'a fresh buffer after that');
});

test('a BufferPool for downloads lets its buffers go when an upload starts, not when a download does', async (t: TestContext) => {
  const pool = new BufferPool(1024, 4, { for: 'download' });
  const other = new BufferPool(1024, 4);
  const given = [pool.take(), pool.take()];
  for (const b of given) pool.give(b);
  other.give(other.take());
  await transferStarts('download');
  t.assert.strictEqual(pool.idle, 2, 'kept for the next download');
  await transferStarts('upload');
  t.assert.strictEqual(pool.idle, 0, 'let go as an upload starts');
  t.assert.ok(!given.includes(pool.take()), 'a fresh buffer after that');
  t.assert.strictEqual(other.idle, 1, 'a pool of no kind keeps its buffers');
});

test('BufferPool.pieces() reads through one pooled buffer, gives it back and closes the reader, also when cut short', async (t: TestContext) => {
  const pool = new BufferPool(4, 2);
  const source = (data: Buffer) => {
    let at = 0;
    const reader = {
      closed: 0,
      async read(into: Uint8Array) {
        const n = Math.min(into.byteLength, data.length - at);
        data.copy(into, 0, at, at + n);
        at += n;
        return n;
      },
      async close() {
        reader.closed++;
      },
    };
    return reader;
  };
  const whole = source(Buffer.from('0123456789'));
  const got: string[] = [];
  for await (const piece of pool.pieces(whole)) got.push(Buffer.from(piece).toString());
  t.assert.deepStrictEqual(got, ['0123', '4567', '89']);
  t.assert.strictEqual(whole.closed, 1);
  t.assert.strictEqual(pool.idle, 1, 'the buffer came back');
  const cut = source(Buffer.from('abcdefgh'));
  for await (const piece of pool.pieces(cut)) {
    t.assert.strictEqual(Buffer.from(piece).toString(), 'abcd');
    break;
  }
  t.assert.strictEqual(cut.closed, 1);
  t.assert.strictEqual(pool.idle, 1, 'the same buffer again, back again');
});

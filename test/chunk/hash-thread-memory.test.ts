/**
 * HashThread memory: the shared memory of a dropped lane is given back although the thread lives on
 * (a daemon's one hashing thread serves download after download). Its own file, so that its RSS
 * figures see no other test's memory.
 */
import { readFileSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BufferRing, HashThread } from '../../src/chunk/ring.ts';
import { MiB } from '../../src/index-file/types.ts';
import { teardown } from '../helpers/context.ts';

function rss(): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
}

/** `count` rings of 4 × 2 MiB on `thread`, every byte touched and every slot hashed by the thread. */
async function filledRings(thread: HashThread, count: number): Promise<BufferRing[]> {
  const rings = Array.from({ length: count }, () => new BufferRing(4, 2 * MiB, thread));
  for (const ring of rings) {
    for (let k = 0; k < ring.slotCount; k++) {
      const slot = await ring.acquire();
      ring.view(slot).fill(k + 1);
      ring.hold(slot, ring.hashWhole(slot, ring.slotSize));
    }
    await ring.digest();
  }
  return rings;
}

test('the memory of rings dropped from a HashThread is given back while the thread lives on', async (t: TestContext) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'major' }) => void;
  const thread = new HashThread();
  teardown(t).defer(() => thread.close());
  const rings = await filledRings(thread, 10); // 80 MiB
  const full = rss();
  await Promise.all(rings.splice(0).map((r) => r.close()));
  // Freed only once both threads collected their handles on it: ours now, the thread's after its
  // drops. Wait for that with a deadline (it came within 2 s here; without the thread's collection
  // it did not come at all).
  const deadline = Date.now() + 30_000;
  let now = full;
  while (Date.now() < deadline) {
    gc({ type: 'major' });
    now = rss();
    if (now < full - 60 * MiB) break;
    await delay(200);
  }
  t.assert.ok(now < full - 60 * MiB, `RSS ${(full / MiB) | 0} → ${(now / MiB) | 0} MiB`);
  // The thread still serves a new ring.
  const late = new BufferRing(2, 64 * 1024, thread);
  teardown(t).defer(() => late.close());
  const slot = await late.acquire();
  late.view(slot).fill(7);
  late.hold(slot, late.hashWhole(slot, 1024));
  t.assert.match(await late.digest(), /^[0-9a-f]{64}$/);
});

test('collect() lets the memory of dropped rings go at once, not after the thread collects on its own', async (t: TestContext) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'major' }) => void;
  const thread = new HashThread();
  teardown(t).defer(() => thread.close());
  const rings = await filledRings(thread, 5); // 40 MiB
  const full = rss();
  await Promise.all(rings.splice(0).map((r) => r.close()));
  await thread.collect();
  // Ours next; the second collection finishes freeing what the first found dead.
  gc({ type: 'major' });
  gc({ type: 'major' });
  const now = rss();
  t.assert.ok(now < full - 30 * MiB, `RSS ${(full / MiB) | 0} → ${(now / MiB) | 0} MiB (40 MiB dropped)`);
});

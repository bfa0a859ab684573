/**
 * Run as its own process by store-set.test.ts: concurrent puts of one UUID whose first placement
 * fails. Before the fix the waiters spun on microtasks for ever, so no timer of the test process
 * could stop them; here the test kills this process at its deadline instead. Prints one JSON line
 * per scenario: the outcome of each put ("writer" or its ERR_* code) and what is left afterwards.
 */
import { isArozError } from '../../src/errors.ts';
import { MemoryStore, StoreSet } from '../../src/store/index.ts';
import type { ChunkWriter } from '../../src/store/types.ts';
import { newUuid } from '../../src/uuid.ts';

const uploader = newUuid();
const meta = { uploader };

async function outcomes(puts: Array<Promise<ChunkWriter>>): Promise<string[]> {
  const settled = await Promise.allSettled(puts);
  const out: string[] = [];
  for (const result of settled) {
    if (result.status === 'fulfilled') {
      out.push('writer');
      await result.value.abort();
    } else {
      out.push(isArozError(result.reason) ? result.reason.code : String(result.reason));
    }
  }
  return out;
}

/** After the race: may a good put of the UUID still be made, and is nothing left reserved? */
async function after(set: StoreSet, uuid: string, size: number) {
  const writer = await set.beginPut(uuid, { size, meta });
  await writer.abort();
  return (await set.status()).reserved;
}

function report(name: string, values: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ name, ...values })}\n`);
}

// The reproduction: three puts of 5000 bytes on a store of 1000.
{
  const set = new StoreSet([new MemoryStore({ limit: 1000 })]);
  const uuid = newUuid();
  const puts = [0, 1, 2].map(() => set.beginPut(uuid, { size: 5000, meta }));
  report('no-space', { outcomes: await outcomes(puts), reservedAfter: await after(set, uuid, 500) });
}

// Many waiters, the store full for all of them.
{
  const set = new StoreSet([new MemoryStore({ limit: 1000 })]);
  const uuid = newUuid();
  const puts = Array.from({ length: 20 }, () => set.beginPut(uuid, { size: 5000, meta }));
  report('no-space-20', { outcomes: await outcomes(puts) });
}

// The UUID holds 100 bytes: three puts of 200 bytes conflict (409 over the wire).
{
  const store = new MemoryStore({ limit: 10_000 });
  const set = new StoreSet([store]);
  const uuid = newUuid();
  const first = await set.beginPut(uuid, { size: 100, meta });
  const bytes = Buffer.alloc(100, 7);
  await first.write(bytes);
  const { createHash } = await import('node:crypto');
  await first.finish(createHash('sha256').update(bytes).digest('hex'));
  const puts = [0, 1, 2].map(() => set.beginPut(uuid, { size: 200, meta }));
  report('conflict', { outcomes: await outcomes(puts), reservedAfter: await after(set, uuid, 100) });
}

// The only store is offline, then comes back.
{
  const store = new MemoryStore({ limit: 10_000 });
  const set = new StoreSet([store]);
  store.setOnline(false);
  const uuid = newUuid();
  const puts = [0, 1, 2].map(() => set.beginPut(uuid, { size: 100, meta }));
  const seen = await outcomes(puts);
  store.setOnline(true);
  report('offline', { outcomes: seen, reservedAfter: await after(set, uuid, 100) });
}

// The first sender cancels while its put is being placed: the others place afresh and share a store.
{
  const stores = [new MemoryStore({ id: 'm0', limit: 10_000 }), new MemoryStore({ id: 'm1', limit: 20_000 })];
  const set = new StoreSet(stores);
  const uuid = newUuid();
  const cancel = new AbortController();
  const puts = [set.beginPut(uuid, { size: 100, meta, signal: cancel.signal })];
  cancel.abort();
  puts.push(set.beginPut(uuid, { size: 100, meta }), set.beginPut(uuid, { size: 100, meta }));
  const settled = await Promise.allSettled(puts);
  const writers = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const reserved = (await Promise.all(stores.map((s) => s.status()))).map((s) => s.reserved);
  for (const writer of writers) await writer.abort();
  report('cancelled', {
    outcomes: settled.map((r) =>
      r.status === 'fulfilled' ? 'writer' : isArozError(r.reason) ? r.reason.code : String(r.reason),
    ),
    reservedPerStore: reserved,
    reservedAfter: await after(set, uuid, 100),
  });
}

import { type TestContext, test } from 'node:test';
import { throttle } from '../src/throttle.ts';

test('throttle() passes the first value at once and the latest one after the interval', async (t: TestContext) => {
  const out: number[] = [];
  let done: () => void = () => {};
  const trailing = new Promise<void>((resolve) => {
    done = resolve;
  });
  const th = throttle(50, (v: number) => {
    out.push(v);
    if (v === 3) done();
  });
  th.push(1);
  th.push(2);
  th.push(3);
  t.assert.deepStrictEqual(out, [1]);
  await trailing;
  t.assert.deepStrictEqual(out, [1, 3]);
  th.cancel();
});

test('throttle() with trailing: false drops what comes too soon, but never a forced value', (t: TestContext) => {
  const out: number[] = [];
  const th = throttle(60_000, (v: number) => out.push(v), { trailing: false });
  th.push(1);
  th.push(2);
  th.push(3, true);
  th.flush();
  t.assert.deepStrictEqual(out, [1, 3]);
});

test('throttle().cancel() drops the waiting value', (t: TestContext) => {
  const out: number[] = [];
  const th = throttle(60_000, (v: number) => out.push(v));
  th.push(1);
  th.push(2);
  th.cancel();
  th.flush();
  t.assert.deepStrictEqual(out, [1]);
});

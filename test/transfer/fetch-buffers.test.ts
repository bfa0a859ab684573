import { type TestContext, test } from 'node:test';
import { FetchBuffers } from '../../src/transfer/fetch.ts';

test('a download gives its buffers back: the next download reuses them, a retired pair never', (t: TestContext) => {
  const first = new FetchBuffers();
  const [a, b] = first.pair;
  first.release();
  const second = new FetchBuffers();
  t.assert.ok(second.pair[0] === a && second.pair[1] === b);
  second.retire(); // a read that timed out may still fill the old pair
  second.release();
  const third = new FetchBuffers();
  t.assert.ok(third.pair[0] !== a && third.pair[1] !== b);
});

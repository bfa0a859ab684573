/**
 * A put hands HTTP/2 at most PUT_QUEUE_BYTES at a time (src/transport/chunks.ts): the rest of what the
 * caller wrote waits in order until HTTP/2 has sent what it holds. A real NodeServer on 127.0.0.x whose
 * handler reserves nothing and holds the body back until told, then checks every byte.
 */
import { createHash } from 'node:crypto';
import type { ServerHttp2Stream } from 'node:http2';
import { type TestContext, test } from 'node:test';
import { PUT_QUEUE_BYTES, RemoteChunkWriter } from '../../src/transport/chunks.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins } from '../helpers/identity.ts';
import { testBytes } from '../helpers/random.ts';
import { until } from '../helpers/until.ts';

const MiB = 1024 * 1024;

test('a put lets at most PUT_QUEUE_BYTES wait in HTTP/2; the rest follows in order once it is sent', async (t: TestContext) => {
  const [server, client] = [makeIdentity(), makeIdentity()];
  let held: ServerHttp2Stream | undefined;
  const received = createHash('sha256');
  let bytes = 0;
  const node = new NodeServer({
    identity: server,
    pins: new Pins(client),
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream }) => {
      stream.additionalHeaders({ ':status': 100 });
      stream.pause(); // nothing is read until the test resumes it: HTTP/2's windows fill up
      held = stream;
      stream.on('data', (piece: Buffer) => {
        received.update(piece);
        bytes += piece.length;
      });
      stream.on('end', () => sendJson(stream, 201, {}));
    },
  });
  teardown(t).defer(() => node.destroy());
  const { port } = await node.start();
  const session = await dialPeer({
    uuid: server.nodeUuid,
    host: '127.0.0.2',
    port,
    identity: client,
    pins: new Pins(server),
  });
  teardown(t).defer(() => session.destroy());
  const body = testBytes(16 * MiB);
  const writer = await RemoteChunkWriter.open(session, server.nodeUuid, newUuid(), { size: body.length });
  // The caller writes the whole chunk at once, in 1 MiB pieces, as a ring would hand them over.
  const writes = Array.from({ length: 16 }, (_, k) => writer.write(body.subarray(k * MiB, (k + 1) * MiB)));
  await until('the node holds the put', () => held !== undefined);
  await until('HTTP/2 holds what it was given', () => writer.queued > 0);
  t.assert.ok(writer.queued <= PUT_QUEUE_BYTES, `${writer.queued} bytes wait in HTTP/2`);
  held?.resume();
  await Promise.all(writes);
  t.assert.strictEqual(writer.queued, 0);
  const sha256 = createHash('sha256').update(body).digest('hex');
  t.assert.strictEqual(await writer.finish(sha256), 'created');
  t.assert.strictEqual(bytes, body.length);
  t.assert.strictEqual(received.digest('hex'), sha256, 'every byte, in order');
});

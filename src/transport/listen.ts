/** `server.listen(port, host)` as a promise; a failure becomes an ArozError naming the address. */
import type { Server } from 'node:net';
import { fromListenError } from '../errors.ts';

export async function listenOn(
  server: Server,
  port: number,
  host: string,
  what: string,
  hint: string,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    throw fromListenError(err, `${what} ${host}:${port}`, hint);
  });
}

/** A test file of random bytes for the benches, made quickly and synced before it is timed. */
import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';

const MiB = 1024 * 1024;

/** Writes `size` random-looking bytes to `path`: 16 MiB of random data, each MiB given fresh first 4 KiB. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const fh = await open(path, 'w');
  const buffer = randomFillSync(Buffer.allocUnsafeSlow(16 * MiB));
  try {
    for (let at = 0; at < size; at += MiB) {
      const k = (at / MiB) % 16;
      randomFillSync(buffer, k * MiB, 4096); // no two MiB alike, cheaply
      await fh.write(buffer, k * MiB, Math.min(MiB, size - at), at);
    }
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Pairing several local homes with each other, as a person would with `peers add` on each. */
import { NodeHome } from './open.ts';

/** Every home trusts every other one (both ways). For the demo, tests and benches on one machine. */
export async function pairHomes(homes: readonly string[]): Promise<void> {
  const opened = await Promise.all(homes.map((h) => NodeHome.open(h)));
  const keys = await Promise.all(opened.map((h) => h.activeKeyPair()));
  for (const [i, home] of opened.entries()) {
    const trust = await home.trustStore();
    for (const [j, other] of opened.entries()) {
      if (i === j) continue;
      const peer = { nodeUuid: other.config.nodeUuid, key: keys[j]!, label: other.config.name };
      await home.addPeer(trust, peer, 'cli');
    }
  }
}

/**
 * Which keys an index is checked with when this node reads a file (download, check): its own keys and
 * the pinned peers' — and, for the very index the catalog holds (same id and same signature), the
 * retired keys of peers a person removed (src/keys/retired.ts): the catalog accepted that index while
 * its signer was trusted, so a removed uploader's files stay readable. Any other index signed by a
 * removed node is untrusted, and its new catalog statements are refused (docs/pairing.md).
 */
import type { NodeHome } from '../home/open.ts';
import type { IndexFile } from '../index-file/index.ts';
import type { SignerKey } from '../keys/index-signature.ts';
import type { TrustStore } from '../keys/trust-store.ts';

export async function readSigners(
  home: Pick<NodeHome, 'indexSigners' | 'retiredSigners'>,
  trust: Pick<TrustStore, 'list'>,
  catalog: { indexOf(id: string): IndexFile | undefined },
  index: IndexFile,
): Promise<SignerKey[]> {
  const signers = await home.indexSigners(trust);
  const held = catalog.indexOf(index.id)?.signature;
  const own = index.signature;
  if (held !== undefined && own !== undefined && held.key === own.key && held.value === own.value)
    signers.push(...(await home.retiredSigners()));
  return signers;
}

/**
 * Node identities for transport tests, made by the real `openssl` (so odd ones — EC keys, short RSA
 * keys, CA-signed chains — can be made the same way as good ones). Keys are cached per process.
 */
import { execFileSync as run } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PinSource } from '../../src/transport/peer-identity.ts';
import type { Identity } from '../../src/transport/server.ts';
import { newUuid } from '../../src/uuid.ts';

export interface TestIdentity extends Identity {
  spki: Buffer;
  /** Certificate chain PEM (leaf + CA) when made with `ca: true`. */
  chainPem?: string;
}

export interface IdentityOptions {
  uuid?: string;
  /** openssl genpkey algorithm options; default RSA-3072. */
  keyAlg?: string[];
  /** Reuse this private key (PEM) instead of generating one. */
  keyPem?: string;
  /** Sign the leaf with a throwaway CA and present the chain. */
  ca?: boolean;
  /** Override the subject CN / SAN URI. */
  cn?: string;
  san?: string;
}

function openssl(args: string[]): void {
  run('openssl', args, { stdio: 'ignore' });
}

const RSA_3072 = ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'];

export function makeIdentity(options: IdentityOptions = {}): TestIdentity {
  const uuid = options.uuid ?? newUuid();
  const dir = mkdtempSync(join(tmpdir(), 'arozdfs-id-'));
  try {
    const keyFile = join(dir, 'key.pem');
    if (options.keyPem !== undefined) writeFileSync(keyFile, options.keyPem);
    else openssl(['genpkey', ...(options.keyAlg ?? RSA_3072), '-out', keyFile]);
    const subj = `/CN=${options.cn ?? uuid}`;
    const san = `subjectAltName=${options.san ?? `URI:urn:uuid:${uuid}`}`;
    const certFile = join(dir, 'cert.pem');
    let chainPem: string | undefined;
    if (options.ca) {
      const caKey = join(dir, 'ca.key');
      const caCert = join(dir, 'ca.pem');
      openssl(['genpkey', ...RSA_3072, '-out', caKey]);
      openssl(['req', '-x509', '-key', caKey, '-out', caCert, '-days', '2', '-subj', '/CN=test-ca']);
      const csr = join(dir, 'leaf.csr');
      openssl(['req', '-new', '-key', keyFile, '-out', csr, '-subj', subj, '-addext', san]);
      openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        caCert,
        '-CAkey',
        caKey,
        '-out',
        certFile,
        '-days',
        '2',
        '-copy_extensions',
        'copy',
      ]);
      chainPem = readFileSync(certFile, 'utf8') + readFileSync(caCert, 'utf8');
    } else {
      openssl([
        'req',
        '-x509',
        '-key',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        subj,
        '-addext',
        san,
      ]);
    }
    const keyPem = readFileSync(keyFile, 'utf8');
    const certPem = chainPem ?? readFileSync(certFile, 'utf8');
    const spki = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
    return { nodeUuid: uuid, certPem, keyPem, spki, ...(chainPem !== undefined ? { chainPem } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A pin set for tests: node UUID → SPKI DER. */
export class Pins implements PinSource {
  readonly map = new Map<string, Buffer>();

  constructor(...ids: Array<{ nodeUuid: string; spki: Buffer }>) {
    for (const id of ids) this.map.set(id.nodeUuid, id.spki);
  }

  isPinned(uuid: string, spkiDer: Buffer): boolean {
    const pinned = this.map.get(uuid);
    return pinned?.equals(spkiDer) === true;
  }
}

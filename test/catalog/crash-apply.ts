/**
 * A child process for the crash test (not a test file): opens a catalog and applies batches of
 * index statements in a tight loop until the parent kills it with SIGKILL.
 *   node crash-apply.ts DB KEY_PEM_FILE SIGNER_UUID BATCH
 * Statements are signed and verified before the loop, so the child spends its time inside
 * `apply` (one transaction per batch) and a kill lands mid-transaction. After each commit it prints
 * "committed <last seq>".
 */
import { readFileSync } from 'node:fs';
import {
  catalogKeys,
  SqliteCatalogStore,
  signStatement,
  type VerifiedStatement,
  verifyStatement,
} from '../../src/catalog/index.ts';
import { keyPairFromPrivatePem } from '../../src/keys/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { makeIndex } from './helpers.ts';

const [db = '', keyFile = '', signer = '', batchText = ''] = process.argv.slice(2);
const batch = Number(batchText);
const keyPair = keyPairFromPrivatePem(newUuid(), readFileSync(keyFile, 'utf8'), keyFile);
const node = { uuid: signer, keyPair };
const keys = catalogKeys({ nodeUuid: signer, keys: [keyPair] }, { get: () => undefined });
const store = await SqliteCatalogStore.open(db);
const first = store.maxSeq(signer) + 1;
const pool: VerifiedStatement[] = [];
for (let k = 0; k < batch * 4; k++) {
  const id = newUuid();
  const index = makeIndex(node, { id, name: `f${first + k}.bin`, chunks: 2 });
  const s = signStatement({ kind: 'index', signer, seq: first + k, file: id, body: { index } }, keyPair);
  pool.push(verifyStatement(s, keys));
}
process.stdout.write('ready\n');
for (let k = 0; k < pool.length; k += batch) {
  const result = store.apply(pool.slice(k, k + batch));
  if (result.accepted !== batch) throw new Error(`refused: ${result.refused[0]?.message}`);
  process.stdout.write(`committed ${first + k + batch - 1}\n`);
}
process.stdout.write('done\n');
setInterval(() => {}, 60_000);

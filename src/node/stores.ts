/**
 * A node's chunk stores: the default store in `<home>/stores/default` plus extra folders (external
 * disks). A folder becomes a store once — when first named (`serve --store DIR`), its marker is
 * written and its path recorded in node.json. From then on it is only ever opened: a missing marker
 * means the disk is not mounted, and the store stays offline rather than fill the root filesystem.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import { DiskStore } from '../store/disk-store.ts';
import { StoreSet } from '../store/store-set.ts';
import type { ChunkStore } from '../store/types.ts';

function defaultStorePath(home: NodeHome): string {
  return home.paths.defaultStore;
}

/** Opens every store of the node, registering the new ones among `extra`. */
export async function openNodeStores(home: NodeHome, extra: readonly string[]): Promise<StoreSet> {
  const nodeUuid = home.config.nodeUuid;
  const stores: ChunkStore[] = [];
  const defaultPath = defaultStorePath(home);
  stores.push(await openOrCreate(defaultPath, nodeUuid, true));
  const registered = home.config.stores ?? [];
  const all = [...registered];
  for (const dir of extra.map((d) => resolve(d))) {
    if (dir === defaultPath || all.includes(dir)) continue;
    await openOrCreate(dir, nodeUuid, false).then((s) => s.close()); // creates the marker once
    all.push(dir);
  }
  if (all.length > registered.length) await home.updateConfig({ stores: all });
  for (const dir of all) stores.push(await DiskStore.open(dir, nodeUuid));
  return new StoreSet(stores, { id: nodeUuid });
}

async function openOrCreate(dir: string, nodeUuid: string, isDefault: boolean): Promise<DiskStore> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw fromSystemError(err, `The store folder "${dir}"`);
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch((e: unknown) => {
      throw fromSystemError(e, `Cannot create the store folder "${dir}"`);
    });
    entries = [];
  }
  if (entries.includes('.arozdfs-store')) return DiskStore.open(dir, nodeUuid);
  if (entries.length > 0 && !isDefault) {
    throw new ArozError(
      'ERR_STORE_EXISTS',
      `The folder "${dir}" is not empty and holds no arozdfs store; give an empty or new folder`,
    );
  }
  return DiskStore.create(dir, nodeUuid);
}

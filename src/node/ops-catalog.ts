/**
 * The catalog part of NodeOps (src/ops/types.ts `catalog`): the cluster's files as people see them,
 * one found by id or name, a folder's files and subfolders, and deletes (one file, or a folder of
 * them: only the uploader deletes). Same rules as ops.ts: policy here, surfaces only adapt.
 */
import { rm } from 'node:fs/promises';
import type { CatalogFile } from '../catalog/index.ts';
import { ArozError } from '../errors.ts';
import type { AuditSource } from '../home/audit.ts';
import type { NodeHome } from '../home/open.ts';
import { keptIndexPath } from '../home/paths.ts';
import { filePathProblem } from '../index-file/index.ts';
import type { ClusterFile, FolderRemoval, NodeOps } from '../ops/types.ts';
import { isUuid } from '../uuid.ts';
import type { CatalogService } from './catalog-service.ts';

/** What the catalog operations work through. */
export interface CatalogOpsParts {
  nodeUuid: string;
  home: NodeHome;
  catalog: Pick<CatalogService, 'store' | 'remove'>;
  /** A node's name as people know it: this node's own, a peer's label, else null. */
  label(node: string): string | null;
  /** The last check's verdict per file id (this run of the daemon). */
  health: ReadonlyMap<string, ClusterFile['health']>;
}

/** A folder path as asked: no leading or trailing "/"; '' is the top. */
function folderPath(value: unknown): string {
  if (typeof value !== 'string' || value.length > 4096)
    throw new ArozError('ERR_BAD_REQUEST', 'A folder path is needed');
  const path = value.replace(/^\/+|\/+$/g, '');
  const problem = path === '' ? undefined : filePathProblem(path);
  if (problem !== undefined) throw new ArozError('ERR_BAD_REQUEST', `The folder path "${path}" ${problem}`);
  return path;
}

const noFolder = (path: string) =>
  new ArozError('ERR_NOT_FOUND', `No file named "${path}" and no folder "${path}/" is in the catalog`);

export function catalogOps(parts: CatalogOpsParts): NodeOps['catalog'] {
  const { nodeUuid, home, label } = parts;
  const store = () => parts.catalog.store;

  const clusterFile = (f: CatalogFile): ClusterFile => ({
    id: f.id,
    name: f.name,
    size: f.size,
    sha256: f.sha256,
    uploader: f.uploader,
    uploaderName: label(f.uploader),
    uploadedAt: f.uploadedAt,
    revision: f.revision,
    copies: f.copies,
    chunks: f.chunks,
    redundancy: f.ec ?? String(f.copies),
    encrypted: f.encrypted === true,
    mine: f.uploader === nodeUuid,
    health: parts.health.get(f.id) ?? null,
  });

  /** A file id, else a name: exactly one file of the catalog. */
  const findFile = (ref: unknown): CatalogFile => {
    if (typeof ref !== 'string' || ref === '' || ref.length > 4096)
      throw new ArozError('ERR_BAD_REQUEST', 'A file name or id is needed');
    const files = store();
    if (isUuid(ref)) {
      const byId = files.getFile(ref);
      if (byId !== undefined) return byId;
    }
    const named = files.findByName(ref);
    if (named.length === 1) return named[0]!;
    if (named.length > 1) {
      throw new ArozError(
        'ERR_NAME_AMBIGUOUS',
        `${named.length} files are named "${ref}": give one of their ids: ${named.map((f) => `${f.id} (uploaded ${f.uploadedAt})`).join(', ')}`,
      );
    }
    const deleted = isUuid(ref) ? files.tombstoneOf(ref) : undefined;
    throw new ArozError(
      'ERR_NOT_FOUND',
      deleted !== undefined
        ? `File "${ref}" was deleted at ${deleted.deletedAt}`
        : `No file named "${ref}" (or with that id) is in the catalog`,
    );
  };

  /** The catalog's files under folder `path` (every file for the top), by name. */
  const filesUnder = (path: string): CatalogFile[] => {
    const prefix = path === '' ? '' : `${path}/`;
    return [...store().files()].filter((f) => f.name.startsWith(prefix));
  };

  /** Deletes a file this node uploaded: a tombstone in the catalog, its kept index gone, an audit line. */
  const removeFile = async (file: CatalogFile, from: AuditSource) => {
    const tombstone = await parts.catalog.remove(file.id);
    // The kept copy of its index goes too: a start never enters a deleted file again.
    await rm(keptIndexPath(home.paths, file.id), { force: true });
    await home.audit({ action: 'file-delete', fileId: file.id, fingerprint: null, from });
    return { id: file.id, name: file.name, deletedAt: tombstone.deletedAt };
  };

  return {
    list: () => [...store().files()].map(clusterFile),
    find: (ref) => clusterFile(findFile(ref)),
    folder: (value) => {
      const path = folderPath(value);
      const prefix = path === '' ? '' : `${path}/`;
      const files: ClusterFile[] = [];
      const folders = new Map<string, { name: string; path: string; files: number; bytes: number }>();
      const under = filesUnder(path);
      if (under.length === 0 && path !== '') throw noFolder(path);
      for (const f of under) {
        const rest = f.name.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash === -1) {
          files.push(clusterFile(f));
          continue;
        }
        const name = rest.slice(0, slash);
        const folder = folders.get(name) ?? { name, path: `${prefix}${name}`, files: 0, bytes: 0 };
        folder.files++;
        folder.bytes += f.size;
        folders.set(name, folder);
      }
      return { path, folders: [...folders.values()], files };
    },
    under: (value) => {
      const path = folderPath(value);
      const under = filesUnder(path);
      if (under.length === 0 && path !== '') throw noFolder(path);
      return under.map(clusterFile);
    },
    removeFolder: async (value, from, authorize) => {
      const path = folderPath(value);
      if (path === '') throw new ArozError('ERR_BAD_REQUEST', 'A folder to delete is needed');
      const under = filesUnder(path);
      if (under.length === 0) throw noFolder(path);
      await authorize?.();
      const removed: FolderRemoval['removed'] = [];
      const refused: FolderRemoval['refused'] = [];
      for (const file of under) {
        if (file.uploader !== nodeUuid) {
          refused.push({
            id: file.id,
            name: file.name,
            code: 'ERR_NOT_UPLOADER',
            message: `"${file.name}" was uploaded by node ${file.uploader}: only that node may delete it`,
          });
          continue;
        }
        try {
          removed.push(await removeFile(file, from));
        } catch (err) {
          if (!(err instanceof ArozError)) throw err;
          refused.push({ id: file.id, name: file.name, code: err.code, message: err.message });
        }
      }
      return { path, removed, refused };
    },
    index: (ref) => {
      const file = findFile(ref);
      const index = store().indexOf(file.id);
      if (index === undefined) throw new ArozError('ERR_NOT_FOUND', `File "${file.id}" has no index here`);
      return index;
    },
    remove: async (ref, from, authorize) => {
      const file = findFile(ref);
      if (file.uploader !== nodeUuid) {
        const who = label(file.uploader);
        throw new ArozError(
          'ERR_NOT_UPLOADER',
          `"${file.name}" was uploaded by node ${who === null ? '' : `"${who}" `}(${file.uploader}): only that node may delete it`,
        );
      }
      await authorize?.();
      return await removeFile(file, from);
    },
  };
}

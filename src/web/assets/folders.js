/**
 * The folders of the Files page: where one is (a breadcrumb from the top), the folders in it (name,
 * files and bytes under each; Open; Delete, which asks for the password and names how many files
 * go), from GET /api/folder (docs/web.md).
 */
import { action, api, askPassword } from './api.js';
import { button, cells, enc, fill, h, say, size, tableList } from './dom.js';

export function folderView(signal, onOpen, said) {
  const crumbs = h('nav', { class: 'crumbs', test: 'folder-crumbs', 'aria-label': 'Folder' });
  const rows = tableList(['Folder', 'Files', 'Size', 'Actions'], '', (folder) => {
    const td = cells(4);
    const open = h('button', { type: 'button', class: 'link', test: 'folder-open' });
    open.addEventListener('click', () => onOpen(row.item.path));
    const remove = button(
      'Delete',
      'folder-delete',
      () => action(el, remove, 'Deleting…', () => drop(row.item))(),
      'small danger',
    );
    td[0].append(open);
    td[3].append(remove);
    const row = {
      el: h('tr', { test: 'folder-row', 'data-path': folder.path }, td),
      update(f) {
        open.textContent = `${f.name}/`;
        td[1].textContent = String(f.files);
        td[2].textContent = size(f.bytes);
      },
    };
    return row;
  });
  // No folders: no table and no words (the files list says when the folder is empty).
  const el = h('div', { class: 'stack' }, crumbs, rows.el[0]);

  const drop = async (folder) => {
    say(said, '');
    const files = folder.files === 1 ? '1 file' : `${folder.files} files`;
    const done = await askPassword({
      title: `Delete the folder “${folder.path}” and the ${files} in it?`,
      why: `Enter the admin password to delete the ${files} under “${folder.path}” on every computer.`,
      warning:
        'Every computer moves its copies of these files to its trash; they cannot be downloaded any more. Files another computer uploaded stay (only it may delete them).',
      okLabel: `Delete ${files}`,
      danger: true,
      run: (password) => api('DELETE', `/api/folder?path=${enc(folder.path)}`, { password }, signal),
    });
    if (done === undefined) return;
    const kept = done.refused.length > 0 ? ` ${done.refused.length} uploaded by other computers stayed.` : '';
    say(said, `${done.removed.length} files under “${folder.path}” were deleted.${kept}`, 'ok');
    onOpen(folder.path.includes('/') ? folder.path.slice(0, folder.path.lastIndexOf('/')) : '');
  };

  return {
    el,
    /** Shows a listing: `{ path, folders }`. */
    show(listing) {
      const parts = listing.path === '' ? [] : listing.path.split('/');
      const link = (text, path, test) => {
        const b = h('button', { type: 'button', class: 'link', test }, text);
        b.addEventListener('click', () => onOpen(path));
        return b;
      };
      fill(
        crumbs,
        parts.length === 0 ? h('strong', {}, 'All files') : link('All files', '', 'crumb'),
        parts.map((name, i) => [
          h('span', { class: 'sep', 'aria-hidden': 'true' }, ' / '),
          i === parts.length - 1
            ? h('strong', { test: 'crumb-here' }, name)
            : link(name, parts.slice(0, i + 1).join('/'), 'crumb'),
        ]),
      );
      rows.sync(listing.folders, (f) => f.path);
    },
  };
}

/**
 * Preloaded with `node --import` into a CLI process: at exit, writes to the file named by
 * $AROZDFS_LOAD_TRACE the URLs of the modules it loaded and Node's own list of built-in modules and
 * bindings it started (`process.moduleLoadList`), as JSON.
 */
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const loaded: string[] = [];
registerHooks({
  load(url, context, next) {
    loaded.push(url);
    return next(url, context);
  },
});
const out = process.env['AROZDFS_LOAD_TRACE'];
if (out !== undefined) {
  process.on('exit', () => {
    writeFileSync(
      out,
      JSON.stringify({
        loaded,
        builtins: (process as unknown as { moduleLoadList: string[] }).moduleLoadList,
      }),
    );
  });
}

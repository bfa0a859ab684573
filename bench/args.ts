/**
 * The benchmarks' command lines: Node's `parseArgs`, plus `--help` (the options and their defaults)
 * and one line naming a wrong option (exit 2) where `parseArgs` would end in a stack trace.
 */
import { basename } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';

export function benchArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const script = `node bench/${basename(process.argv[1] ?? 'bench')}`;
  try {
    const parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean' } } });
    if ((parsed.values as Record<string, unknown>)['help'] === true) {
      const lines = Object.entries(config.options ?? {}).map(([name, option]) => {
        const value = option.type === 'string' ? ` ${name.toUpperCase().replaceAll('-', '_')}` : '';
        const shown = option.default === undefined ? '' : `  (default ${String(option.default)})`;
        return `  --${name}${value}${option.multiple === true ? ' (repeatable)' : ''}${shown}`;
      });
      console.log(`Usage: ${script} [options]\nOptions:\n${lines.join('\n')}`);
      process.exit(0);
    }
    return parsed as ReturnType<typeof parseArgs<T>>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS')) throw err;
    console.error(`${script}: ${(err as Error).message} (--help lists the options)`);
    process.exit(2);
  }
}

#!/usr/bin/env node
// Launcher: runs the compiled CLI (built by `npm ci` through the prepare script), or the
// TypeScript sources through tsx when no build is present, so `npx qpipe` works either way.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node 22+ caches compiled bytecode between runs; Node 20 has no such cache and skips this.
module.enableCompileCache?.();

const compiled = new URL('../dist/bin/cli.js', import.meta.url);
let cli;
if (existsSync(compiled)) {
  cli = await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('./cli.ts', import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(2));

#!/usr/bin/env node
// Launcher: runs the compiled CLI (built by `npm ci` through the prepare script), or the
// TypeScript sources through tsx when no build is present, so `npx qpipe` works either way.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node 22+ caches compiled bytecode between runs; Node 20 has no such cache and skips this.
module.enableCompileCache?.();
// The AWS SDK warns on every Node 20 start-up; Node 20.19+ is supported here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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

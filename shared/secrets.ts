/**
 * Secrets kept out of the environment, read at start-up and kept for the life of the process:
 * - `NAME_FILE` names a file whose content becomes `NAME` (a mounted Secret, Vault Agent's
 *   rendered file); a served process restarts when such a file changes (watchSecretFiles), so a
 *   rotated credential is read again;
 * - `NAME_PARAMETER` names an SSM Parameter Store SecureString (a Lambda's cold start).
 * Only the settings listed here are looked up.
 */
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { ConfigError } from './errors.ts';

/** Settings that may come from a file: the credentials a stage holds. */
export const FILE_SETTINGS = ['IBM_QUANTUM_API_KEY', 'IBM_QUANTUM_CRN', 'QPIPE_SMTP_URL'] as const;

/** How often a served process looks at its secret files (Kubernetes updates a mounted Secret within a minute or so). */
const WATCH_INTERVAL_MS = 5_000;

function readSecretFile(name: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${name}_FILE`,
      `cannot read "${path}": ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  // Files written by editors and `echo` end in a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new ConfigError(`${name}_FILE`, `"${path}" is empty`);
  return value;
}

/** The environment with each `<SETTING>_FILE` read into `<SETTING>`. */
export function resolveSecretFiles(env: Env): Env {
  const named = FILE_SETTINGS.filter((name) => env[`${name}_FILE`]);
  if (named.length === 0) return env;
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of named) {
    if (env[name]) throw new ConfigError(`${name}_FILE`, `is set, and so is ${name}: set one of them`);
    resolved[name] = readSecretFile(name, env[`${name}_FILE`] as string);
  }
  return resolved;
}

/**
 * Calls `changed` once, naming the setting, when a `<SETTING>_FILE` now holds another value than
 * at start-up (a rotation): the served process then stops gracefully and its supervisor starts
 * it again with the new value. Returns a function that stops watching.
 */
export function watchSecretFiles(env: Env, changed: (setting: string) => void): () => void {
  const watched = FILE_SETTINGS.filter((name) => env[`${name}_FILE`]).map((name) => {
    const path = env[`${name}_FILE`] as string;
    const initial = readSecretFile(name, path);
    let told = false;
    watchFile(path, { interval: WATCH_INTERVAL_MS, persistent: false }, () => {
      let now: string | undefined;
      try {
        now = readSecretFile(name, path);
      } catch {
        return; // Mid-rotation (the old file gone, the new one not yet there): look again next time.
      }
      if (now !== initial && !told) {
        told = true;
        changed(`${name}_FILE`);
      }
    });
    return path;
  });
  return () => {
    for (const path of watched) unwatchFile(path);
  };
}

/** Settings that may come from SSM instead of the environment. */
export const SECRET_SETTINGS = ['IBM_QUANTUM_API_KEY'] as const;

type Env = Readonly<Record<string, string | undefined>>;

/** The environment with each `<SETTING>_PARAMETER` resolved into `<SETTING>`; SSM loads only when one is set. */
export async function resolveSecrets(env: Env): Promise<Env> {
  const wanted = SECRET_SETTINGS.filter((name) => env[`${name}_PARAMETER`]);
  if (wanted.length === 0) return env;
  const { SSMClient, GetParameterCommand } = await import('@aws-sdk/client-ssm');
  const client = new SSMClient({});
  const resolved: Record<string, string | undefined> = { ...env };
  for (const name of wanted) {
    const parameter = env[`${name}_PARAMETER`] as string;
    try {
      const { Parameter } = await client.send(new GetParameterCommand({ Name: parameter, WithDecryption: true }));
      if (!Parameter?.Value) throw new Error('it has no value');
      resolved[name] = Parameter.Value;
    } catch (error) {
      throw new ConfigError(
        `${name}_PARAMETER`,
        `cannot read SSM parameter "${parameter}": ${(error as Error).message}`,
      );
    }
  }
  return resolved;
}

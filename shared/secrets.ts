/**
 * Secrets kept out of the environment: a setting `NAME_PARAMETER` names an SSM Parameter
 * Store SecureString whose value becomes `NAME`, read once at start-up (a Lambda's cold
 * start) and kept for the life of the process. Only the settings listed here are looked up.
 */
import { ConfigError } from './errors.ts';

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

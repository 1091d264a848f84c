/** Secrets from SSM Parameter Store (moto's SSM, real @aws-sdk/client-ssm), resolved at a cold start. */
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { ConfigError } from '../../shared/errors.ts';
import { resolveSecrets } from '../../shared/secrets.ts';
import { motoMissing, useMoto } from '../support/moto.ts';

const missing = motoMissing();

describe.skipIf(missing !== undefined)(`secrets from SSM (moto)${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const moto = useMoto();
  const saved = { ...process.env };
  beforeAll(() => void Object.assign(process.env, moto().env));
  afterAll(() => void (process.env = saved));

  it('reads the IBM API key from a SecureString named by IBM_QUANTUM_API_KEY_PARAMETER', async () => {
    const ssm = new SSMClient({
      region: 'eu-west-1',
      endpoint: moto().endpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    await ssm.send(
      new PutParameterCommand({ Name: '/qpipe/ibm-api-key', Value: 'key-from-ssm', Type: 'SecureString' }),
    );
    const env = await resolveSecrets({
      IBM_QUANTUM_API_KEY_PARAMETER: '/qpipe/ibm-api-key',
      IBM_QUANTUM_CRN: 'crn:v1:bluemix:public:quantum-computing:us-east:a/x::',
    });
    expect(loadConfig(env).providers.ibm?.apiKey).toBe('key-from-ssm');
  });

  it('names the setting and the parameter when it cannot be read', async () => {
    const error = await resolveSecrets({ IBM_QUANTUM_API_KEY_PARAMETER: '/qpipe/missing' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /IBM_QUANTUM_API_KEY_PARAMETER: cannot read SSM parameter "\/qpipe\/missing"/,
    );
  });

  it('leaves the environment alone when no secret is named (no SSM call)', async () => {
    const env = { IBM_QUANTUM_API_KEY: '', IBM_QUANTUM_CRN: '' };
    expect(await resolveSecrets(env)).toBe(env);
    expect(loadConfig(env).providers.ibm).toBeUndefined();
  });
});

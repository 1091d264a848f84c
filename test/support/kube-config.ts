/** A KubeConfig for a local server standing in for the Kubernetes API (plain HTTP, a test token). */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export function kubeConfigFor(server: Server): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: 'test', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true },
    ],
    users: [{ name: 'qpipe', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'qpipe' }],
    currentContext: 'test',
  });
  return kc;
}

/** A kubeconfig with one context (`ctx` unless named) for SERVER, TLS not verified, a dummy token. */
export function fakeKubeconfig(server: string, context = 'ctx'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: c',
    '  cluster:',
    `    server: ${server}`,
    '    insecure-skip-tls-verify: true',
    'contexts:',
    `- name: ${context}`,
    '  context: {cluster: c, user: u}',
    `current-context: ${context}`,
    'users:',
    '- name: u',
    '  user: {token: t}',
    '',
  ].join('\n');
}

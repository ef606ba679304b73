import { describe, expect, it } from 'vitest';
import { defaultLimits, resolveConfig, type ConfigSources } from '../../suites/lib/config.js';
import { InputError } from '../../suites/lib/errors.js';

const base = (over: Partial<ConfigSources> = {}): ConfigSources => ({ argv: [], env: {}, cwd: '/work', home: '/home/u', ...over });

describe('resolveConfig', () => {
  it('uses the documented defaults', () => {
    const config = resolveConfig(base());
    expect(config.namespace).toBe('todo-app');
    expect(config.release).toBe('todo-app');
    expect(config.kubeconfig).toBe('/home/u/.kube/config');
    expect(config.context).toBeUndefined();
    expect(config.access).toBe('auto');
    expect(config.reportDir).toBe('/work/reports');
    expect(config.limits).toEqual(defaultLimits);
    expect(config.limits.failFastSeconds).toBe(15);
    expect(config.topics).toEqual(['task-events', 'reminders']);
  });

  it('takes flags over environment over config file over defaults', () => {
    const file = ['namespace: from-file', 'release: file-release', 'context: file-ctx', 'limits:', '  crudP95Ms: 1500', '  maxRestarts: 7', 'serviceUrls:', '  backend: http://127.0.0.1:1111'].join('\n');
    const sources = base({
      argv: ['--namespace', 'from-flag', '--limit', 'crudP95Ms=900', '--config', 'suite.yaml'],
      env: { TODO_SUITE_NAMESPACE: 'from-env', TODO_SUITE_RELEASE: 'env-release', TODO_SUITE_LIMITS: 'crudP95Ms=1200,maxRestarts=5', TODO_SUITE_SERVICE_URLS: 'backend=http://127.0.0.1:2222' },
      readFile: (path) => {
        expect(path).toBe('/work/suite.yaml');
        return file;
      },
    });
    const config = resolveConfig(sources);
    expect(config.namespace).toBe('from-flag');
    expect(config.release).toBe('env-release');
    expect(config.context).toBe('file-ctx');
    expect(config.limits.crudP95Ms).toBe(900);
    expect(config.limits.maxRestarts).toBe(5);
    expect(config.serviceUrls.backend).toBe('http://127.0.0.1:2222');
    expect(config.configFile).toBe('/work/suite.yaml');
  });

  it('resolves the kubeconfig from flag, suite env, then KUBECONFIG', () => {
    // A KUBECONFIG list stays a list: the files are merged as kubectl merges them.
    expect(resolveConfig(base({ env: { KUBECONFIG: '/a:rel/b' } })).kubeconfig).toBe('/a:/work/rel/b');
    expect(resolveConfig(base({ env: { KUBECONFIG: '/a', TODO_SUITE_KUBECONFIG: 'rel/kc' } })).kubeconfig).toBe('/work/rel/kc');
    expect(resolveConfig(base({ argv: ['--kubeconfig', '~/kc'], env: { KUBECONFIG: '/a' } })).kubeconfig).toBe('/home/u/kc');
  });

  it('uses in-cluster credentials inside a pod without a kubeconfig', () => {
    const config = resolveConfig(base({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, exists: () => false }));
    expect(config.kubeconfig).toBeUndefined();
    // As the CLI calls it: the file system says whether ~/.kube/config exists.
    const home = '/nonexistent-home-of-a-pod';
    expect(resolveConfig({ argv: [], env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, cwd: '/work', home }).kubeconfig).toBeUndefined();
  });

  it('collects repeatable service URLs and list options', () => {
    const config = resolveConfig(base({ argv: ['--service-url', 'backend=http://127.0.0.1:1', '--service-url', 'frontend=http://127.0.0.1:2', '--only', 'pods,dapr', '--skip', 'frontend-load'] }));
    expect(config.serviceUrls).toEqual({ backend: 'http://127.0.0.1:1', frontend: 'http://127.0.0.1:2' });
    expect(config.only).toEqual(['pods', 'dapr']);
    expect(config.skip).toEqual(['frontend-load']);
  });

  it.each([
    [['--limit', 'nope=1'], /unknown limit "nope"/],
    [['--limit', 'crudP95Ms=fast'], /must be a non-negative number/],
    [['--limit', 'crudP95Ms'], /NAME=VALUE/],
    [['--access', 'carrier-pigeon'], /--access must be one of/],
    [['--service-url', 'backend=not a url'], /must be an http:\/\/ or https:\/\/ URL with a host/],
    [['--frobnicate'], /Unknown option/],
    [['stray'], /Unexpected argument|positional/i],
    [['--retries', '9'], /--retries must be a whole number from 0 to 5, got "9"/],
    [['--timeout', '0'], /--timeout must be a whole number from 1/],
    [['--reporter', 'xml'], /--reporter must be default or json/],
    [['--grep', '('], /--grep: not a regular expression/],
    // A negative number is the flag's value, refused by the value's own check, not Node's "ambiguous".
    [['--retries', '-1'], /^--retries must be a whole number from 0 to 5, got "-1"$/],
    [['--timeout', '-3'], /^--timeout must be a whole number from 1 to 86400, got "-3"$/],
    [['--namespace', '--release', 'x'], /^Option '--namespace' argument is ambiguous\..* \(see --help\)$/],
  ])('rejects %j as bad usage', (argv, message) => {
    try {
      resolveConfig(base({ argv }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).exitCode).toBe(2);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('splits every list key of the config file written as one comma-separated string', () => {
    const text = ['topics: task-events, reminders', 'secretKeys: DATABASE_URL,JWT_SECRET', 'daprComponents: kafka-pubsub', 'only: pods, dapr', 'kafkaBrokers: 127.0.0.1:9092,127.0.0.1:9093'].join('\n');
    const config = resolveConfig(base({ argv: ['--config', 'c.yaml'], readFile: () => text }));
    expect(config.topics).toEqual(['task-events', 'reminders']);
    expect(config.secretKeys).toEqual(['DATABASE_URL', 'JWT_SECRET']);
    expect(config.daprComponents).toEqual(['kafka-pubsub']);
    expect(config.only).toEqual(['pods', 'dapr']);
    expect(config.kafkaBrokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    const lists = resolveConfig(base({ argv: ['--config', 'c.yaml'], readFile: () => 'topics: [a, b]\nsecretKeys: [K]' }));
    expect([lists.topics, lists.secretKeys]).toEqual([['a', 'b'], ['K']]);
  });

  it('rejects unknown config-file keys', () => {
    expect(() => resolveConfig(base({ argv: ['--config', 'c.yaml'], readFile: () => 'namespce: typo\n' }))).toThrow(/unknown key "namespce"/);
  });

  it('takes the namespace from -n, else from the context as kubectl does, else todo-app, and says which', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'config-ns-'));
    try {
      const kubeconfig = (name: string, current: string, contexts: [string, string?][]) =>
        [
          'apiVersion: v1',
          'kind: Config',
          `current-context: ${current}`,
          `clusters: [{name: c-${name}, cluster: {server: "https://127.0.0.1:1"}}]`,
          `users: [{name: u-${name}, user: {token: t}}]`,
          'contexts:',
          ...contexts.map(([context, namespace]) => `- {name: ${context}, context: {cluster: c-${name}, user: u-${name}${namespace ? `, namespace: ${namespace}` : ''}}}`),
        ].join('\n');
      await writeFile(join(dir, 'a'), kubeconfig('a', 'shop-ctx', [['shop-ctx', 'shop'], ['bare-ctx']]));
      await writeFile(join(dir, 'b'), kubeconfig('b', 'other', [['other', 'elsewhere'], ['shop-ctx', 'ignored']]));
      const list = `${join(dir, 'missing')}:${join(dir, 'a')}:${join(dir, 'b')}`;
      const fromContext = resolveConfig(base({ env: { KUBECONFIG: list } }));
      expect([fromContext.namespace, fromContext.namespaceSource]).toEqual(['shop', 'context']);
      expect(resolveConfig(base({ env: { KUBECONFIG: list }, argv: ['--context', 'other'] })).namespace).toBe('elsewhere');
      const bare = resolveConfig(base({ env: { KUBECONFIG: list }, argv: ['--context', 'bare-ctx'] }));
      expect([bare.namespace, bare.namespaceSource]).toEqual(['todo-app', 'default']);
      const given = resolveConfig(base({ env: { KUBECONFIG: list }, argv: ['-n', 'mine'] }));
      expect([given.namespace, given.namespaceSource]).toEqual(['mine', 'given']);
      expect(() => resolveConfig(base({ argv: ['-n', ''] }))).toThrow(/--namespace needs a value/);
      await writeFile(join(dir, 'c'), kubeconfig('c', 'odd', [['odd', 'Not_A_Namespace']]));
      expect(() => resolveConfig(base({ env: { KUBECONFIG: join(dir, 'c') } }))).toThrow(/^the namespace of the current context in the kubeconfig must be a Kubernetes namespace name .*got "Not_A_Namespace"; fix the context or set --namespace$/);
      expect(resolveConfig(base({ env: { KUBECONFIG: join(dir, 'c') }, argv: ['-n', 'fine'] })).namespace).toBe('fine');
      // The merge: the first current-context and the first definition of a name win.
      const { loadKubeConfig } = await import('../../suites/lib/kube.js');
      const merged = loadKubeConfig({ kubeconfig: list, context: undefined });
      expect(merged.contextName).toBe('shop-ctx');
      expect(merged.kc.getCurrentCluster()?.name).toBe('c-a');
      expect(loadKubeConfig({ kubeconfig: list, context: 'other' }).kc.getCurrentCluster()?.name).toBe('c-b');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a run id, report directory, namespace or release that cannot be one, naming where it came from', () => {
    const refusal = (over: Partial<ConfigSources>) => {
      try {
        resolveConfig(base(over));
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        expect((error as InputError).exitCode).toBe(2);
        expect((error as Error).message).not.toContain('\n');
        return (error as Error).message;
      }
      return 'accepted';
    };
    // A run id is one directory under the report directory.
    expect(refusal({ argv: ['--run-id', '../x'] })).toMatch(/^--run-id must be one directory name under the report directory \(letters, digits, '\.', '_' and '-', no '\/' or '\.\.'.*got "\.\.\/x"$/);
    expect(refusal({ argv: ['--run-id', 'a/b'] })).toMatch(/^--run-id must be one directory name/);
    expect(refusal({ argv: ['--run-id', 'a..b'] })).toMatch(/^--run-id must be one directory name/);
    expect(refusal({ argv: ['--run-id', '..'] })).toMatch(/^--run-id must be one directory name/);
    expect(refusal({ argv: ['--run-id', 'latest'] })).toMatch(/^--run-id cannot be "latest"/);
    expect(refusal({ env: { TODO_SUITE_RUN_ID: '/tmp/x' } })).toMatch(/^TODO_SUITE_RUN_ID must be one directory name/);
    expect(refusal({ argv: ['--run-id', 'ci-1234.2_a'] })).toBe('accepted');
    // An empty flag is a mistake, never the default.
    expect(refusal({ argv: ['--report-dir', ''] })).toBe('--report-dir needs a value, got an empty one (see --help)');
    expect(refusal({ argv: ['--run-id', ''] })).toBe('--run-id needs a value, got an empty one (see --help)');
    expect(refusal({ argv: ['--config', ''] })).toBe('--config needs a value, got an empty one (see --help)');
    // Namespaces as the API server checks them, releases as helm does.
    expect(refusal({ argv: ['-n', 'Shop'] })).toMatch(/^--namespace must be a Kubernetes namespace name \(lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters\), got "Shop"$/);
    expect(refusal({ argv: ['-n', '-5'] })).toMatch(/^--namespace must be a Kubernetes namespace name .*got "-5"$/);
    expect(refusal({ argv: ['-n', 'a.b'] })).toMatch(/^--namespace must be a Kubernetes namespace name/);
    expect(refusal({ argv: ['-n', 'x'.repeat(64)] })).toMatch(/^--namespace must be a Kubernetes namespace name/);
    expect(refusal({ env: { TODO_SUITE_NAMESPACE: 'shop/../kube-system' } })).toMatch(/^TODO_SUITE_NAMESPACE must be a Kubernetes namespace name/);
    expect(refusal({ argv: ['--config', 'c.yaml'], readFile: () => 'namespace: my_ns' })).toMatch(/^config file \/work\/c\.yaml: namespace must be a Kubernetes namespace name .*got "my_ns"$/);
    expect(refusal({ argv: ['--config', 'c.yaml'], readFile: () => 'daprNamespace: Dapr' })).toMatch(/^config file \/work\/c\.yaml: daprNamespace must be a Kubernetes namespace name/);
    expect(refusal({ argv: ['--release', 'Todo_App'] })).toMatch(/^--release must be a Helm release name \(lowercase letters, digits, '-' and '\.', starting and ending with a letter or digit, at most 53 characters\), got "Todo_App"$/);
    expect(refusal({ argv: ['--release', 'x'.repeat(54)] })).toMatch(/^--release must be a Helm release name/);
    expect(refusal({ env: { TODO_SUITE_RELEASE: 'todo app' } })).toMatch(/^TODO_SUITE_RELEASE must be a Helm release name/);
    expect(refusal({ argv: ['--config', 'c.yaml'], readFile: () => 'release: -todo' })).toMatch(/^config file \/work\/c\.yaml: release must be a Helm release name/);
    expect(refusal({ argv: ['-n', 'shop-1', '--release', 'todo.v2'] })).toBe('accepted');
  });

  it('refuses values a user could not have meant: URLs without http(s) or host, empty limits, mistyped config keys', () => {
    const usage = (over: Partial<ConfigSources>) => {
      try {
        resolveConfig(base(over));
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as InputError).kind === 'usage' ? (error as Error).message : `not usage: ${(error as Error).message}`;
      }
      return 'accepted';
    };
    expect(usage({ argv: ['--frontend-url', 'localhost:3000'] })).toMatch(/frontend URL must be an http:\/\/ or https:\/\/ URL with a host, got "localhost:3000"/);
    expect(usage({ argv: ['--frontend-url', 'ftp://x'] })).toMatch(/must be an http/);
    expect(usage({ argv: ['--service-url', 'backend=ftp://x'] })).toMatch(/service URL for backend must be an http/);
    expect(usage({ argv: ['--limit', 'crudP95Ms='] })).toMatch(/limit crudP95Ms in --limit must be a non-negative number, got ""/);
    const withFile = (text: string) => usage({ argv: ['--config', 'c.yaml'], readFile: () => text });
    expect(withFile('namespace: [a, b]')).toMatch(/config file \/work\/c\.yaml: namespace must be a non-empty string, got a list/);
    expect(withFile('strict: "yes"')).toMatch(/strict must be true or false/);
    expect(withFile('only: {a: 1}')).toMatch(/only must be a list of strings, got a mapping/);
    expect(withFile('limits: 5')).toMatch(/limits must be a mapping/);
    // A limit is a number (or a quoted one), named by its path in the file.
    expect(withFile('limits: {crudP95Ms: [5]}')).toMatch(/^config file \/work\/c\.yaml: limits\.crudP95Ms must be a non-negative number, got a list \[5\]$/);
    expect(withFile('limits: {crudP95Ms: {ms: 5}}')).toMatch(/limits\.crudP95Ms must be a non-negative number, got \{"ms":5\}$/);
    expect(withFile('limits: {crudP95Ms: true}')).toMatch(/limits\.crudP95Ms must be a non-negative number, got true$/);
    expect(withFile('limits: {crudP95Ms: null}')).toMatch(/limits\.crudP95Ms must be a non-negative number, got null$/);
    expect(withFile('limits: {crudP95Ms: -1}')).toMatch(/limits\.crudP95Ms must be a non-negative number, got -1$/);
    expect(withFile('limits: {crudP95s: 5}')).toMatch(/^config file \/work\/c\.yaml: unknown limit "limits\.crudP95s"; known: failFastSeconds/);
    expect(usage({ argv: ['--config', 'c.yaml'], readFile: () => 'limits: {crudP95Ms: "900", maxRestarts: 2}' })).toBe('accepted');
    expect(resolveConfig(base({ argv: ['--config', 'c.yaml'], readFile: () => 'limits: {crudP95Ms: "900", maxRestarts: 2}' })).limits).toMatchObject({ crudP95Ms: 900, maxRestarts: 2 });
    expect(withFile('serviceUrls: {backend: [http://127.0.0.1:1]}')).toMatch(/^config file \/work\/c\.yaml: serviceUrls\.backend must be a URL string, got \["http:\/\/127\.0\.0\.1:1"\]$/);
    expect(withFile('only: [pods-ready]\nnamespace: shop')).toBe('accepted');
    expect(usage({ argv: ['--frontend-url', 'http://127.0.0.1:3000'] })).toBe('accepted');
  });
});

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
    expect(resolveConfig(base({ env: { KUBECONFIG: '/a:/b' } })).kubeconfig).toBe('/a');
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
    [['--service-url', 'backend=not a url'], /not a URL/],
    [['--frobnicate'], /Unknown option/],
    [['stray'], /Unexpected argument|positional/i],
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

  it('rejects unknown config-file keys', () => {
    expect(() => resolveConfig(base({ argv: ['--config', 'c.yaml'], readFile: () => 'namespce: typo\n' }))).toThrow(/unknown key "namespce"/);
  });
});

// Service discovery without cluster DNS. Where a pod's env, args or a Dapr Component's
// metadata name a Service (`kafka:9092`, `http://backend:8000`,
// `backend.todo-app.svc.cluster.local:8000`, or a StatefulSet pod under its headless
// Service, `kafka-0.kafka-headless:9092`), the address is replaced by the 127.0.0.1
// listener that stands in for it. A name that matches no Service is left alone and fails
// as it would in a cluster.

export interface AddressResolver {
  /** Host port of the listener for port `port` of Service `namespace/name`. */
  service(namespace: string, name: string, port: number): number | undefined;
  /** Host port of `hostname`'s process behind headless Service `namespace/service`. */
  podOfService(namespace: string, service: string, hostname: string, port: number): number | undefined;
}

const addressPattern =
  /(?<![A-Za-z0-9.-])(?<scheme>[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]*@)?)?(?<host>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)(?::(?<port>\d{1,5}))?(?![A-Za-z0-9-])/g;

const defaultPorts: Record<string, number> = { 'http://': 80, 'https://': 443, 'ws://': 80, 'wss://': 443 };

function stripClusterSuffix(labels: string[]): string[] | undefined {
  // `<...>.svc.cluster.local` and `<...>.svc` mean the same; anything else with a dot
  // after the namespace is not a cluster name.
  const joined = labels.join('.');
  for (const suffix of ['.svc.cluster.local', '.svc']) {
    if (joined.endsWith(suffix)) return joined.slice(0, -suffix.length).split('.');
  }
  return labels;
}

/** The host port `host:port` stands for, or undefined when it names nothing known. */
export function resolveAddress(
  host: string,
  port: number,
  namespace: string,
  resolver: AddressResolver,
): number | undefined {
  const fullyQualified = /\.svc(\.cluster\.local)?$/.test(host);
  const labels = stripClusterSuffix(host.toLowerCase().split('.'));
  if (!labels || labels.length === 0 || labels.length > 3) return undefined;
  if (labels.length === 1) return resolver.service(namespace, labels[0]!, port);
  if (labels.length === 2) {
    const [first, second] = labels as [string, string];
    // `svc.ns` is tried before `pod.svc` (same namespace), as a resolver's search list would.
    return resolver.service(second, first, port) ??
      (fullyQualified ? undefined : resolver.podOfService(namespace, second, first, port));
  }
  const [pod, service, serviceNamespace] = labels as [string, string, string];
  return resolver.podOfService(serviceNamespace, service, pod, port);
}

/** Replace every address in `text` that names a known Service with its listener. */
export function substituteAddresses(text: string, namespace: string, resolver: AddressResolver): string {
  return text.replace(addressPattern, (whole, scheme: string | undefined, host: string, port: string | undefined) => {
    if (scheme === undefined && port === undefined) return whole;
    const schemeName = scheme?.replace(/\/\/.*$/, '//');
    const portNumber = port !== undefined ? Number(port) : defaultPorts[schemeName ?? ''];
    if (portNumber === undefined) return whole;
    const hostPort = resolveAddress(host, portNumber, namespace, resolver);
    if (hostPort === undefined) return whole;
    return `${scheme ?? ''}127.0.0.1:${hostPort}`;
  });
}

import { describe, expect, it } from 'vitest';
import { substituteAddresses, type AddressResolver } from '../../scripts/sandbox/runtime/service-names.js';

// todo-app has backend:8000 -> 31000, kafka:9092 -> 31001, frontend:80 -> 31002 and the
// headless kafka-headless with pod kafka-0 on 9092 -> 32000; other has backend:8000 -> 33000.
const resolver: AddressResolver = {
  service(namespace, name, port) {
    const table: Record<string, number> = {
      'todo-app/backend:8000': 31000,
      'todo-app/kafka:9092': 31001,
      'todo-app/frontend:80': 31002,
      'other/backend:8000': 33000,
    };
    return table[`${namespace}/${name}:${port}`];
  },
  podOfService(namespace, service, hostname, port) {
    return namespace === 'todo-app' && service === 'kafka-headless' && hostname === 'kafka-0' && port === 9092
      ? 32000 : undefined;
  },
};

const substitute = (text: string) => substituteAddresses(text, 'todo-app', resolver);

describe('service name substitution', () => {
  it('replaces every spelling of a Service address with its listener', () => {
    expect(substitute('kafka:9092')).toBe('127.0.0.1:31001');
    expect(substitute('http://backend:8000/api')).toBe('http://127.0.0.1:31000/api');
    expect(substitute('backend.todo-app:8000')).toBe('127.0.0.1:31000');
    expect(substitute('backend.todo-app.svc:8000')).toBe('127.0.0.1:31000');
    expect(substitute('http://backend.todo-app.svc.cluster.local:8000')).toBe('http://127.0.0.1:31000');
    expect(substitute('http://backend.other.svc.cluster.local:8000')).toBe('http://127.0.0.1:33000');
  });

  it('uses the scheme\'s default port when a URL names none', () => {
    expect(substitute('http://frontend/')).toBe('http://127.0.0.1:31002/');
  });

  it('reaches a StatefulSet pod through its headless Service', () => {
    expect(substitute('kafka-0.kafka-headless:9092')).toBe('127.0.0.1:32000');
    expect(substitute('PLAINTEXT://kafka-0.kafka-headless.todo-app.svc.cluster.local:9092'))
      .toBe('PLAINTEXT://127.0.0.1:32000');
  });

  it('substitutes a KRaft voter address', () => {
    expect(substitute('0@kafka-0.kafka-headless.todo-app.svc.cluster.local:9092')).toBe('0@127.0.0.1:32000');
  });

  it('substitutes each address in a list', () => {
    expect(substitute('kafka:9092,kafka-0.kafka-headless:9092')).toBe('127.0.0.1:31001,127.0.0.1:32000');
  });

  it('leaves names that match no Service, no port, or only look alike', () => {
    expect(substitute('missing:9092')).toBe('missing:9092');
    expect(substitute('backend:9999')).toBe('backend:9999');
    expect(substitute('backend')).toBe('backend');
    expect(substitute('mybackend:8000')).toBe('mybackend:8000');
    expect(substitute('backend.example.com:8000')).toBe('backend.example.com:8000');
    expect(substitute('time 10:30:00')).toBe('time 10:30:00');
  });

  it('keeps credentials in a URL and replaces only the host', () => {
    expect(substitute('postgresql://todo:s3cret@backend:8000/todo?sslmode=disable'))
      .toBe('postgresql://todo:s3cret@127.0.0.1:31000/todo?sslmode=disable');
  });
});

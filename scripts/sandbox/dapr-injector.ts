// The sandbox's stand-in for Dapr's sidecar injector: an HTTPS mutating admission webhook
// that gives pods annotated `dapr.io/enabled: "true"` the `daprd` container Dapr would add.
//
// Usage: node --import tsx scripts/sandbox/dapr-injector.ts --port N --cert FILE --key FILE
//          --trust-anchors FILE --dapr-version X.Y.Z
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';
import { sidecarPatch, type Pod } from './lib/dapr-sidecar.js';

interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: { uid: string; object?: Pod; namespace?: string; operation?: string };
}

const maxBodyBytes = 4 * 1024 * 1024;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'trust-anchors': { type: 'string' },
      'dapr-version': { type: 'string' },
    },
    strict: true,
  });
  for (const name of ['port', 'cert', 'key', 'trust-anchors', 'dapr-version'] as const) {
    if (!values[name]) {
      console.error(`dapr-injector: --${name} is required`);
      process.exit(2);
    }
  }
  return {
    port: Number(values.port),
    cert: readFileSync(values.cert as string),
    key: readFileSync(values.key as string),
    trustAnchors: readFileSync(values['trust-anchors'] as string, 'utf8'),
    daprVersion: values['dapr-version'] as string,
  };
}

function log(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function main(): void {
  const options = parseOptions();
  const server = createServer({ cert: options.cert, key: options.key }, (request, response) => {
    if (request.method === 'GET' && request.url === '/healthz') {
      reply(response, 200, { status: 'ok' });
      return;
    }
    if (request.method !== 'POST' || !request.url?.startsWith('/mutate')) {
      reply(response, 404, { error: 'not found' });
      return;
    }
    readBody(request)
      .then((text) => {
        const review = JSON.parse(text) as AdmissionReview;
        const admission = review.request;
        if (!admission) {
          reply(response, 400, { error: 'AdmissionReview without request' });
          return;
        }
        const pod = admission.object ?? {};
        const patch = sidecarPatch(pod, {
          daprVersion: options.daprVersion,
          trustAnchors: options.trustAnchors,
        });
        const result: Record<string, unknown> = { uid: admission.uid, allowed: true };
        if (patch.length > 0) {
          result.patchType = 'JSONPatch';
          result.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
          log('injected daprd', {
            namespace: admission.namespace,
            pod: pod.metadata?.name ?? pod.metadata?.generateName,
          });
        }
        reply(response, 200, { apiVersion: review.apiVersion, kind: 'AdmissionReview', response: result });
      })
      .catch((error: unknown) => {
        log('bad admission request', { error: String(error) });
        reply(response, 400, { error: String(error) });
      });
  });
  server.requestTimeout = 10_000;
  server.listen(options.port, '127.0.0.1', () => log('listening', { port: options.port }));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();

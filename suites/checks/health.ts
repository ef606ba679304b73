// Criterion 4: backend /health healthy, and the two consumer services healthy.
import { CheckFailure, type Check } from '../lib/check.js';
import { backendServices } from '../lib/cluster.js';
import { http, snippet } from '../lib/http.js';

interface Health {
  status?: unknown;
  service?: unknown;
  database?: unknown;
  dapr?: unknown;
}

function healthCheck(service: string, port: number): Check {
  return {
    id: `health-${service}`,
    title: `${service} /health answers healthy`,
    group: 'health',
    criterion: '4. Backend /health healthy',
    async run(ctx, rec) {
      const endpoint = await ctx.access.service(service, port);
      const response = await http(endpoint, '/health', { timeoutMs: ctx.config.limits.httpTimeoutMs });
      rec.measure('response time', response.ms, 'ms', ctx.config.limits.httpTimeoutMs);
      rec.note(`GET /health via ${endpoint.via}: ${response.status} ${snippet(response.text)}`);
      const body = (response.json ?? {}) as Health;
      if (response.status !== 200) throw new CheckFailure(`${service} /health answered ${response.status}: ${snippet(response.text, 160)}`, '200 {"status":"healthy"}', `${response.status}`);
      if (body.status !== 'healthy' && body.status !== 'ok') {
        throw new CheckFailure(`${service} /health reports status ${JSON.stringify(body.status)} (database ${String(body.database)}, dapr ${String(body.dapr)})`, 'status "healthy"', JSON.stringify(body.status));
      }
      rec.summary = `${service} healthy (database ${String(body.database ?? 'n/a')}, dapr ${String(body.dapr ?? 'n/a')}) in ${response.ms.toFixed(0)} ms`;
    },
  };
}

export const healthChecks: Check[] = backendServices.map(({ service, port }) => healthCheck(service, port));

// Targets: API CRUD p95 under 2 s, and authentication answering 401/403 as the contract says.
import { randomUUID } from 'node:crypto';
import { CheckFailure, type Check } from '../lib/check.js';
import { http, percentile, signJwt } from '../lib/http.js';
import { tokenFor } from '../lib/todo-api.js';
import { apiFor } from './events.js';
import { frontendLoadChecks } from './frontend.js';

const crud: Check = {
  id: 'api-crud-latency',
  title: 'API CRUD p95 under the limit',
  group: 'performance',
  criterion: 'Targets: API CRUD < 2 s',
  after: ['recurring-next-task'],
  retryable: true,
  async run(ctx, rec) {
    const { crudIterations, crudP95Ms } = ctx.config.limits;
    const api = await apiFor(ctx, 'crud');
    try {
      for (let i = 0; i < crudIterations; i += 1) {
        const task = await api.create({ title: `suite crud ${i}`, priority: 'low', tags: ['suite', 'crud'] });
        await api.get(task.id);
        await api.list();
        const updated = await api.update(task.id, { title: `suite crud ${i} updated` });
        if (updated.title !== `suite crud ${i} updated`) throw new CheckFailure(`PUT did not change the title of ${task.id}`, `suite crud ${i} updated`, String(updated.title));
        await api.complete(task.id);
        await api.remove(task.id);
      }
    } finally {
      await api.cleanup();
    }
    const all = api.timings.map((t) => t.ms);
    rec.addSeries('CRUD call latency', 'ms', all, crudP95Ms);
    for (const op of ['create', 'get', 'list', 'update', 'complete', 'delete']) {
      const values = api.timings.filter((t) => t.op === op).map((t) => t.ms);
      if (values.length > 0) rec.measure(`${op} p95`, percentile(values, 95), 'ms', crudP95Ms);
    }
    const p95 = percentile(all, 95);
    rec.measure('all calls p50', percentile(all, 50), 'ms');
    rec.measure('all calls p95', p95, 'ms', crudP95Ms);
    if (p95 > crudP95Ms) throw new CheckFailure(`API CRUD p95 ${p95.toFixed(0)} ms is over ${crudP95Ms} ms`, `p95 < ${crudP95Ms} ms`, `${p95.toFixed(0)} ms`);
    rec.summary = `${all.length} calls: p50 ${percentile(all, 50).toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (limit ${crudP95Ms} ms)`;
  },
};

const auth: Check = {
  id: 'auth-enforced',
  title: 'The API answers 401 and 403 as the contract says',
  group: 'performance',
  criterion: 'REST API contract: 401/403/404',
  async run(ctx, rec) {
    const secret = await ctx.shared.jwtSecret();
    const api = await apiFor(ctx, 'auth');
    const timeoutMs = ctx.config.limits.httpTimeoutMs;
    const path = `/api/${encodeURIComponent(api.user)}/tasks`;
    const other = `${api.user}-other`;
    const cases: { name: string; token?: string; path?: string; want: number }[] = [
      { name: 'no token', want: 401 },
      { name: 'malformed token', token: 'not-a-jwt', want: 401 },
      { name: 'bad signature', token: signJwt({ sub: api.user }, `${secret}-wrong`), want: 401 },
      { name: 'expired token', token: tokenFor(api.user, secret, -120), want: 401 },
      { name: "another user's token", token: tokenFor(other, secret), want: 403 },
      { name: 'unknown task', token: tokenFor(api.user, secret), path: `${path}/${randomUUID()}`, want: 404 },
    ];
    const wrong: string[] = [];
    for (const c of cases) {
      const response = await http(api.endpoint, c.path ?? path, { token: c.token, timeoutMs });
      rec.note(`${c.name}: ${response.status} (want ${c.want})`);
      if (response.status !== c.want) wrong.push(`${c.name}: ${response.status}, expected ${c.want}`);
    }
    if (wrong.length > 0) throw new CheckFailure(wrong.join('; '), cases.map((c) => `${c.name} ${c.want}`).join(', '), wrong.join('; '));
    rec.summary = `${cases.length} auth cases answered as the contract says`;
  },
};

export const performanceChecks: Check[] = [crud, auth, ...frontendLoadChecks];

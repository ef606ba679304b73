// The headroom sweep's pure parts: its steps, a step's figures from a load report, and the
// verdict on the largest user count that held every target.
import { describe, expect, it } from 'vitest';
import { buildReport, type LoadResponse, type LoadSamples } from '../../suites/load/load.js';
import { defaultMix } from '../../suites/load/mix.js';
import { headroomVerdict, maxSteps, sweepSection, sweepStep, sweepUsers, type SweepReport } from '../../suites/load/sweep.js';

const limits = { base: 'http://x', durationSeconds: 10, p95LimitMs: 200, errorRatePercent: 1, eventLimitMs: 5000, usagePercent: 80, throttleSharePercent: 25, mix: defaultMix };
const noContainers = { runs: [], note: 'no cluster (generator only)' };

function samples(users: number, p95Ms: number): LoadSamples {
  return {
    startMs: 0, endMs: 10_000, users,
    responses: Array.from({ length: 100 }, (_, i) => [i * 100, i < 90 ? 20 : p95Ms, 1, 'list'] as LoadResponse),
    errors: {}, eventFlowMs: [300], eventFailures: [], byOp: { list: 100 },
  };
}

describe('the headroom sweep', () => {
  it('steps from the step size up to the maximum, never more than the bound', () => {
    expect(sweepUsers(50, 200)).toEqual([50, 100, 150, 200]);
    expect(sweepUsers(50, 120)).toEqual([50, 100]);
    expect(sweepUsers(1, 1000)).toHaveLength(maxSteps);
    expect(sweepUsers(100, 50)).toEqual([]);
  });

  it('takes a step\'s figures from its load report, with the targets it broke', () => {
    const held = sweepStep(buildReport([samples(50, 150)], limits, [], '', noContainers), 100);
    expect(held).toMatchObject({ users: 50, requests: 100, p95: 150, pass: true, broke: [] });
    const broke = sweepStep(buildReport([samples(150, 450)], limits, [], '', noContainers), 100);
    expect(broke.pass).toBe(false);
    expect(broke.broke).toEqual(['p95 latency: 450 ms (expected <= 200 ms)']);
    // Fast answers, but fewer than the users were to send: saturated.
    const behind = sweepStep(buildReport([samples(150, 150)], limits, [], '', noContainers), 120);
    expect(behind.pass).toBe(false);
    expect(behind.broke).toEqual(['pace: 100 of the 120 requests the users were to send (83.3 %, limit 95 %)']);
  });

  it('passes when the plan\'s user count held, and names the step that broke', () => {
    const steps = [
      sweepStep(buildReport([samples(50, 150)], limits, [], '', noContainers), 100),
      sweepStep(buildReport([samples(100, 180)], limits, [], '', noContainers), 100),
      sweepStep(buildReport([samples(150, 450)], limits, [], '', noContainers), 100),
    ];
    const report: SweepReport = { steps, headroomUsers: 100, targetUsers: 100, stoppedBecause: '150 users broke a target', startedAt: '2026-01-01T00:00:00.000Z' };
    expect(headroomVerdict(report)).toMatchObject({ pass: true, actual: '100 users held every target', detail: '100 users held every target; 150 users broke a target (p95 latency: 450 ms (expected <= 200 ms))' });
    expect(headroomVerdict({ ...report, headroomUsers: 50 }).pass).toBe(false);
    const html = sweepSection(report);
    expect(html).toContain('<b>100 users</b> held every target');
    expect(html).toContain('<span class="badge fail">broke</span> p95 latency: 450 ms (expected &lt;= 200 ms)');
  });
});

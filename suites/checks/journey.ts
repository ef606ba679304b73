// The user's journey: sign up, sign out, sign in, add a daily task, edit it, complete it and
// see its next occurrence, delete it, sign out, all through the frontend's public address,
// the way a user meets the stack. Once over HTTP with the session the frontend issues, once
// in Chromium through the page itself. Every step is timed against the plan's limits: page
// and sign-in steps under 3 s, API steps under 2 s, the next occurrence under 5 s.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { CheckFailure, CheckSkip, type Check, type CheckContext, type Recorder } from '../lib/check.js';
import { oneLine } from '../lib/errors.js';
import { freshCredentials, FrontendSession, type Credentials, type SessionUser } from '../lib/frontend-session.js';
import { snippet } from '../lib/http.js';
import { TodoApi, today, waitForNextOccurrence } from '../lib/todo-api.js';
import { sleep } from '../lib/wait.js';
import { chromiumArgs, chromiumPath, frontendEndpoint } from './frontend.js';

const criterion = '3 and 6 as a user meets them: the public address, the API under 2 s, the next occurrence under 5 s';

interface StepTime {
  step: string;
  ms: number;
  limitMs: number;
}

/** A failed step: the check's verdict names it. */
class StepFailure extends CheckFailure {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`step "${step}" failed: ${detail}`, `step "${step}" succeeds`, detail);
  }
}

/** Runs the journey's steps in order, timing each; a failure names its step. */
class Steps {
  readonly done: StepTime[] = [];

  async run<T>(step: string, limitMs: number, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const value = await work();
      this.done.push({ step, ms: performance.now() - started, limitMs });
      return value;
    } catch (error) {
      if (error instanceof StepFailure) throw error;
      throw new StepFailure(step, error instanceof Error ? oneLine(error.message) : oneLine(error));
    }
  }

  /** Each finished step's time next to its limit, also when a later step failed. */
  record(rec: Recorder): void {
    for (const [index, s] of this.done.entries()) rec.measure(`${index + 1}. ${s.step}`, s.ms, 'ms', s.limitMs);
    rec.addSeries('steps', 'ms', this.done.map((s) => s.ms));
  }

  /** A step over its limit fails the journey. */
  assertWithinLimits(): void {
    const slow = this.done.filter((s) => s.ms > s.limitMs);
    if (slow.length > 0) {
      const text = slow.map((s) => `"${s.step}" took ${s.ms.toFixed(0)} ms (limit ${s.limitMs} ms)`).join('; ');
      throw new CheckFailure(`${slow.length} step(s) over their limit: ${text}`, 'every step within its limit', text);
    }
  }

  get totalMs(): number {
    return this.done.reduce((sum, s) => sum + s.ms, 0);
  }
}

/** The prefix of a journey user's address: which journey, and which run. */
function journeyPrefix(ctx: CheckContext, variant: string): string {
  return `journey-${variant}-${ctx.runId.replace(/[^a-zA-Z0-9]/g, '').slice(-12).toLowerCase()}`;
}

const httpJourney: Check = {
  id: 'journey-http',
  title: "A user's journey over HTTP: sign up, sign in and manage tasks through the frontend's routes",
  group: 'journey',
  criterion,
  after: ['frontend-public', 'api-crud-latency', 'recurring-next-task'],
  async run(ctx, rec) {
    const { frontendLoadMs, crudP95Ms, nextTaskSeconds, httpTimeoutMs } = ctx.config.limits;
    const endpoint = await frontendEndpoint(ctx, rec);
    const session = new FrontendSession(endpoint, ctx.config.authRoutes, httpTimeoutMs);
    const credentials = freshCredentials(journeyPrefix(ctx, 'http'), ctx.redactor, 'Journey http');
    const steps = new Steps();
    let api: TodoApi | undefined;
    let signedIn = false;
    try {
      const user = await steps.run('sign up', frontendLoadMs, () => session.signIn('signUp', credentials));
      ctx.shared.users.add(user.id);
      signedIn = true;
      rec.note(`signed up ${credentials.email} as user ${user.id} at ${endpoint.url} (${endpoint.via}); cookies: ${session.cookieNames.join(', ')}`);
      await steps.run('the session names the user', crudP95Ms, async () => sameUser(await session.currentUser(), user, 'the session'));
      await steps.run('sign out', crudP95Ms, async () => {
        await session.signOut();
        signedIn = false;
        const after = await session.currentUser();
        if (after) throw new Error(`the session still names user ${after.id} after sign-out`);
      });
      await steps.run('sign in', frontendLoadMs, async () => sameUser(await session.signIn('signIn', credentials), user, 'sign-in'));
      signedIn = true;
      const tasks = new TodoApi(endpoint, user.id, session, httpTimeoutMs);
      api = tasks;
      const title = `journey ${randomBytes(3).toString('hex')}`;
      const task = await steps.run('add a daily task', crudP95Ms, () => tasks.create({ title, due_date: today(), priority: 'high', recurrence_pattern: 'daily', is_recurring: true, recurrence_frequency: 'daily' }));
      const edited = `${title} (edited)`;
      await steps.run('edit it', crudP95Ms, () => tasks.update(task.id, { title: edited }));
      await steps.run('the list shows the edit', crudP95Ms, async () => {
        const listed = (await tasks.list()).find((t) => t.id === task.id);
        if (listed?.title !== edited) throw new Error(`GET /api/{user}/tasks shows ${listed ? `"${listed.title}"` : 'no such task'}, expected "${edited}"`);
      });
      await steps.run('complete it', crudP95Ms, () => tasks.complete(task.id));
      const next = await steps.run('its next occurrence appears', nextTaskSeconds * 1000, async () => {
        const found = await waitForNextOccurrence(() => tasks.list(), { id: task.id, title: edited }, nextTaskSeconds * 1000 * 3, { pollMs: 200, signal: ctx.signal });
        if (!found.next) throw new Error(`no next occurrence of the completed daily task within ${nextTaskSeconds * 3} s (the list showed ${found.seen})`);
        return found.next;
      });
      await steps.run('delete both', crudP95Ms, async () => {
        await tasks.remove(next.id);
        await tasks.remove(task.id);
      });
      await steps.run('sign out', crudP95Ms, async () => {
        await session.signOut();
        signedIn = false;
      });
      await steps.run('the API refuses the signed-out user', crudP95Ms, async () => {
        const refused = new TodoApi(endpoint, user.id, session, httpTimeoutMs);
        const answer = await refused.list().then(
          () => 'a list',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        );
        if (!/ answered 40[13]\b/.test(answer)) throw new Error(`GET /api/{user}/tasks after sign-out answered ${answer}, expected 401`);
      });
    } finally {
      if (api && signedIn) {
        const left = await api.cleanup();
        if (left.length > 0) rec.note(`could not delete: ${left.join('; ')}`);
      }
      steps.record(rec);
    }
    steps.assertWithinLimits();
    rec.summary = `${steps.done.length} steps through ${endpoint.url} in ${steps.totalMs.toFixed(0)} ms, each within its limit`;
  },
};

function sameUser(seen: SessionUser | undefined, user: SessionUser, where: string): void {
  if (!seen) throw new Error(`${where} names no user`);
  if (seen.id !== user.id) throw new Error(`${where} names user ${seen.id}, not ${user.id} who signed up`);
}

/** What a person would see and what went wrong in the browser during the current step. */
class PageWatch {
  private errors: string[] = [];

  constructor(
    readonly page: Page,
    base: string,
  ) {
    const path = (url: string) => (url.startsWith(base) ? url.slice(base.length) || '/' : url);
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(`console: ${snippet(message.text(), 200)}`);
    });
    page.on('pageerror', (error) => this.errors.push(`page error: ${snippet(error.message, 200)}`));
    page.on('requestfailed', (request) => {
      // A request the page's own navigation cut short (a reload) is no error.
      const why = request.failure()?.errorText ?? 'unknown';
      if (why !== 'net::ERR_ABORTED') this.errors.push(`${request.method()} ${path(request.url())} failed: ${why}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) this.errors.push(`${response.request().method()} ${path(response.url())} answered ${response.status()}`);
    });
  }

  /** The browser's errors since the last call. */
  take(): string[] {
    const errors = this.errors;
    this.errors = [];
    return errors;
  }

  /** The page's alerts when it shows any (an error message), else the start of its text. */
  async visibleText(): Promise<string> {
    // A page that keeps navigating cannot be read at every moment: a few tries.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        const alerts = (await this.page.getByRole('alert').allInnerTexts()).map((text) => text.trim()).filter(Boolean);
        if (alerts.length > 0) return `an alert: ${snippet(alerts.join(' / '), 300)}`;
        return snippet(await this.page.locator('body').innerText({ timeout: 2_000 }), 300);
      } catch {
        await sleep(300);
      }
    }
    return '(the page could not be read: it kept navigating)';
  }
}

/** The control a person would press for this, button or link. */
const control = (page: Page | Locator, name: RegExp): Locator => page.getByRole('button', { name }).or(page.getByRole('link', { name })).first();

const signOutControl = (page: Page) => control(page, /sign ?out|log ?out/i);
const emailField = (page: Page) => page.getByLabel(/e-?mail/i).first();
const nameField = (page: Page) => page.getByLabel(/^\s*(full )?name\s*$/i).first();

async function fillCredentials(page: Page, credentials: Credentials, timeoutMs: number): Promise<void> {
  const name = nameField(page);
  if (credentials.name && (await name.isVisible())) await name.fill(credentials.name);
  await emailField(page).fill(credentials.email, { timeout: timeoutMs });
  const password = page.getByLabel(/password/i).first();
  await password.fill(credentials.password, { timeout: timeoutMs });
  await password.press('Enter');
}

async function selectOptionMatching(select: Locator, pattern: RegExp): Promise<void> {
  const labels = await select.locator('option').allTextContents();
  const label = labels.find((text) => pattern.test(text));
  if (!label) throw new Error(`the field offers no option matching ${pattern} (it offers: ${labels.join(', ')})`);
  await select.selectOption({ label });
}

const taskItems = (page: Page, title: string) => page.getByRole('listitem').filter({ hasText: title });

async function browserJourneyRun(ctx: CheckContext, rec: Recorder, browser: Browser, url: string, steps: Steps): Promise<void> {
  const { frontendLoadMs, crudP95Ms, nextTaskSeconds, httpTimeoutMs } = ctx.config.limits;
  // A step may take longer than its limit and still be reported as slow; it fails as not
  // done only when it takes three times that.
  const waitMs = (limitMs: number) => Math.max(limitMs * 3, 5_000);
  const context = await browser.newContext();
  const page = await context.newPage();
  const watch = new PageWatch(page, url.replace(/\/$/, ''));
  const credentials = freshCredentials(journeyPrefix(ctx, 'browser'), ctx.redactor, 'Journey browser');
  const title = `journey ${randomBytes(3).toString('hex')}`;
  const edited = `${title} (edited)`;
  // One session beside the browser's, holding its cookies: to learn the user and to clean up.
  const session = new FrontendSession({ url, via: 'the browser session' }, ctx.config.authRoutes, httpTimeoutMs);
  let user: SessionUser | undefined;
  let cleanedUp = false;
  // Untimed parts of a step: `before` opens what the step then does (a form to fill), and
  // `settle` runs once it is done (a page that looks signed in may still be about to sign the
  // user out again). A failure in either is still the step's.
  const step = async (name: string, limitMs: number, work: () => Promise<void>, untimed: { before?: () => Promise<void>; settle?: () => Promise<void> } = {}) => {
    watch.take();
    const named = (part: () => Promise<void>) =>
      part().catch((error: unknown) => {
        throw new StepFailure(name, error instanceof Error ? oneLine(error.message) : oneLine(error));
      });
    try {
      if (untimed.before) await named(untimed.before);
      await steps.run(name, limitMs, work);
      if (untimed.settle) await named(untimed.settle);
    } catch (error) {
      const shown = await watch.visibleText();
      const seen = watch.take();
      rec.note(`step "${name}": the page showed: ${shown}`);
      for (const line of seen) rec.note(`step "${name}": ${line}`);
      await screenshot(ctx, rec, page, name);
      // What the browser met (a refused API call) usually says more than the step's own timeout.
      const browserSaw = seen.length > 0 ? `; the browser saw: ${seen.slice(0, 2).join('; ')}${seen.length > 2 ? ` (and ${seen.length - 2} more)` : ''}` : '';
      if (error instanceof StepFailure) throw new StepFailure(name, `${error.actual ?? error.message}${browserSaw}; the page showed: ${snippet(shown, 160)}`);
      throw error;
    }
  };
  const stillSignedIn = async () => {
    // Idle, a moment, and idle again: a page that signs the user out reloads in that moment.
    for (const pause of [0, 500]) {
      await sleep(pause, ctx.signal);
      await page.waitForLoadState('networkidle', { timeout: waitMs(frontendLoadMs) }).catch(() => {
        throw new Error(`the page did not settle within ${waitMs(frontendLoadMs) / 1000} s of signing in (it kept loading)`);
      });
    }
    if (!(await signOutControl(page).isVisible())) throw new Error('the page showed the user signed in, then signed them out again once it had loaded');
  };
  try {
    await step('open the page', frontendLoadMs, async () => {
      const response = await page.goto(url, { waitUntil: 'load', timeout: waitMs(frontendLoadMs) });
      if (response && response.status() !== 200) throw new Error(`GET ${url} answered ${response.status()}`);
      await emailField(page).waitFor({ timeout: waitMs(frontendLoadMs) }).catch(() => {
        throw new Error('the page shows no Email field to sign in with');
      });
    });
    await step('sign up', frontendLoadMs, async () => {
      await fillCredentials(page, credentials, waitMs(frontendLoadMs));
      await signOutControl(page).waitFor({ timeout: waitMs(frontendLoadMs) }).catch(() => {
        throw new Error('after the sign-up form was sent, the page shows no Sign out control');
      });
    }, {
      before: async () => {
        await control(page, /sign ?up|create (an )?account|register/i).click({ timeout: waitMs(frontendLoadMs) });
        // The sign-up form shows a Name field or a new-password field; a page whose one form
        // does both shows neither, and that is fine.
        await nameField(page).or(page.locator('input[autocomplete="new-password"]')).first().waitFor({ timeout: 2_000 }).catch(() => undefined);
      },
      settle: stillSignedIn,
    });
    session.adopt(await context.cookies());
    user = await session.currentUser().catch(() => undefined);
    if (user) ctx.shared.users.add(user.id);
    rec.note(`signed up ${credentials.email}${user ? ` as user ${user.id}` : ''} through the page at ${url}`);
    await step('sign out', frontendLoadMs, async () => {
      await signOutControl(page).click({ timeout: waitMs(frontendLoadMs) });
      await emailField(page).waitFor({ timeout: waitMs(frontendLoadMs) }).catch(() => {
        throw new Error('after Sign out, the page shows no Email field to sign in with');
      });
    });
    await step('sign in', frontendLoadMs, async () => {
      await fillCredentials(page, { email: credentials.email, password: credentials.password }, waitMs(frontendLoadMs));
      await signOutControl(page).waitFor({ timeout: waitMs(frontendLoadMs) }).catch(() => {
        throw new Error('after the sign-in form was sent, the page shows no Sign out control');
      });
    }, { settle: stillSignedIn });
    await step('add a daily task', crudP95Ms, async () => {
      const titleField = page.getByLabel(/title|what needs doing|new task/i).first();
      await titleField.fill(title, { timeout: waitMs(crudP95Ms) });
      const due = page.getByLabel(/due/i).first();
      if (await due.isVisible()) await due.fill(today());
      await selectOptionMatching(page.getByLabel(/repeat|recurr/i).first(), /daily/i);
      await titleField.press('Enter');
      await taskItems(page, title).first().waitFor({ timeout: waitMs(crudP95Ms) }).catch(() => {
        throw new Error(`the task "${title}" does not appear in the list after it was added`);
      });
    });
    await step('edit it', crudP95Ms, async () => {
      await control(taskItems(page, title).first(), /edit/i).click({ timeout: waitMs(crudP95Ms) });
      const editing = page.getByRole('listitem').filter({ has: control(page, /save/i) }).first();
      const field = editing.getByLabel(/title/i).first();
      await field.fill(edited, { timeout: waitMs(crudP95Ms) });
      await control(editing, /save/i).click();
      await taskItems(page, edited).first().waitFor({ timeout: waitMs(crudP95Ms) }).catch(() => {
        throw new Error(`the edited title "${edited}" does not appear in the list`);
      });
    });
    await step('complete it', crudP95Ms, async () => {
      await taskItems(page, edited).first().getByRole('checkbox').first().click({ timeout: waitMs(crudP95Ms) });
      await page
        .waitForFunction((text) => [...document.querySelectorAll('li')].some((li) => li.textContent?.includes(text) && li.querySelector('input[type=checkbox]:checked')), edited, { timeout: waitMs(crudP95Ms) })
        .catch(() => {
          throw new Error(`"${edited}" is not shown as done after its checkbox was clicked`);
        });
    });
    await step('see its next occurrence', nextTaskSeconds * 1000, async () => {
      const deadline = performance.now() + waitMs(nextTaskSeconds * 1000);
      while (performance.now() < deadline) {
        // The next occurrence is made by another service after the completion; a person
        // sees it on reloading the page.
        await page.reload({ waitUntil: 'load', timeout: waitMs(frontendLoadMs) });
        const shown = await page
          .waitForFunction((text) => [...document.querySelectorAll('li')].some((li) => li.textContent?.includes(text) && li.querySelector('input[type=checkbox]:not(:checked)')), edited, { timeout: 1_000 })
          .then(() => true, () => false);
        if (shown) return;
      }
      throw new Error(`the page shows no open next occurrence of "${edited}" within ${Math.round(waitMs(nextTaskSeconds * 1000) / 1000)} s of reloading`);
    });
    await step('delete both', crudP95Ms, async () => {
      for (let left = await taskItems(page, edited).count(); left > 0; left -= 1) {
        await control(taskItems(page, edited).first(), /delete|remove/i).click({ timeout: waitMs(crudP95Ms) });
        await page.waitForFunction(
          ({ text, want }) => [...document.querySelectorAll('li')].filter((li) => li.textContent?.includes(text)).length <= want,
          { text: edited, want: left - 1 },
          { timeout: waitMs(crudP95Ms) },
        );
      }
      cleanedUp = true;
    });
    await step('sign out at the end', frontendLoadMs, async () => {
      await signOutControl(page).click({ timeout: waitMs(frontendLoadMs) });
      await emailField(page).waitFor({ timeout: waitMs(frontendLoadMs) });
    });
  } finally {
    if (user && !cleanedUp) {
      session.adopt(await context.cookies());
      const left = await new TodoApi({ url: url.replace(/\/$/, ''), via: 'the browser session' }, user.id, session, httpTimeoutMs).cleanup().catch((error: unknown) => [oneLine(error)]);
      if (left.length > 0) rec.note(`could not delete the journey's tasks: ${left.join('; ')}`);
    }
    await context.close();
  }
}

async function screenshot(ctx: CheckContext, rec: Recorder, page: Page, step: string): Promise<void> {
  if (!ctx.runDir) return;
  const file = join('artifacts', 'journey-browser', `${step.replace(/[^a-zA-Z0-9]+/g, '-')}.png`);
  await mkdir(join(ctx.runDir, 'artifacts', 'journey-browser'), { recursive: true });
  let problem = '';
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      await writeFile(join(ctx.runDir, file), await page.screenshot({ fullPage: true, timeout: 5_000 }));
      rec.attach(file);
      return;
    } catch (error) {
      problem = oneLine(error);
      await sleep(300);
    }
  }
  rec.note(`no screenshot of step "${step}": ${problem}`);
}

const browserJourney: Check = {
  id: 'journey-browser',
  title: "A user's journey in Chromium: sign up, sign in and manage tasks through the page",
  group: 'journey',
  criterion,
  after: ['frontend-load', 'journey-http'],
  async run(ctx, rec) {
    const endpoint = await frontendEndpoint(ctx, rec);
    const { chromium } = await import('playwright-core');
    let browser: Browser;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true, timeout: 30_000 });
    } catch (error) {
      throw new CheckSkip(`Chromium at ${chromiumPath} cannot start (the HTTP journey still runs): ${oneLine(error)}`);
    }
    const steps = new Steps();
    try {
      await browserJourneyRun(ctx, rec, browser, endpoint.url, steps);
    } finally {
      await browser.close();
      steps.record(rec);
    }
    steps.assertWithinLimits();
    rec.summary = `${steps.done.length} steps in Chromium at ${endpoint.url} in ${steps.totalMs.toFixed(0)} ms, each within its limit`;
  },
};

export const journeyChecks: Check[] = [httpJourney, browserJourney];

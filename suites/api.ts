// The suite's public API for checks a team adds without forking: load them with
// `npm test -- --checks DIR` (or `checks:` in the config file). A module in DIR exports by
// default one check or a list of them, made with defineCheck. See suites/README.md.
import { CheckFailure, CheckSkip, type Check } from './lib/check.js';

export { CheckFailure, CheckSkip };
export type { Check, CheckContext, Recorder } from './lib/check.js';

const idPattern = /^[a-z][a-z0-9-]*$/;

/** A check, its fields checked when it is defined so a mistake names the check and the field. */
export function defineCheck(check: Check): Check {
  const name = typeof check.id === 'string' ? check.id : JSON.stringify(check.id);
  if (typeof check.id !== 'string' || !idPattern.test(check.id)) throw new Error(`check ${name}: id must be lowercase letters, digits and dashes`);
  for (const field of ['title', 'group', 'criterion'] as const) {
    if (typeof check[field] !== 'string' || check[field].trim() === '') throw new Error(`check ${name}: ${field} must be a non-empty string`);
  }
  if (typeof check.run !== 'function') throw new Error(`check ${name}: run must be an async function (ctx, rec) => void`);
  if (check.after !== undefined && (!Array.isArray(check.after) || !check.after.every((id) => typeof id === 'string'))) {
    throw new Error(`check ${name}: after must be a list of check ids`);
  }
  return check;
}

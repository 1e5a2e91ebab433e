// What the console journeys share: signing in through the form, checking a
// view at both widths (axe-core, reflow, screenshots), waiting for a view.
import { WIDTHS, assert, assertClean, axeCheck, assertReflows, screenshots } from './lib.mjs';

// Each width: axe's WCAG 2.1 A/AA rules and no sideways scroll; then the
// screenshots console-<name>-{360,1280}.png.
export async function checkView(page, name) {
  const old = page.viewport();
  for (const w of WIDTHS) {
    await page.setViewport({ width: w, height: 900 });
    await axeCheck(page, `${name} at ${w}px`);
    await assertReflows(page, `${name} at ${w}px`);
  }
  await page.setViewport(old);
  await screenshots(page, 'console-' + name);
  assertClean(page);
}

// The browser logs every failed request as a console error; a journey that
// provoked one on purpose (a wrong token, a refused read) takes exactly
// that one off the page's problems, and any other stays.
export function expected(page, status) {
  const i = page.problems.findIndex((p) => p.includes('status of ' + status));
  assert(i >= 0, 'the expected ' + status + ' happened');
  page.problems.splice(i, 1);
}

export async function signIn(page, base, token) {
  await page.goto(base + '/', { waitUntil: 'networkidle0' });
  await page.waitForSelector('#signin');
  await page.type('#token', token);
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }),
    page.click('#signin-submit')]);
  await page.waitForSelector('#app #view-title');
}

export async function signOut(page) {
  await Promise.all([page.waitForNavigation({ waitUntil: 'networkidle0' }),
    page.click('#signout')]);
  await page.waitForSelector('#signin');
}

// Waits until the view's heading reads text.
export async function viewTitle(page, text) {
  await page.waitForFunction((x) => {
    const e = document.getElementById('view-title');
    return e && e.textContent.includes(x);
  }, { timeout: 15000 }, text);
}

export async function text(page, selector) {
  return page.$eval(selector, (e) => e.textContent.replace(/\s+/g, ' ').trim());
}

export { assert };

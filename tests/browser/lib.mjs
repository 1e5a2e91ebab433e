// What every browser journey uses: a headless Chromium, pages at the two
// widths the tests look at, axe-core's WCAG 2.1 A/AA check, screenshots and
// keyboard-only navigation. The journey fails by throwing.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(path.join(process.env.WH_NODE_MODULES, 'x.js'));
const puppeteer = require('puppeteer-core');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const WIDTHS = [360, 1280];
// Tab presses before a keyboard walk gives up on reaching an element.
const MAX_TABS = 200;

export function args() {
  return JSON.parse(process.env.WH_JOURNEY_ARGS || '{}');
}

export async function launch() {
  return puppeteer.launch({
    executablePath: process.env.WH_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
           '--disable-background-networking', '--disable-component-update'],
  });
}

// A page that fails the journey on a console error, a failed request or a
// request to anywhere but the stack (no third-party request, ever).
export async function newPage(browser, width = 1280, base = args().base) {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 900 });
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push('console error: ' + m.text());
  });
  page.on('pageerror', (e) => page.problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    const why = r.failure() ? r.failure().errorText : '';
    if (why !== 'net::ERR_ABORTED') page.problems.push('request failed: ' + r.url() + ' ' + why);
  });
  page.on('request', (r) => {
    const u = r.url();
    if (base && !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('about:'))
      page.problems.push('third-party request: ' + u);
  });
  return page;
}

export function assertClean(page) {
  if (page.problems.length) throw new Error(page.problems.join('\n'));
}

// axe-core's WCAG 2.1 A and AA rules on the page as it is now; throws with
// each violation and its first nodes.
export async function axeCheck(page, name) {
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.failureSummary),
    }));
  });
  if (violations.length) {
    throw new Error(`axe: ${violations.length} WCAG 2.1 A/AA violation(s) on ${name}:\n` +
      violations.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ` +
        v.nodes.join('\n    ')).join('\n'));
  }
  return violations;
}

// Screenshots of the page at each width in WIDTHS, named <name>-<width>.png
// in the shots directory; returns their paths (printed for the run's log).
export async function screenshots(page, name) {
  const dir = process.env.WH_SHOTS_DIR || '.';
  const old = page.viewport();
  const paths = [];
  for (const w of WIDTHS) {
    await page.setViewport({ width: w, height: 900 });
    const p = path.join(dir, `${name}-${w}.png`);
    await page.screenshot({ path: p, fullPage: true });
    paths.push(p);
  }
  await page.setViewport(old);
  console.log('screenshots: ' + paths.join(' '));
  return paths;
}

// The page's document has no horizontal scroll at its current width (reflow).
export async function assertReflows(page, name) {
  const over = await page.evaluate(() =>
    document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (over > 1) throw new Error(`${name}: scrolls sideways by ${over}px`);
}

// Presses Tab until the focused element matches selector; throws when it is
// not reached (a keyboard trap or an element out of the tab order).
export async function tabTo(page, selector, { shift = false } = {}) {
  for (let i = 0; i < MAX_TABS; i++) {
    if (await page.evaluate((s) => !!document.activeElement && document.activeElement.matches(s),
                            selector)) return i;
    if (shift) {
      await page.keyboard.down('Shift');
      await page.keyboard.press('Tab');
      await page.keyboard.up('Shift');
    } else {
      await page.keyboard.press('Tab');
    }
  }
  throw new Error(`keyboard: ${selector} not reached in ${MAX_TABS} tabs`);
}

// What the focused element is, for checks of focus order and error summaries.
export async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    return e ? { tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name'),
                 text: (e.textContent || '').trim().slice(0, 80) } : null;
  });
}

export function assert(cond, what) {
  if (!cond) throw new Error('assertion failed: ' + what);
}

// The harness itself: Chromium starts, axe-core finds a known violation and
// passes a page without it, the keyboard walk reaches a link, screenshots
// are written. Without this a page test that sees no violation could be
// seeing nothing at all.
import { launch, newPage, axeCheck, screenshots, tabTo, assert } from './lib.mjs';

const bad = '<!doctype html><html lang="en"><head><title>t</title></head><body><main>' +
  '<h1>t</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>';
const good = bad.replace('<img ', '<img alt="one pixel" ') .replace('</main>',
  '<a id="next" href="#x">next</a></main>');

const browser = await launch();
try {
  const page = await newPage(browser, 1280, null);
  await page.setContent(bad);
  let caught = null;
  try { await axeCheck(page, 'bad'); } catch (e) { caught = e.message; }
  assert(caught && caught.includes('image-alt'), 'axe reports image-alt, got: ' + caught);
  await page.setContent(good);
  await axeCheck(page, 'good');
  await tabTo(page, '#next');
  const shots = await screenshots(page, 'harness');
  assert(shots.length === 2, 'two screenshots');
} finally {
  await browser.close();
}
console.log('harness ok');
